/**
 * The two ways of sending a file in parts, as their clients do it: the Upload API (a session,
 * POST /buckets, one PUT per part streamed from the file, POST /buckets/complete) and tus
 * (tus-js-client, one PATCH per part). Each answers the time from the first request to the
 * CID, and the CID.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import { pipeline } from 'node:stream/promises'
import * as tus from 'tus-js-client'
import { answerOf, CURL } from './client.js'
import { run } from './procs.js'

async function jsonCall (url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await fetch(url, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`)
  return text === '' ? undefined : JSON.parse(text)
}

/** PUT one part: the bytes [start, end) of `path`, streamed from disk. */
async function putPart (base: string, token: string, ids: { uploadId: string, key: string }, n: number, path: string, start: number, end: number): Promise<void> {
  const req = request(`${base}/buckets`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${token}`,
      partNumber: String(n),
      key: ids.key,
      uploadId: ids.uploadId,
      'content-type': 'application/octet-stream',
      'content-length': String(end - start)
    }
  })
  const answered = answerOf(req)
  await pipeline(createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024 }), req)
  const r = await answered
  if (r.status !== 200) throw new Error(`PUT part ${n} answered ${r.status}: ${r.body.slice(0, 300)}`)
}

/** A whole upload through /buckets: session, start, parts (`concurrency` at a time, in order), complete. */
export async function bucketsUpload (base: string, apiKey: string, path: string, size: number, partBytes: number, concurrency: number): Promise<{ seconds: number, cid: string, completeSeconds: number }> {
  const t0 = performance.now()
  const session = await jsonCall(`${base}/session`, 'POST', { 'x-api-key': apiKey }, { rules: {} })
  const token = session.credentials.token as string
  const auth = { authorization: `Bearer ${token}` }
  const totalParts = Math.ceil(size / partBytes)
  const ids = await jsonCall(`${base}/buckets`, 'POST', auth, { totalParts, encryptedName: 'bench.bin', originalSizeInBytes: size })
  let next = 1
  const worker = async (): Promise<void> => {
    while (next <= totalParts) {
      const n = next++
      const start = (n - 1) * partBytes
      await putPart(base, token, ids, n, path, start, Math.min(size, start + partBytes))
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
  const t1 = performance.now()
  const done = await jsonCall(`${base}/buckets/complete`, 'POST', auth, { key: ids.key })
  const t2 = performance.now()
  return { seconds: (t2 - t0) / 1000, cid: done.cid as string, completeSeconds: (t2 - t1) / 1000 }
}

/** A whole upload through tus with tus-js-client, `partBytes` per PATCH, read from the file. */
export async function tusUpload (base: string, apiKey: string, path: string, size: number, partBytes: number): Promise<{ seconds: number, cid: string }> {
  const t0 = performance.now()
  let cid = ''
  await new Promise<void>((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(path, { highWaterMark: 1024 * 1024 }) as unknown as tus.Upload['file'], {
      endpoint: `${base}/files/tus`,
      headers: { 'x-api-key': apiKey },
      metadata: { filename: 'bench.bin' },
      uploadSize: size,
      chunkSize: partBytes,
      retryDelays: null,
      storeFingerprintForResuming: false,
      onAfterResponse: (_req, res) => { const c = res.getHeader('Cairn-CID'); if (c !== undefined && c !== '') cid = c },
      onSuccess: () => { resolve() },
      onError: reject
    })
    upload.start()
  })
  return { seconds: (performance.now() - t0) / 1000, cid }
}

/**
 * The file cut into part files of `partBytes` in `dir` (as `split -b 16M` does in
 * docs/upload-sessions.md), for the curl clients below. Not timed.
 */
export async function splitFile (path: string, size: number, partBytes: number, dir: string): Promise<string[]> {
  const out: string[] = []
  for (let start = 0, n = 1; start < size; start += partBytes, n++) {
    const file = join(dir, `part.${String(n).padStart(5, '0')}`)
    await pipeline(createReadStream(path, { start, end: Math.min(size, start + partBytes) - 1, highWaterMark: 1024 * 1024 }), createWriteStream(file))
    out.push(file)
  }
  return out
}

/** One curl process sending every request of `transfers` over one connection (or `parallel` at a time); answers each status line. */
async function curlTransfers (transfers: string[][], parallel: number): Promise<string[]> {
  const args = ['-sS']
  if (parallel > 1) args.push('--parallel', '--parallel-max', String(parallel))
  transfers.forEach((t, i) => { if (i > 0) args.push('--next'); args.push('-o', '/dev/null', ...t) })
  return (await run(CURL, args)).trim().split('\n')
}

/**
 * /buckets with curl, the client the one-shot put is measured with: a session and start,
 * then every part as `curl -X PUT -T part.NNNNN` in one curl run (`concurrency` at a time),
 * then complete. Time from the session to the CID.
 */
export async function curlBucketsUpload (base: string, apiKey: string, parts: string[], size: number, concurrency: number): Promise<{ seconds: number, cid: string }> {
  const t0 = performance.now()
  const session = await jsonCall(`${base}/session`, 'POST', { 'x-api-key': apiKey }, { rules: {} })
  const token = session.credentials.token as string
  const auth = { authorization: `Bearer ${token}` }
  const ids = await jsonCall(`${base}/buckets`, 'POST', auth, { totalParts: parts.length, encryptedName: 'bench.bin', originalSizeInBytes: size })
  const statuses = await curlTransfers(parts.map((file, i) => [
    '-X', 'PUT', '-T', file, '-w', '%{http_code}\n', '-H', `authorization: Bearer ${token}`, '-H', `partNumber: ${i + 1}`,
    '-H', `key: ${ids.key as string}`, '-H', `uploadId: ${ids.uploadId as string}`, '-H', 'content-type: application/octet-stream', `${base}/buckets`
  ]), concurrency)
  if (statuses.length !== parts.length || statuses.some(s => s !== '200')) throw new Error(`PUT parts answered ${statuses.join(',')}`)
  const done = await jsonCall(`${base}/buckets/complete`, 'POST', auth, { key: ids.key })
  return { seconds: (performance.now() - t0) / 1000, cid: done.cid as string }
}

/**
 * tus with curl: the creation POST, then one PATCH per part file (`curl -X PATCH -T
 * part.NNNNN`, offsets known in advance) in one curl run over one connection. Time from the
 * creation to the CID (the last PATCH's Cairn-CID).
 */
export async function curlTusUpload (base: string, apiKey: string, parts: string[], size: number, partBytes: number): Promise<{ seconds: number, cid: string }> {
  const t0 = performance.now()
  const created = await fetch(`${base}/files/tus`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'x-api-key': apiKey, 'upload-length': String(size), 'upload-metadata': `filename ${Buffer.from('bench.bin').toString('base64')}` }
  })
  const location = created.headers.get('location')
  if (created.status !== 201 || location === null) throw new Error(`tus creation answered ${created.status}`)
  const lines = await curlTransfers(parts.map((file, i) => [
    '-X', 'PATCH', '-T', file, '-w', '%{http_code} %header{cairn-cid}\n', '-H', 'tus-resumable: 1.0.0', '-H', `x-api-key: ${apiKey}`,
    '-H', `upload-offset: ${i * partBytes}`, '-H', 'content-type: application/offset+octet-stream', new URL(location, base).toString()
  ]), 1)
  if (lines.length !== parts.length || lines.some(l => !l.startsWith('204'))) throw new Error(`PATCHes answered ${lines.join(',')}`)
  const cid = (lines.at(-1) ?? '').split(' ')[1] ?? ''
  return { seconds: (performance.now() - t0) / 1000, cid }
}
