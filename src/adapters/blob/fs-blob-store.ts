/**
 * Filesystem blob store: completed packs under <dir>/packs/<2 hex>/<key>, packs being written
 * under <dir>/incoming/. A pack becomes visible only by an atomic rename after fdatasync, so
 * a crash mid-upload leaves at most an incoming file, which sweepIncomplete removes.
 *
 * Durability overlaps the write: every FLUSH_EVERY bytes an fdatasync starts in the
 * background, so the final one at completion has little left to flush.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '../../core/errors.js'
import type { BlobInfo, BlobStore, CreatePackOptions, PackSink } from '../../core/ports/blob-store.js'

const FLUSH_EVERY = 64 * 1024 * 1024
const MAX_OPEN_READERS = 512
const KEY_RE = /^[a-z0-9]{8,64}$/

function checkKey (key: string): void {
  // keys come from our own metadata, but never let one name a path outside the store
  if (!KEY_RE.test(key)) throw new CairnError('invalid_argument', `bad blob key ${JSON.stringify(key)}`)
}

export class FsBlobStore implements BlobStore {
  private readonly packsDir: string
  private readonly incomingDir: string
  /** a small cache of open read handles, oldest first */
  private readonly readers = new Map<string, Promise<FileHandle>>()

  constructor (dir: string) {
    this.packsDir = join(dir, 'packs')
    this.incomingDir = join(dir, 'incoming')
  }

  async init (): Promise<this> {
    await mkdir(this.packsDir, { recursive: true })
    await mkdir(this.incomingDir, { recursive: true })
    return this
  }

  /** shard directories known to exist: one mkdir per shard per process, not one per pack */
  private readonly shards = new Set<string>()

  private async ensureShard (shard: string): Promise<void> {
    if (this.shards.has(shard)) return
    await mkdir(join(this.packsDir, shard), { recursive: true })
    this.shards.add(shard)
  }

  private pathOf (key: string): string {
    checkKey(key)
    return join(this.packsDir, key.slice(0, 2), key)
  }

  async createPack (headerLength: number, opts: CreatePackOptions = {}): Promise<PackSink> {
    const flushEvery = opts.durableEvery ?? FLUSH_EVERY
    const key = opts.key ?? randomBytes(16).toString('hex')
    const tmp = join(this.incomingDir, `${key}.part`)
    const final = this.pathOf(key)
    // a given key may have a leftover of an interrupted copy: start it over
    const fh = await open(tmp, opts.key === undefined ? 'wx+' : 'w+')
    let size = headerLength
    let sinceFlush = 0
    let flushing: Promise<void> | undefined
    /** a background flush that failed: the pack cannot be made durable, so it must not complete */
    let flushFailed: { err: unknown } | undefined
    let done = false
    const writes = new Set<Promise<unknown>>()

    const sink: PackSink = {
      key,
      get size () { return size },
      append: async (...parts: Uint8Array[]): Promise<number> => {
        if (done) throw new Error('pack already completed or aborted')
        const offset = size
        const length = parts.reduce((n, p) => n + p.byteLength, 0)
        size += length
        sinceFlush += length
        const w = writeFully(fh, parts, offset)
        writes.add(w)
        try {
          await w
        } finally {
          writes.delete(w)
        }
        if (sinceFlush >= flushEvery && flushing === undefined) {
          sinceFlush = 0
          flushing = fh.datasync().catch(err => { flushFailed ??= { err } }).finally(() => { flushing = undefined })
        }
        return offset
      },
      complete: async (header: Uint8Array): Promise<void> => {
        if (done) throw new Error('pack already completed or aborted')
        if (header.byteLength !== headerLength) throw new Error(`header is ${header.byteLength} bytes, reserved ${headerLength}`)
        done = true
        try {
          await Promise.all(writes)
          await writeFully(fh, [header], 0)
          if (flushing !== undefined) await flushing
          if (flushFailed !== undefined) throw flushFailed.err
          await fh.datasync()
          await fh.close()
          await this.ensureShard(key.slice(0, 2))
          await rename(tmp, final)
          await syncDir(join(this.packsDir, key.slice(0, 2)))
        } catch (err) {
          await fh.close().catch(() => {})
          await unlink(tmp).catch(() => {})
          throw err
        }
      },
      abort: async (): Promise<void> => {
        if (done) return
        done = true
        await Promise.allSettled(writes)
        if (flushing !== undefined) await flushing
        await fh.close().catch(() => {})
        await unlink(tmp).catch(() => {})
      }
    }
    return sink
  }

  private async reader (key: string): Promise<FileHandle> {
    let h = this.readers.get(key)
    if (h !== undefined) {
      // refresh its place in the LRU order
      this.readers.delete(key)
      this.readers.set(key, h)
      return await h
    }
    h = open(this.pathOf(key), 'r')
    this.readers.set(key, h)
    h.catch(() => { this.readers.delete(key) })
    while (this.readers.size > MAX_OPEN_READERS) {
      const [oldKey, old] = this.readers.entries().next().value as [string, Promise<FileHandle>]
      this.readers.delete(oldKey)
      // give in-flight reads on it time to finish before closing
      old.then(f => setTimeout(() => { f.close().catch(() => {}) }, 5000).unref(), () => {})
    }
    try {
      return await h
    } catch (err) {
      throw missing(err, key)
    }
  }

  async read (key: string, offset: number, length: number, _signal?: AbortSignal, into?: Uint8Array): Promise<Uint8Array> {
    const fh = await this.reader(key)
    const buf = into !== undefined && into.byteLength >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got)
      if (bytesRead === 0) throw new CairnError('unavailable', `pack ${key} is shorter than its index says`)
      got += bytesRead
    }
    return buf
  }

  async * stream (key: string, range?: { start: number, end: number }, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const opts = range === undefined ? {} : { start: range.start, end: range.end - 1 }
    if (range !== undefined && range.end <= range.start) return
    const rs = createReadStream(this.pathOf(key), { ...opts, highWaterMark: 1024 * 1024, signal })
    try {
      for await (const chunk of rs) yield chunk as Buffer
    } catch (err) {
      throw missing(err, key)
    }
  }

  async delete (key: string): Promise<void> {
    const h = this.readers.get(key)
    this.readers.delete(key)
    if (h !== undefined) h.then(f => f.close(), () => {}).catch(() => {})
    await rm(this.pathOf(key), { force: true })
  }

  async * list (): AsyncIterable<BlobInfo> {
    for (const shard of await readdir(this.packsDir)) {
      const dir = join(this.packsDir, shard)
      let names: string[]
      try { names = await readdir(dir) } catch { continue }
      for (const name of names) {
        if (!KEY_RE.test(name)) continue
        const s = await stat(join(dir, name)).catch(() => undefined)
        if (s !== undefined) yield { key: name, size: s.size, modifiedAt: s.mtimeMs }
      }
    }
  }

  async sweepIncomplete (olderThanMs: number): Promise<number> {
    let removed = 0
    const cutoff = Date.now() - olderThanMs
    for (const name of await readdir(this.incomingDir)) {
      const p = join(this.incomingDir, name)
      const s = await stat(p).catch(() => undefined)
      if (s !== undefined && s.mtimeMs <= cutoff) {
        await rm(p, { force: true })
        removed++
      }
    }
    return removed
  }

  async close (): Promise<void> {
    const all = [...this.readers.values()]
    this.readers.clear()
    await Promise.allSettled(all.map(async h => { await (await h).close() }))
  }
}

/** the part of `fh` that writeFully needs (a FileHandle) */
export type PositionalWriter = Pick<FileHandle, 'write' | 'writev'>

/**
 * Write all of `parts` at `offset`. A positional write may write fewer bytes than asked
 * without an error (e.g. the disk filled up part way): write the rest, and fail if a write
 * makes no progress, so a pack is never completed with a hole in it. The parts are not
 * copied; the caller may reuse them once this resolves.
 */
export async function writeFully (fh: PositionalWriter, parts: Uint8Array[], offset: number): Promise<void> {
  let rest = parts.filter(p => p.byteLength > 0)
  let at = offset
  while (rest.length > 0) {
    const { bytesWritten } = rest.length === 1
      ? await fh.write(rest[0], 0, rest[0].byteLength, at)
      : await fh.writev(rest, at)
    if (!(bytesWritten > 0)) throw new Error(`pack write at offset ${at} wrote nothing (disk full?)`)
    at += bytesWritten
    let skip = bytesWritten
    while (rest.length > 0 && skip >= rest[0].byteLength) skip -= (rest.shift() as Uint8Array).byteLength
    if (skip > 0) rest[0] = rest[0].subarray(skip)
  }
}

function missing (err: unknown, key: string): unknown {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CairnError('not_found', `blob ${key} not found`)
  return err
}

async function syncDir (dir: string): Promise<void> {
  const d = await open(dir, 'r')
  try { await d.sync() } finally { await d.close() }
}
