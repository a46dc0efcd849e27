/**
 * Parts as files: <dir>/<uploadId>/<partNumber>. A part is streamed into a temporary file
 * beside it, flushed, then renamed over the old copy, so a re-sent part replaces the earlier
 * one atomically and a cut-off part leaves the earlier one intact. Memory holds one chunk.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '../../core/errors.js'
import type { PartStore, PartWrite } from '../../core/ports/part-store.js'

const ID_RE = /^[A-Za-z0-9_-]{8,64}$/
const WRITE_BATCH = 1024 * 1024
/** start flushing to disk every this many bytes while the part arrives, so the last flush is short */
const SYNC_EVERY = 4 * 1024 * 1024

/** what is left of `parts` after the first `n` bytes were written */
function rest (parts: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const p of parts) {
    if (n >= p.byteLength) { n -= p.byteLength; continue }
    out.push(n > 0 ? p.subarray(n) : p)
    n = 0
  }
  return out
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
    const hash = createHash('sha256')
    let size = 0
    // a flush of what is written so far runs while the rest arrives (at most one at a time)
    let syncing: Promise<void> | undefined
    let syncError: unknown
    let unsynced = 0
    try {
      try {
        // socket reads are ~64 KiB: write them in batches of about 1 MiB, one writev each
        let batch: Uint8Array[] = []
        let batched = 0
        const flush = async (): Promise<void> => {
          let pending = batch
          batch = []
          batched = 0
          while (pending.length > 0) {
            const { bytesWritten } = await fh.writev(pending)
            pending = rest(pending, bytesWritten)
            unsynced += bytesWritten
          }
          if (unsynced >= SYNC_EVERY && syncing === undefined) {
            unsynced = 0
            // a failed flush fails the part, even if a later one succeeds (the kernel may have dropped the pages)
            syncing = fh.datasync().catch((err: unknown) => { syncError ??= err }).finally(() => { syncing = undefined })
          }
        }
        for await (const chunk of source) {
          signal?.throwIfAborted()
          hash.update(chunk)
          batch.push(chunk)
          batched += chunk.byteLength
          size += chunk.byteLength
          if (batched >= WRITE_BATCH) await flush()
        }
        await flush()
        signal?.throwIfAborted()
        await syncing
        if (syncError !== undefined) throw syncError
        await fh.datasync()
      } finally {
        await syncing
        await fh.close()
      }
      const written = { size, sha256: hash.digest('hex') }
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
