/**
 * @tus/file-store with what Cairn adds: the checksum extension (the library has none), and
 * uploads that stay answerable after their bytes were imported and the temporary file was
 * removed (HEAD then reports the upload complete, with its CID in Upload-Metadata).
 *
 * Upload state is the library's: `<dir>/<id>` (the bytes) and `<dir>/<id>.json` (length,
 * metadata, creation date), so an upload resumes after a client drop and a server restart.
 */
import { createHash, getHashes } from 'node:crypto'
import { AsyncLocalStorage } from 'node:async_hooks'
import { readdir, stat, truncate, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, pipeline, type Readable } from 'node:stream'
import type http from 'node:http'
import { FileStore } from '@tus/file-store'
import { Upload } from '@tus/utils'

/** Upload-Checksum algorithms offered (Tus-Checksum-Algorithm); sha1 is the one the spec requires */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'].filter(a => getHashes().includes(a))

/** the checksum a PATCH (or creation-with-upload POST) carried, for the store's write */
export const requestChecksum = new AsyncLocalStorage<{ algorithm: string, digest: string } | undefined>()

export class TusError extends Error {
  constructor (readonly status_code: number, readonly body: string) { super(body) }
}

/** Parse `Upload-Checksum: <algorithm> <base64>`; a TusError for a bad or unsupported one. */
export function parseChecksum (header: string | null): { algorithm: string, digest: string } | undefined {
  if (header === null || header === '') return undefined
  const m = /^([a-z0-9-]+) ([A-Za-z0-9+/=]+)$/.exec(header.trim())
  if (m === null) throw new TusError(400, 'Invalid Upload-Checksum header\n')
  if (!CHECKSUM_ALGORITHMS.includes(m[1])) throw new TusError(400, `Unsupported checksum algorithm ${m[1]}; supported: ${CHECKSUM_ALGORITHMS.join(',')}\n`)
  return { algorithm: m[1], digest: m[2] }
}

export class CairnTusStore extends FileStore {
  /** called when a write is kept: the upload's bytes up to `offset` are final (see eager.ts) */
  onConfirmed?: (id: string, offset: number) => void
  /** called when an upload is removed (terminated, expired, refused) */
  onRemoved?: (id: string) => void

  constructor (opts: { directory: string, expirationPeriodInMilliseconds: number }) {
    super(opts)
    this.extensions = [...this.extensions, 'checksum']
  }

  override async write (readable: http.IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    const end = await this.checkedWrite(readable, id, offset)
    this.onConfirmed?.(id, end)
    return end
  }

  private async checkedWrite (readable: http.IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    const checksum = requestChecksum.getStore()
    if (checksum === undefined) return await super.write(readable, id, offset)
    const hash = createHash(checksum.algorithm)
    const hashing = new Transform({ transform (chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk) } })
    pipeline(readable, hashing, () => {})
    const end = await super.write(hashing, id, offset)
    if (hash.digest('base64') !== checksum.digest) {
      // the spec: a mismatching body must not be kept; the upload stays at its old offset
      await truncate(join(this.directory, id), offset)
      throw new TusError(460, 'Checksum mismatch\n')
    }
    return end
  }

  override async getUpload (id: string): Promise<Upload> {
    const info = await this.configstore.get(id) as (Upload & { metadata?: Record<string, string | null> }) | undefined
    if (info?.metadata?.cid != null && info.size !== undefined) {
      // imported and its temporary file removed: complete, with its CID
      const exists = await stat(join(this.directory, id)).then(() => true, () => false)
      if (!exists) {
        return new Upload({ id, size: info.size, offset: info.size, metadata: info.metadata, creation_date: info.creation_date })
      }
    }
    return await super.getUpload(id)
  }

  override async remove (id: string): Promise<void> {
    this.onRemoved?.(id)
    await unlink(join(this.directory, id)).catch(() => {})
    await this.configstore.delete(id).catch(() => {})
  }

  /** Record the import: CID in the metadata, offset complete; then drop the temporary bytes. */
  async markImported (id: string, cid: string): Promise<void> {
    const info = await this.configstore.get(id) as Upload | undefined
    if (info === undefined) return
    await this.configstore.set(id, { ...info, offset: info.size ?? 0, metadata: { ...info.metadata, cid } } as unknown as Upload)
    await unlink(join(this.directory, id)).catch(() => {})
  }

  /** Unfinished uploads past their expiry (the library's sweep), and imported uploads' records past it too. */
  override async deleteExpired (): Promise<number> {
    let n = await super.deleteExpired()
    const expiry = this.getExpiration()
    if (expiry <= 0) return n
    const names = await readdir(this.directory).catch(() => [] as string[])
    const files = new Set(names)
    for (const name of names) {
      if (!name.endsWith('.json')) continue
      const id = name.slice(0, -5)
      if (files.has(id)) continue
      const info = await this.configstore.get(id) as Upload | undefined
      const created = info?.creation_date === undefined ? 0 : Date.parse(info.creation_date)
      if (Date.now() - created > expiry) {
        await this.configstore.delete(id).catch(() => {})
        n++
      }
    }
    return n
  }
}
