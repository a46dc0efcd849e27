/**
 * Parts as files: <dir>/<uploadId>/<partNumber>. A part is streamed into a temporary file
 * beside it, flushed, then renamed over the old copy, so a re-sent part replaces the earlier
 * one atomically and a cut-off part leaves the earlier one intact. Memory holds one chunk.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '../../core/errors.js'
import type { PartStore, PartWrite } from '../../core/ports/part-store.js'
import { Sha256Stream } from '../../core/content/sha256-stream.js'

const ID_RE = /^[A-Za-z0-9_-]{8,64}$/
const WRITE_BATCH = 1024 * 1024
/** start flushing to disk every this many bytes while the part arrives, so the last flush is short */
const SYNC_EVERY = 4 * 1024 * 1024

/** shared batches kept for the next parts (allocating 1 MiB per batch would keep the GC busy) */
const freeBatches: Uint8Array[] = []
const MAX_FREE_BATCHES = 8

function takeBatch (): Uint8Array {
  return freeBatches.pop() ?? new Uint8Array(new SharedArrayBuffer(WRITE_BATCH))
}

function giveBatches (batches: Uint8Array[]): void {
  for (const b of batches.splice(0)) if (freeBatches.length < MAX_FREE_BATCHES) freeBatches.push(b)
}

function checkId (id: string): void {
  // ids come from our own metadata, but never let one name a path outside the store
  if (!ID_RE.test(id)) throw new CairnError('invalid_argument', `bad upload id ${JSON.stringify(id)}`)
}

async function syncDir (dir: string): Promise<void> {
  const d = await open(dir, 'r')
  try { await d.datasync() } finally { await d.close() }
}

export class FsPartStore implements PartStore {
  constructor (private readonly dir: string) {}

  async init (): Promise<this> {
    await mkdir(this.dir, { recursive: true })
    return this
  }

  private partPath (uploadId: string, partNumber: number): string {
    checkId(uploadId)
    if (!Number.isSafeInteger(partNumber) || partNumber < 1) throw new CairnError('invalid_argument', 'bad part number')
    return join(this.dir, uploadId, String(partNumber))
  }

  async writePart (uploadId: string, partNumber: number, source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined,
    decide: (w: PartWrite & { keep: () => Promise<void> }) => Promise<void>): Promise<PartWrite> {
    const final = this.partPath(uploadId, partNumber)
    await mkdir(join(this.dir, uploadId), { recursive: true })
    const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`
    const fh = await open(tmp, 'wx')
    const hash = new Sha256Stream()
    let size = 0
    // a flush of what is written so far runs while the rest arrives (at most one at a time)
    let syncing: Promise<void> | undefined
    let syncError: unknown
    let unsynced = 0
    // the batch written and hashed while the next one fills (its memory is reused after)
    let pending: Promise<unknown> | undefined
    let sha256: string
    try {
      try {
        // socket reads are ~64 KiB: copy them into shared batches of 1 MiB, each written with one
        // write and hashed (the part's tag) by a worker thread reading the same memory
        const spare: Uint8Array[] = [takeBatch(), takeBatch()]
        let batch = spare.pop() as Uint8Array
        let fill = 0
        const writeAll = async (view: Uint8Array): Promise<void> => {
          let off = 0
          while (off < view.byteLength) {
            const { bytesWritten } = await fh.write(view, off, view.byteLength - off)
            off += bytesWritten
          }
          unsynced += view.byteLength
          if (unsynced >= SYNC_EVERY && syncing === undefined) {
            unsynced = 0
            // a failed flush fails the part, even if a later one succeeds (the kernel may have dropped the pages)
            syncing = fh.datasync().catch((err: unknown) => { syncError ??= err }).finally(() => { syncing = undefined })
          }
        }
        const flush = async (): Promise<void> => {
          if (fill === 0) return
          const full = batch
          const view = full.subarray(0, fill)
          await pending // the batch before: written and hashed, in order
          pending = Promise.all([writeAll(view), hash.update(view)]).then(() => { spare.push(full) })
          pending.catch(() => {})
          batch = spare.pop() ?? takeBatch()
          fill = 0
        }
        try {
          for await (const chunk of source) {
            signal?.throwIfAborted()
            size += chunk.byteLength
            let off = 0
            while (off < chunk.byteLength) {
              const n = Math.min(chunk.byteLength - off, WRITE_BATCH - fill)
              batch.set(n === chunk.byteLength ? chunk : chunk.subarray(off, off + n), fill)
              fill += n
              off += n
              if (fill === WRITE_BATCH) await flush()
            }
          }
          await flush()
          await pending
          sha256 = await hash.digest()
        } finally {
          await pending?.catch(() => {})
          giveBatches(spare)
        }
        signal?.throwIfAborted()
        await syncing
        if (syncError !== undefined) throw syncError
        await fh.datasync()
      } finally {
        hash.drop()
        await syncing
        await fh.close()
      }
      const written = { size, sha256 }
      await decide({
        ...written,
        keep: async () => {
          await rename(tmp, final)
          await syncDir(join(this.dir, uploadId)) // the rename too must survive a crash once the part is acknowledged
        }
      })
      return written
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  }

  async * readPart (uploadId: string, partNumber: number, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const stream = createReadStream(this.partPath(uploadId, partNumber), { highWaterMark: 1024 * 1024, signal })
    try {
      for await (const chunk of stream) yield chunk as Buffer
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CairnError('not_found', `part ${partNumber} is missing`)
      throw err
    }
  }

  async dropUpload (uploadId: string): Promise<void> {
    checkId(uploadId)
    await rm(join(this.dir, uploadId), { recursive: true, force: true })
  }

  async listUploads (): Promise<string[]> {
    return (await readdir(this.dir)).filter(n => ID_RE.test(n))
  }
}
