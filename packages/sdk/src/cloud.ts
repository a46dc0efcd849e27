/** FluidCloud (`/cloud/api/v1` by default, a `fck_` key): spaces, folders, files, uploads, shares, quota. */
import { errorOf, sleep, type Transport } from './http.js'
import { isNode, counting, multipartStream, newBoundary, toBlobOrStream, type ProgressListener, type UploadSource } from './source.js'

export interface Page<T> { items: T[], next_cursor: string | null }
export interface Space { id: string, tenant_id: string, name: string, app: string, created_at: string, updated_at: string }
export interface Folder { id: string, tenant_id: string, space_id: string, parent_id: string | null, name: string, created_at: string, updated_at: string, deleted_at: string | null }
export interface CloudFile {
  id: string, tenant_id: string, space_id: string, folder_id: string | null, source_app: string | null, client_key: string | null
  original_name: string, name: string, mime: string, size: number, sha256: string
  scan_status: 'pending' | 'clean' | 'infected' | 'error', status: 'draft' | 'ready' | 'quarantined'
  created_by: string, cid: string, created_at: string, updated_at: string, deleted_at: string | null
}
export interface Share { id: string, tenant_id: string, file_id: string, kind: 'permanent' | 'expiring', permission: 'view' | 'download', expires_at: string | null, created_at: string, revoked_at: string | null, url?: string }
export interface Quota { bytes_used: number, bytes_limit: number, links_used: number, links_limit: number, by_app: Array<{ app: string, bytes: number, files: number }> }

type Sig = { signal?: AbortSignal }
type Paged = Sig & { limit?: number, cursor?: string }

export interface CloudUploadOptions {
  spaceId: string
  folderId?: string
  clientKey?: string
  name?: string
  contentType?: string
  /** size of a ReadableStream source (required for the presigned flow) */
  size?: number
  /** true: POST /files (multipart, up to the server's direct limit); false: initiate, PUT, complete. Default: direct up to the client's directUploadMax */
  direct?: boolean
  onProgress?: ProgressListener
  signal?: AbortSignal
}

export class CloudClient {
  readonly spaces: Resource<Space, { name: string, app?: string }, { name?: string, app?: string }, { limit?: number, cursor?: string }>
  readonly folders: Resource<Folder, { space_id: string, parent_id?: string | null, name: string }, { name?: string, parent_id?: string | null }, { spaceId?: string, parentId?: string, trashed?: boolean, limit?: number, cursor?: string }>
  /** raw links: create (public with no expiresInDays, else expiring), list, delete = revoke */
  readonly shares: Resource<Share, { file_id: string, expires_in_days?: number | null, permission?: 'view' | 'download' }, never, { fileId?: string, limit?: number, cursor?: string }>
  constructor (private readonly t: Transport, private readonly cfg: { prefix: string, filesOrigin?: string, directUploadMax: number }) {
    this.spaces = new Resource(this, '/spaces')
    this.folders = new Resource(this, '/folders')
    this.shares = new Resource(this, '/shares')
  }

  /** @internal */
  async call<T = any>(method: string, path: string, o: { json?: unknown, query?: Record<string, any>, body?: BodyInit | (() => BodyInit), headers?: Record<string, string>, signal?: AbortSignal } = {}): Promise<T> {
    return await this.t.json<T>(method, this.cfg.prefix + path, { auth: 'cloud', ...o })
  }

  /** a URL the server gave on its files origin, sent to `filesOrigin` when the client was told one (S3 presigned URLs are left alone) */
  filesUrl (url: string): string {
    if (this.cfg.filesOrigin === undefined || /[?&]X-Amz-/i.test(url)) return url
    const u = new URL(url)
    const to = new URL(this.cfg.filesOrigin)
    u.protocol = to.protocol; u.host = to.host
    return u.toString()
  }

  async me (o: Sig = {}): Promise<{ tenant_id: string, environment: 'live' | 'test', label: string | null, prefix: string, scopes: string[] }> { return await this.call('GET', '/me', o) }
  async quota (o: Sig = {}): Promise<Quota> { return await this.call('GET', '/quota', o) }

  readonly files = {
    list: async (o: Paged & { spaceId?: string, folderId?: string | 'root', scanStatus?: string, clientKeyPrefix?: string, trashed?: boolean } = {}): Promise<Page<CloudFile>> =>
      await this.call('GET', '/files', { signal: o.signal, query: { limit: o.limit, cursor: o.cursor, space_id: o.spaceId, folder_id: o.folderId, scan_status: o.scanStatus, client_key_prefix: o.clientKeyPrefix, trashed: o.trashed } }),
    get: async (id: string, o: Sig = {}): Promise<CloudFile> => await this.call('GET', `/files/${encodeURIComponent(id)}`, o),
    resolve: async (clientKey: string, o: Sig = {}): Promise<CloudFile> => await this.call('GET', '/files/resolve', { ...o, query: { client_key: clientKey } }),
    update: async (id: string, patch: { name?: string, folder_id?: string | null, space_id?: string }, o: Sig = {}): Promise<CloudFile> => await this.call('PATCH', `/files/${encodeURIComponent(id)}`, { ...o, json: patch }),
    /** to Trash (restore brings it back) */
    delete: async (id: string, o: Sig = {}): Promise<CloudFile> => await this.call('DELETE', `/files/${encodeURIComponent(id)}`, o),
    restore: async (id: string, o: Sig = {}): Promise<CloudFile> => await this.call('POST', `/files/${encodeURIComponent(id)}/restore`, o),
    /** permanent: the file, its links and its record go; no undo */
    erase: async (id: string, o: Sig = {}): Promise<void> => { await this.call('DELETE', `/gdpr/files/${encodeURIComponent(id)}`, o) },
    upload: async (source: UploadSource, o: CloudUploadOptions): Promise<CloudFile> => await this.upload(source, o),
    /** poll until the scan is over (share links need `clean`) */
    waitScanned: async (id: string, o: Sig & { intervalMs?: number } = {}): Promise<CloudFile> => {
      for (;;) {
        const f = await this.files.get(id, o)
        if (f.scan_status !== 'pending') return f
        await sleep(o.intervalMs ?? 200, o.signal)
      }
    }
  }

  private async upload (source: UploadSource, o: CloudUploadOptions): Promise<CloudFile> {
    const src = toBlobOrStream(source, o.contentType)
    const size = src instanceof Blob ? src.size : o.size
    const name = o.name ?? ((src as { name?: unknown }).name as string | undefined) ?? 'file'
    const type = o.contentType ?? (src instanceof Blob ? src.type : '')
    const direct = o.direct ?? (size === undefined || size <= this.cfg.directUploadMax)
    if (direct) {
      const fields: Record<string, string> = { space_id: o.spaceId }
      if (o.folderId !== undefined) fields.folder_id = o.folderId
      if (o.clientKey !== undefined) fields.client_key = o.clientKey
      fields.name = name
      if (src instanceof Blob && (!isNode() || o.onProgress === undefined)) {
        const fd = new FormData()
        for (const [k, v] of Object.entries(fields)) fd.append(k, v)
        fd.append('file', type !== src.type ? new Blob([src], { type }) : src, name)
        const f = await this.call<CloudFile>('POST', '/files', { body: fd, signal: o.signal })
        o.onProgress?.({ loaded: src.size, total: src.size })
        return f
      }
      const boundary = newBoundary()
      const make = (): ReadableStream<Uint8Array> => {
        let loaded = 0
        return multipartStream(fields, 'file', name, type, counting(src instanceof Blob ? src.stream() : src, n => { loaded += n; o.onProgress?.({ loaded, total: size }) }), boundary).body
      }
      return await this.call<CloudFile>('POST', '/files', { body: src instanceof Blob ? make : make(), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, signal: o.signal })
    }
    if (size === undefined) throw new TypeError('the presigned upload of a stream needs its size')
    const ticket = await this.call('POST', '/uploads/initiate', { json: { name, size, space_id: o.spaceId, folder_id: o.folderId, client_key: o.clientKey, mime: type === '' ? undefined : type }, signal: o.signal })
    // a Blob goes as it is (any browser; re-sent after a dropped connection), streamed only in Node for progress
    let body: BodyInit | (() => BodyInit)
    if (src instanceof Blob && (!isNode() || o.onProgress === undefined)) body = src
    else {
      const make = (): ReadableStream<Uint8Array> => {
        let loaded = 0
        return counting(src instanceof Blob ? src.stream() : src, n => { loaded += n; o.onProgress?.({ loaded, total: size }) })
      }
      body = src instanceof Blob ? make : make()
    }
    const put = await this.t.request('PUT', this.filesUrl(ticket.upload_url), { auth: 'none', headers: body instanceof Blob ? { ...ticket.headers } : { ...ticket.headers, 'content-length': String(size) }, body, signal: o.signal, raw: true })
    if (!put.ok) throw await errorOf(put)
    await put.body?.cancel()
    if (src instanceof Blob) o.onProgress?.({ loaded: size, total: size })
    return await this.call<CloudFile>('POST', '/uploads/complete', { json: { file_id: ticket.file_id, key: ticket.key }, signal: o.signal })
  }

  /** fetch a raw link (`/s/<token>`) through filesOrigin; no credentials are sent */
  async fetchLink (url: string, o: Sig & { range?: [number, number?] } = {}): Promise<Response> {
    const headers: Record<string, string> = {}
    if (o.range !== undefined) headers.range = `bytes=${o.range[0]}-${o.range[1] ?? ''}`
    return await this.t.request('GET', this.filesUrl(url), { auth: 'none', headers, signal: o.signal })
  }
}

/** spaces, folders and shares: the same list/get/create/update/delete shape */
class Resource<T, C, U, L> {
  constructor (private readonly c: CloudClient, private readonly path: string) {}
  async list (o: L & Sig = {} as L & Sig): Promise<Page<T>> {
    const { signal, ...rest } = o as Sig & Record<string, unknown>
    const query: Record<string, any> = {}
    for (const [k, v] of Object.entries(rest)) query[k.replace(/[A-Z]/g, ch => '_' + ch.toLowerCase())] = v
    return await this.c.call('GET', this.path, { signal, query })
  }
  async get (id: string, o: Sig = {}): Promise<T> { return await this.c.call('GET', `${this.path}/${encodeURIComponent(id)}`, o) }
  async create (body: C, o: Sig = {}): Promise<T> { return await this.c.call('POST', this.path, { json: body, signal: o.signal }) }
  async update (id: string, patch: U, o: Sig = {}): Promise<T> { return await this.c.call('PATCH', `${this.path}/${encodeURIComponent(id)}`, { json: patch, signal: o.signal }) }
  /** spaces: `force` erases what the space holds; folders: to Trash; shares: revoke */
  async delete (id: string, o: Sig & { force?: boolean } = {}): Promise<T | undefined> { return await this.c.call('DELETE', `${this.path}/${encodeURIComponent(id)}`, { signal: o.signal, query: { force: o.force } }) }
  async restore (id: string, o: Sig = {}): Promise<T> { return await this.c.call('POST', `${this.path}/${encodeURIComponent(id)}/restore`, o) }
  async stats (id: string, o: Sig = {}): Promise<{ folder_id: string, folders: number, files: number, bytes: number }> { return await this.c.call('GET', `${this.path}/${encodeURIComponent(id)}/stats`, o) }
}
