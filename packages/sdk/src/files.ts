/** Files of an account through the IPFS Gateway API (/api/v1, X-API-Key) and tus for big uploads. */
import type { Transport } from './http.js'
import { counting, isNode, multipartFiles, multipartStream, newBoundary, toBlobOrStream, type ProgressListener, type UploadSource } from './source.js'
import { tusUpload } from './tus.js'

export interface FileRecord {
  /** listings (files.list, files.folder): the entry's id, for rename and move (one CID may be in several places) */
  id?: string
  cid: string
  original_filename: string
  size: number
  content_type: string
  pinned: boolean
  uploaded_at: string
  /** listings, for an image with a thumbnail: a signed URL of it on the files origin (valid an hour) */
  thumbnail_url?: string
}

export interface FolderPage { path: string, folders: Array<{ id: string, name: string, created_at: string }>, files: FileRecord[], meta: FilePage['meta'] }
export interface ContentInfo { cid: string, name: string, kind: 'file' | 'directory', content_type: string, size: number | null, dag_size: number | null, url: string, url_expires_at: string }
/** a file or folder after a rename or move: `folder` is the path of the folder it is in ('' the top level) */
export type MovedItem = (FileRecord & { id: string, kind: 'file' | 'directory', name: string, folder: string }) | { id: string, kind: 'folder', name: string, folder: string, path: string }
export interface ShareLink { id: string, cid: string, name: string, url?: string, created_at: string, expires_at: string | null }

export interface ListOptions {
  page?: number
  pageSize?: number
  search?: string
  pinned?: boolean
  sortBy?: 'uploaded_at' | 'size' | 'original_filename'
  sortOrder?: 'asc' | 'desc'
  signal?: AbortSignal
}
export interface FilePage { files: FileRecord[], meta: { page: number, page_size: number, total: number, total_pages: number } }

export interface UploadOptions {
  name?: string
  /** the folder to put the file in (a/b; made if missing), over tus as well */
  folder?: string
  contentType?: string
  /** bytes in a ReadableStream source (needed for a resumable upload of a stream) */
  size?: number
  onProgress?: ProgressListener
  /** true: always tus; false: never; default: tus when the size is known and above the client's resumableThreshold */
  resumable?: boolean
  chunkSize?: number
  onResumeUrl?: (url: string) => void
  resumeUrl?: string
  signal?: AbortSignal
}

export interface Download {
  body: ReadableStream<Uint8Array>
  contentType: string | null
  size: number | null
  filename: string | null
  response: Response
}

/** one file of a folder upload: its path inside the folder (`sub/a.txt`) and its bytes */
export interface FolderEntry { path: string, blob: Blob }
export interface FolderUploadOptions {
  /** the folder's name in the file list (default "folder") */
  name?: string
  /** 1 (default): raw leaves, 1 MiB chunks (Kubo's unixfs-v1-2025, as the other uploads here); 0: Kubo's default `ipfs add` (Qm...) */
  cidVersion?: 0 | 1
  /** bytes of the files sent so far, of all of them */
  onProgress?: ProgressListener
  signal?: AbortSignal
}
export interface FolderRecord {
  /** the folder's CID, as `ipfs add -r` of the same tree with the same profile gives it */
  cid: string
  /** its cumulative DAG size */
  size: number
  name: string
  files: Array<{ path: string, cid: string, size: number }>
}

export type DeleteManyResult = { deleted: number, failed: Array<{ cid: string, reason: string }> } | { taskId: string, state: string }
export type TaskRef = { taskId: string, state: string }

export class FilesClient {
  constructor (private readonly t: Transport, private readonly cfg: { resumableThreshold: number, chunkSize: number }) {}

  /** upload one file; a big one (known size above the threshold) goes over tus and resumes dropped requests */
  async upload (source: UploadSource, o: UploadOptions = {}): Promise<FileRecord> {
    const src = toBlobOrStream(source, o.contentType)
    const size = src instanceof Blob ? src.size : o.size
    const name = o.name ?? ((src as { name?: unknown }).name as string | undefined) ?? 'file'
    const type = o.contentType ?? (src instanceof Blob ? src.type : '')
    const tus = o.resumable ?? (size !== undefined && size > this.cfg.resumableThreshold)
    if (tus) {
      if (size === undefined) throw new TypeError('a resumable upload of a stream needs its size')
      const { cid } = await tusUpload(this.t, src, {
        endpoint: '/files/tus', name, contentType: type, folder: o.folder, size, chunkSize: o.chunkSize ?? this.cfg.chunkSize,
        onProgress: o.onProgress, onUrl: o.onResumeUrl, resumeUrl: o.resumeUrl, signal: o.signal
      })
      return await this.info(cid, { signal: o.signal })
    }
    let body: BodyInit | (() => BodyInit)
    const headers: Record<string, string> = {}
    if (src instanceof Blob && (!isNode() || o.onProgress === undefined)) {
      // browsers stream request bodies only over HTTP/2: send a FormData, progress at the ends
      const fd = new FormData()
      if (o.folder !== undefined) fd.append('folder', o.folder)
      fd.append('file', type !== src.type ? new Blob([src], { type }) : src, name)
      body = fd
      o.onProgress?.({ loaded: 0, total: size })
    } else {
      const boundary = newBoundary()
      // a Blob's stream can be made again for a retry after a 429; a caller's stream cannot
      const make = (): ReadableStream<Uint8Array> => {
        let loaded = 0
        const stream = counting(src instanceof Blob ? src.stream() : src, n => { loaded += n; o.onProgress?.({ loaded, total: size }) })
        return multipartStream(o.folder !== undefined ? { folder: o.folder } : {}, 'file', name, type, stream, boundary).body
      }
      body = src instanceof Blob ? make : make()
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`
    }
    const r = await this.t.json('POST', '/api/v1/files/upload', { body, headers, signal: o.signal })
    if (src instanceof Blob) o.onProgress?.({ loaded: src.size, total: src.size })
    return r.data as FileRecord
  }

  /**
   * upload many files as one UnixFS folder with one CID (FluxDrive's `putfolder`, in one
   * streamed request; not resumable). Paths keep the structure; empty folders have no part.
   * It is listed as one entry (a directory); `get` of it answers a tar.
   */
  async uploadFolder (entries: FolderEntry[], o: FolderUploadOptions = {}): Promise<FolderRecord> {
    if (entries.length === 0) throw new TypeError('a folder upload needs at least one file')
    const total = entries.reduce((n, e) => n + e.blob.size, 0)
    const boundary = newBoundary()
    const fields = { name: o.name ?? 'folder', 'cid-version': String(o.cidVersion ?? 1) }
    const parts = entries.map(e => ({ field: 'file', filename: e.path, type: e.blob.type, blob: e.blob }))
    const make = (): ReadableStream<Uint8Array> => {
      let loaded = 0
      o.onProgress?.({ loaded, total })
      return multipartFiles(fields, parts, boundary, n => { loaded += n; o.onProgress?.({ loaded, total }) })
    }
    // FluxDrive's Basic credentials when the client has them, else the key as a Bearer token
    const r = await this.t.json('POST', '/api/v0/putfolder', {
      auth: this.t.opts.basic !== undefined ? 'basic' : 'bearer', body: make, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, signal: o.signal
    })
    return { cid: r.folder.hash, size: Number(r.folder.size), name: r.folder.name, files: r.files.map((f: any) => ({ path: f.name, cid: f.hash, size: f.size })) }
  }

  /** the public IPFS gateway (the server's files origin) as a URL, from its Kubo `id` address; undefined if it names none */
  async gatewayOrigin (o: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    const r = await this.t.json('POST', '/api/v0/id', { auth: this.t.opts.basic !== undefined ? 'basic' : 'bearer', signal: o.signal, idempotent: true })
    for (const a of (r.Addresses ?? []) as string[]) {
      const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)\/(https?)/.exec(a)
      if (m === null) continue
      const host = m[1] === 'ip6' ? `[${m[2]}]` : m[2]
      const port = (m[4] === 'https' && m[3] === '443') || (m[4] === 'http' && m[3] === '80') ? '' : `:${m[3]}`
      return `${m[4]}://${host}${port}`
    }
    return undefined
  }

  async list (o: ListOptions = {}): Promise<FilePage> {
    const r = await this.t.json('GET', '/api/v1/files', {
      signal: o.signal,
      query: { page: o.page, page_size: o.pageSize, search: o.search, pinned: o.pinned, sort_by: o.sortBy, sort_order: o.sortOrder }
    })
    return { files: r.data, meta: r.meta }
  }

  /** every file, page after page */
  async * iterate (o: Omit<ListOptions, 'page'> = {}): AsyncGenerator<FileRecord> {
    for (let page = 1; ; page++) {
      const p = await this.list({ ...o, page })
      yield * p.files
      if (page >= p.meta.total_pages || p.files.length === 0) return
    }
  }

  async info (cid: string, o: { signal?: AbortSignal } = {}): Promise<FileRecord> {
    return (await this.t.json('GET', `/api/v1/files/${encodeURIComponent(cid)}`, { signal: o.signal })).data
  }

  /** the bytes as a stream; `range` as [start, end] (inclusive) asks for part of them */
  async get (cid: string, o: { range?: [number, number?], signal?: AbortSignal } = {}): Promise<Download> {
    const headers: Record<string, string> = {}
    if (o.range !== undefined) headers.range = `bytes=${o.range[0]}-${o.range[1] ?? ''}`
    const res = await this.t.request('GET', `/api/v1/files/retrieve/${encodeURIComponent(cid)}`, { headers, signal: o.signal })
    const len = res.headers.get('content-length')
    const disp = res.headers.get('content-disposition') ?? ''
    const m = /filename\*=UTF-8''([^;]+)/i.exec(disp) ?? /filename="([^"]*)"/i.exec(disp)
    let filename: string | null = null
    if (m !== null) { try { filename = decodeURIComponent(m[1]) } catch { filename = m[1] } }
    return { body: res.body ?? new ReadableStream({ start: c => { c.close() } }), contentType: res.headers.get('content-type'), size: len === null ? null : Number(len), filename, response: res }
  }

  async delete (cid: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.t.json('DELETE', `/api/v1/files/${encodeURIComponent(cid)}`, { signal: o.signal })
  }

  /** deletes many; over the server's sync limit it runs as a task: wait for it with tasks.wait */
  async deleteMany (cids: string[], o: { signal?: AbortSignal } = {}): Promise<DeleteManyResult> {
    const res = await this.t.request('POST', '/api/v1/files/delete/bulk', { json: { cids }, signal: o.signal })
    const r = await res.json() as any
    if (res.status === 202) return { taskId: r.data.task_id, state: r.data.state }
    return r.data
  }

  /** one folder of the account's files (path a/b; '' the top level): subfolders and files, a page at a time */
  async folder (path = '', o: { page?: number, pageSize?: number, signal?: AbortSignal } = {}): Promise<FolderPage> {
    const r = await this.t.json('GET', '/api/v1/folders', { query: { path, page: o.page, page_size: o.pageSize }, signal: o.signal })
    return { ...r.data, meta: r.meta }
  }

  /** every folder of the account's files with its path (a/b), sorted by path: for a folder picker */
  async folders (o: { signal?: AbortSignal } = {}): Promise<Array<{ id: string, path: string }>> {
    return (await this.t.json('GET', '/api/v1/folders/all', { signal: o.signal, idempotent: true })).data
  }

  /**
   * rename a file or folder (`id` from a listing) and/or move it to another folder (`folder`:
   * a path or a folder id, '' the top level; it must exist). A name taken in the target
   * folder is a CairnApiError with status 409: nothing is replaced.
   */
  async update (id: string, to: { name?: string, folder?: string }, o: { signal?: AbortSignal } = {}): Promise<MovedItem> {
    return (await this.t.json('PATCH', `/api/v1/entries/${encodeURIComponent(id)}`, { json: to, signal: o.signal })).data
  }
  async rename (id: string, name: string, o: { signal?: AbortSignal } = {}): Promise<MovedItem> { return await this.update(id, { name }, o) }
  async move (id: string, folder: string, o: { signal?: AbortSignal } = {}): Promise<MovedItem> { return await this.update(id, { folder }, o) }

  /** what a CID the account may read is (kind, type, size, DAG size), with a signed URL to view it on the files origin */
  async content (cid: string, o: { signal?: AbortSignal } = {}): Promise<ContentInfo> {
    return (await this.t.json('GET', `/api/v1/content/${encodeURIComponent(cid)}`, { signal: o.signal })).data
  }

  /** a share link of a file: public until revoked, or expiring after `expiresIn` seconds; `url` is answered this once */
  async share (cid: string, o: { expiresIn?: number, signal?: AbortSignal } = {}): Promise<ShareLink & { url: string }> {
    return (await this.t.json('POST', `/api/v1/files/${encodeURIComponent(cid)}/shares`, { json: { expires_in: o.expiresIn }, signal: o.signal })).data
  }
  /** live share links (of one file with `cid`) */
  async shares (o: { cid?: string, signal?: AbortSignal } = {}): Promise<ShareLink[]> {
    return (await this.t.json('GET', '/api/v1/shares', { query: { cid: o.cid }, signal: o.signal })).data
  }
  async revokeShare (id: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.t.json('DELETE', `/api/v1/shares/${encodeURIComponent(id)}`, { signal: o.signal })
  }

  async pin (cid: string, o: { signal?: AbortSignal } = {}): Promise<void> { await this.t.json('POST', `/api/v1/files/${encodeURIComponent(cid)}/pin`, { signal: o.signal }) }
  async unpin (cid: string, o: { signal?: AbortSignal } = {}): Promise<void> { await this.t.json('POST', `/api/v1/files/${encodeURIComponent(cid)}/unpin`, { signal: o.signal }) }
}
