/**
 * The tus data store: @tus/file-store's configstore keeps each upload's record
 * (`<dir>/<id>.json`: length, metadata, creation date); its bytes are not a file but
 * segments, packs of leaves imported as they arrive (writer.ts, src/core/tus-segments.ts).
 * Cairn adds the checksum extension (the library has none), and uploads stay answerable
 * after their bytes were stored as a file (HEAD then reports the upload complete, with its
 * CID in Upload-Metadata). An upload resumes after a client drop (at the offset its writer
 * took) and after a server restart (at its durable offset).
 */
import { createHash, getHashes } from 'node:crypto'
import { AsyncLocalStorage } from 'node:async_hooks'
import { readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type http from 'node:http'
import { FileStore } from '@tus/file-store'
import { ERRORS, Upload } from '@tus/utils'
import type { ImportProfile } from '../../core/content/profiles.js'
import type { TusSegments } from '../../core/tus-segments.js'
import { UploadWriter } from './writer.js'

/** an upload whose writer takes no PATCH this long is cut where it is whole (what was cut stays) */
const IDLE_MS = 5 * 60_000

/** the profile an upload's metadata asks for (`cid-version: 1`, or `profile`) */
export function profileOf (meta: Record<string, string | null> | undefined): ImportProfile {
  return meta?.['cid-version'] === '1' || meta?.profile === 'unixfs-v1-2025' ? 'unixfs-v1-2025' : 'unixfs-v0-2015'
}

/** Upload-Checksum algorithms offered (Tus-Checksum-Algorithm); sha1 is the one the spec requires */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'].filter(a => getHashes().includes(a))

/** a PATCH's body, read by the store straight from the request (index.ts hands the library none) */
export const patchBody = new AsyncLocalStorage<http.IncomingMessage>()

/** at most `limit` bytes of `body`; `over()` tells whether it had more */
function limited (body: AsyncIterable<Uint8Array>, limit: number): { bytes: AsyncIterable<Uint8Array>, over: () => boolean } {
  let over = false
  return {
    over: () => over,
    bytes: (async function * () {
      let left = limit
      for await (const chunk of body) {
        if (chunk.byteLength > left) {
          over = true
          if (left > 0) yield chunk.subarray(0, left)
          return
        }
        left -= chunk.byteLength
        yield chunk
      }
    })()
  }
}

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
  private readonly writers = new Map<string, { writer: UploadWriter, idle: NodeJS.Timeout }>()

  constructor (opts: { directory: string, expirationPeriodInMilliseconds: number }, private readonly segments: TusSegments) {
    super(opts)
    this.extensions = [...this.extensions, 'checksum']
  }

  /** the upload's record only: its bytes go to segments */
  override async create (file: Upload): Promise<Upload> {
    await this.configstore.set(file.id, file)
    return file
  }

  private async info (id: string): Promise<Upload & { metadata?: Record<string, string | null> }> {
    const info = await this.configstore.get(id) as (Upload & { metadata?: Record<string, string | null> }) | undefined
    if (info === undefined) throw ERRORS.FILE_NOT_FOUND
    return info
  }

  /** the writer of upload `id`, made at its durable offset when it has none (or its last one failed) */
  private async writerOf (id: string): Promise<UploadWriter> {
    const w = this.writers.get(id)
    if (w !== undefined && w.writer.failed === undefined) {
      w.idle.refresh()
      return w.writer
    }
    if (w !== undefined) this.forget(id)
    const info = await this.info(id)
    const writer = new UploadWriter(id, await this.segments.durableOffset(id), info.size, profileOf(info.metadata), this.segments)
    const idle = setTimeout(() => { void this.closeWriter(id) }, IDLE_MS).unref()
    this.writers.set(id, { writer, idle })
    return writer
  }

  private forget (id: string): UploadWriter | undefined {
    const w = this.writers.get(id)
    if (w === undefined) return undefined
    clearTimeout(w.idle)
    this.writers.delete(id)
    return w.writer
  }

  /** cut the writer where it is whole and record what it cut (idle, or the server closes) */
  async closeWriter (id: string): Promise<void> {
    await this.forget(id)?.close()
  }

  async closeAll (): Promise<void> {
    await Promise.all([...this.writers.keys()].map(async id => { await this.closeWriter(id) }))
  }

  override async write (libraryBody: http.IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    const writer = await this.writerOf(id)
    // a PATCH's body comes straight from the request, without the library's limit: the
    // upload's length is enforced here
    const raw = patchBody.getStore()
    const readable = raw ?? libraryBody
    const room = writer.size === undefined ? Number.MAX_SAFE_INTEGER : writer.size - offset
    const body = limited(readable, room)
    const tooLong = (): TusError => new TusError(413, 'The body is longer than the upload\'s remaining length\n')
    const checksum = requestChecksum.getStore()
    if (checksum === undefined) {
      await writer.feed(body.bytes)
      if (body.over()) throw tooLong()
      return writer.fed
    }
    const hash = createHash(checksum.algorithm)
    const hashing = (async function * () { for await (const chunk of body.bytes) { hash.update(chunk); yield chunk } })()
    let verdict: (ok: boolean) => void = () => {}
    const check = new Promise<void>((resolve, reject) => { verdict = ok => { if (ok) resolve(); else reject(new TusError(460, 'Checksum mismatch\n')) } })
    check.catch(() => {})
    let whole = true
    readable.once('aborted', () => { whole = false })
    await writer.feed(hashing, check)
    // the spec: a body whose checksum does not match (or that broke off, so cannot be checked)
    // must not be kept: segments holding it are dropped, back to the durable offset
    const ok = whole && !body.over() && (readable as http.IncomingMessage).complete !== false && hash.digest('base64') === checksum.digest
    verdict(ok)
    if (!ok) {
      writer.rollback()
      await writer.settled.catch(() => {})
      this.forget(id)
      throw new TusError(460, 'Checksum mismatch\n')
    }
    return writer.fed
  }

  override async declareUploadLength (id: string, length: number): Promise<void> {
    await super.declareUploadLength(id, length)
    const w = this.writers.get(id)
    if (w !== undefined) w.writer.size = length
  }

  /** every byte taken and recorded (the writer is done): wait for it, then forget it */
  async settle (id: string): Promise<void> {
    const w = this.writers.get(id)
    if (w === undefined) return
    await w.writer.settled
    this.forget(id)
    if (w.writer.failed !== undefined) throw w.writer.failed
  }

  override async getUpload (id: string): Promise<Upload> {
    const info = await this.info(id)
    if (info.metadata?.cid != null && info.size !== undefined) {
      // stored as a file: complete, with its CID
      return new Upload({ id, size: info.size, offset: info.size, metadata: info.metadata, creation_date: info.creation_date })
    }
    const w = this.writers.get(id)
    const offset = w !== undefined && w.writer.failed === undefined ? w.writer.fed : await this.segments.durableOffset(id)
    return new Upload({ id, size: info.size, offset, metadata: info.metadata, creation_date: info.creation_date })
  }

  override async remove (id: string): Promise<void> {
    this.forget(id)?.fail(new TusError(404, 'Upload not found\n'))
    await this.segments.drop(id)
    // the bytes file of an upload begun before segments (an older release kept them there)
    if (/^[A-Za-z0-9_-]+$/.test(id)) await unlink(join(this.directory, id)).catch(() => {})
    await this.configstore.delete(id).catch(() => {})
  }

  /** Record the file: CID in the metadata, offset complete; its segments are the file's now. */
  async markImported (id: string, cid: string): Promise<void> {
    const info = await this.configstore.get(id) as Upload | undefined
    if (info === undefined) return
    await this.configstore.set(id, { ...info, offset: info.size ?? 0, metadata: { ...info.metadata, cid } } as unknown as Upload)
  }

  /**
   * Unfinished uploads past their expiry (their segments go), records of stored uploads past
   * it too, and segments whose upload record is gone.
   */
  override async deleteExpired (): Promise<number> {
    const expiry = this.getExpiration()
    if (expiry <= 0) return 0
    let n = 0
    // every upload record (the configstore's own list names only ids that also have a file)
    const ids = (await readdir(this.directory).catch(() => [] as string[])).filter(f => f.endsWith('.json')).map(f => f.slice(0, -5))
    for (const id of ids) {
      const info = await this.configstore.get(id).catch(() => undefined) as (Upload & { metadata?: Record<string, string | null> }) | undefined
      const created = info?.creation_date === undefined ? 0 : Date.parse(info.creation_date)
      if (info === undefined || Date.now() - created <= expiry || this.writers.has(id)) continue
      await this.remove(id)
      n++
    }
    const known = new Set(ids)
    for (const id of await this.segments.uploadIds()) if (!known.has(id) && !this.writers.has(id)) await this.segments.drop(id)
    return n
  }
}
