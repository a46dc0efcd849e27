/** A small tus 1.0 client over fetch: create, PATCH in chunks, resume after a dropped request. */
import { NetworkError } from './errors.js'
import { errorOf, type Transport } from './http.js'
import { ChunkReader, type ProgressListener } from './source.js'

export interface TusOptions {
  endpoint: string
  name?: string
  contentType?: string
  /** the account folder (a/b) the file goes to; made if missing (API key uploads only) */
  folder?: string
  size: number
  chunkSize: number
  onProgress?: ProgressListener
  /** called with the upload's URL once it exists: keep it to resume after a crash */
  onUrl?: (url: string) => void
  /** an upload URL from an earlier onUrl: continue it from the server's offset */
  resumeUrl?: string
  signal?: AbortSignal
  /** dropped PATCHes resumed before giving up (default 5) */
  resumes?: number
}

const b64 = (s: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(s)))
const TUS = { 'tus-resumable': '1.0.0' }

/** answers the Cairn-CID of the finished upload */
export async function tusUpload (t: Transport, source: Blob | ReadableStream<Uint8Array>, o: TusOptions): Promise<{ cid: string, url: string }> {
  const meta = [['filename', o.name ?? 'file'], ['filetype', o.contentType ?? ''], ['cid-version', '1'], ['folder', o.folder ?? '']]
    .filter(([, v]) => v !== '').map(([k, v]) => `${k} ${b64(v)}`).join(',')
  let url = o.resumeUrl
  let offset = 0
  if (url === undefined) {
    const res = await t.request('POST', o.endpoint, { headers: { ...TUS, 'upload-length': String(o.size), 'upload-metadata': meta }, signal: o.signal })
    const loc = res.headers.get('location')
    if (loc === null) throw new NetworkError('tus: the server answered no Location')
    url = new URL(loc, t.url(o.endpoint)).toString()
  } else {
    offset = await headOffset(t, url, o.signal)
  }
  o.onUrl?.(url)
  const blob = source instanceof Blob ? source : undefined
  const reader = source instanceof ReadableStream ? new ChunkReader(source) : undefined
  // a stream resumed from an offset: skip what the server has
  for (let skip = offset; reader !== undefined && skip > 0;) { const c = await reader.read(Math.min(skip, o.chunkSize)); if (c.byteLength === 0) break; skip -= c.byteLength }
  o.onProgress?.({ loaded: offset, total: o.size })
  let resumes = o.resumes ?? 5
  let cid: string | null = null
  try {
    while (offset < o.size || (o.size === 0 && cid === null)) {
      const start = offset
      const chunk: Blob | Uint8Array = blob !== undefined ? blob.slice(start, Math.min(o.size, start + o.chunkSize)) : await (reader as ChunkReader).read(Math.min(o.chunkSize, o.size - start))
      const len = chunk instanceof Blob ? chunk.size : chunk.byteLength
      if (len === 0 && o.size > 0) throw new NetworkError(`tus: the source ended at ${start} of ${o.size} bytes`)
      // send this chunk (again, from where the server is, after a dropped request)
      for (let sent = start; ;) {
        const part = chunk.slice(sent - start)
        let res: Response
        try {
          res = await t.request('PATCH', url, { headers: { ...TUS, 'upload-offset': String(sent), 'content-type': 'application/offset+octet-stream' }, body: part as BodyInit, signal: o.signal, raw: true })
        } catch (err) {
          if (o.signal?.aborted === true || resumes-- <= 0 || !(err instanceof NetworkError)) throw err
          sent = await headOffset(t, url, o.signal)
          if (sent < start || sent > start + len) throw new NetworkError(`tus: server offset ${sent} is outside the chunk being sent`)
          if (sent === start + len) break
          continue
        }
        if (res.status === 409 && resumes-- > 0) { await res.body?.cancel(); sent = await headOffset(t, url, o.signal); if (sent === start + len) break; continue }
        if (!res.ok) throw await errorOf(res)
        cid = res.headers.get('cairn-cid') ?? cid
        await res.body?.cancel()
        break
      }
      offset = start + len
      o.onProgress?.({ loaded: offset, total: o.size })
      if (o.size === 0) break
    }
  } finally {
    if (reader !== undefined && offset < o.size) await reader.cancel().catch(() => {})
  }
  if (cid === null) cid = await metadataCid(t, url, o.signal)
  return { cid, url }
}

async function headOffset (t: Transport, url: string, signal?: AbortSignal): Promise<number> {
  const res = await t.request('HEAD', url, { headers: TUS, signal })
  const off = Number(res.headers.get('upload-offset'))
  if (!Number.isSafeInteger(off)) throw new NetworkError('tus: HEAD answered no Upload-Offset')
  return off
}

/** after a finish the HEAD's Upload-Metadata carries the cid */
async function metadataCid (t: Transport, url: string, signal?: AbortSignal): Promise<string> {
  const res = await t.request('HEAD', url, { headers: TUS, signal })
  for (const pair of (res.headers.get('upload-metadata') ?? '').split(',')) {
    const [k, v] = pair.trim().split(' ')
    if (k === 'cid' && v !== undefined) return new TextDecoder().decode(Uint8Array.from(atob(v), c => c.charCodeAt(0)))
  }
  throw new NetworkError('tus: the upload finished but the server named no CID')
}
