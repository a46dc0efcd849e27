/**
 * Importing a tus upload while its PATCHes arrive, so that the last PATCH does not have to
 * wait for the whole file to be read and imported again.
 *
 * tus only ever appends, at the offset the server confirmed, so the upload's file up to the
 * offset a write returned never changes again (a PATCH whose checksum fails is truncated
 * back before its write returns, so its bytes are never confirmed). The eager import reads
 * the file from its start up to the latest confirmed offset, waits for the next one, and
 * ends at the declared size; the import then commits as a one-shot upload would. When the
 * upload finishes, `finish` takes that result; if there is none (the server restarted, the
 * import failed, too many ran) it imports the file from scratch as before. So it only ever
 * saves time; the file on disk is always what is imported.
 *
 * An import that sees no new bytes for IDLE_MS, or whose upload is terminated or expires,
 * is abandoned (its unfinished pack is dropped by the import's own abort handling).
 */
import { open } from 'node:fs/promises'

/** concurrent eager imports per process: each holds an importer and a pack being written */
const MAX_RUNNING = 8
/** an upload that stalls this long loses its eager import (finish then imports from scratch) */
const IDLE_MS = 5 * 60_000
const READ_BYTES = 1024 * 1024

interface Running {
  /** the latest offset a write confirmed */
  confirmed: number
  /** wakes the reader waiting for more bytes */
  wake: () => void
  abort: AbortController
  idle: NodeJS.Timeout
  result: Promise<string>
}

export class EagerTusImports {
  private readonly running = new Map<string, Running>()

  /**
   * A write to upload `id` was confirmed up to `offset`. Starts an import the first time
   * (when the upload's size is known and `start` is given), else lets the running one read on.
   */
  confirmed (id: string, offset: number, file: string, size: number | undefined, start: (content: AsyncIterable<Uint8Array>) => Promise<string>): void {
    const r = this.running.get(id)
    if (r !== undefined) {
      r.confirmed = Math.max(r.confirmed, offset)
      r.idle.refresh()
      r.wake()
      return
    }
    if (size === undefined || offset >= size || this.running.size >= MAX_RUNNING) return
    const abort = new AbortController()
    const run: Running = {
      confirmed: offset,
      wake: () => {},
      abort,
      idle: setTimeout(() => { this.drop(id) }, IDLE_MS).unref(),
      result: Promise.resolve('')
    }
    run.result = start(this.follow(run, file, size))
    run.result.catch(() => {}) // seen by take(); an unclaimed failure is just dropped
    this.running.set(id, run)
  }

  /** the eager import's CID for upload `id`, or undefined when there is none or it failed */
  async take (id: string): Promise<string | undefined> {
    const r = this.running.get(id)
    if (r === undefined) return undefined
    try {
      return await r.result
    } catch {
      return undefined
    } finally {
      clearTimeout(r.idle)
      this.running.delete(id)
    }
  }

  /** the upload is gone (terminated, expired) or stalled: stop its import */
  drop (id: string): void {
    const r = this.running.get(id)
    if (r === undefined) return
    this.running.delete(id)
    clearTimeout(r.idle)
    r.abort.abort(new Error('the upload stopped'))
    r.wake()
  }

  close (): void {
    for (const id of [...this.running.keys()]) this.drop(id)
  }

  /** the file's bytes from 0 to `size`, each read only once a write has confirmed it */
  private async * follow (r: Running, file: string, size: number): AsyncGenerator<Uint8Array> {
    const fh = await open(file, 'r')
    try {
      let pos = 0
      while (pos < size) {
        while (r.confirmed <= pos) {
          r.abort.signal.throwIfAborted()
          await new Promise<void>(resolve => { r.wake = resolve })
        }
        r.abort.signal.throwIfAborted()
        const want = Math.min(r.confirmed - pos, READ_BYTES)
        const buf = Buffer.allocUnsafe(want)
        const { bytesRead } = await fh.read(buf, 0, want, pos)
        if (bytesRead === 0) throw new Error('the upload file is shorter than its confirmed offset')
        pos += bytesRead
        yield buf.subarray(0, bytesRead)
      }
    } finally {
      await fh.close()
    }
  }
}
