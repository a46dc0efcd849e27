/**
 * The bytes of one tus upload, imported as they arrive, across PATCH requests, into segments
 * (src/core/tus-segments.ts): each PATCH's body is fed to the segment being written; a
 * segment is cut at the end of a PATCH and every SEGMENT_MAX bytes, always at a chunk
 * boundary (the bytes of a chunk not yet whole wait in memory for the next PATCH), so the
 * segments' leaves are exactly a one-shot import's. A cut segment's pack is completed and
 * recorded in the background while the next one streams: a PATCH is answered once its bytes
 * are taken, not once they are durable. tus allows that: after a crash the upload resumes at
 * its durable offset (the end of its recorded segments), which HEAD then reports.
 *
 * A PATCH with Upload-Checksum holds the recording of segments with its bytes until its
 * checksum is checked; a mismatch drops every segment not yet recorded (the upload goes back
 * to its durable offset, which may be before the PATCH).
 *
 * In-process: the upload's writer lives where its PATCHes arrive; another node (or this one
 * after a restart) starts a new writer at the durable offset.
 */
import type { ImportProfile } from '../../core/content/profiles.js'
import { PROFILE_LEAVES } from '../../core/content/leaf-import.js'
import type { TusSegments } from '../../core/tus-segments.js'

/** a segment is cut at least this often within one long PATCH (a crash loses at most about this much) */
const SEGMENT_MAX = 16 * 1024 * 1024

export class UploadWriter {
  /** bytes taken from PATCHes (the offset answered to the client) */
  fed: number
  /** bytes of the recorded segments */
  durable: number
  /** the upload's length, once known */
  size: number | undefined

  private readonly chunk: number
  /** bytes taken but not yet handed to a segment: less than a chunk, plus at most one piece */
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  /** the current PATCH's body */
  private input: AsyncIterator<Uint8Array> | undefined
  /** wakes the segment loop: input arrived, or the writer closes */
  private wake: () => void = () => {}
  /** settles when the current PATCH's body is taken (or failed) */
  private inputDone: (() => void) | undefined
  private closing = false
  private failure: unknown
  /** the imports of segments not yet recorded, and the one being written */
  private readonly live = new Set<AbortController>()
  private open: AbortController | undefined
  /** the recording of segments, in order */
  private recording: Promise<void> = Promise.resolve()
  /** while set, segments wait for it before they are recorded (a PATCH's checksum) */
  private held: Promise<void> | undefined
  /** settles once the loop has ended and every segment it cut is recorded (or failed) */
  readonly settled: Promise<void>

  constructor (private readonly uploadId: string, start: number, size: number | undefined, private readonly profile: ImportProfile, private readonly segments: TusSegments) {
    this.fed = start
    this.durable = start
    this.size = size
    this.chunk = PROFILE_LEAVES[profile].chunkSize
    this.settled = this.loop().then(async () => { await this.recording })
    this.settled.catch(() => {})
  }

  /** the upload failed here (a segment could not be stored): new PATCHes are refused */
  get failed (): unknown { return this.failure }

  /**
   * Take a PATCH body. Resolves once every byte of it is taken (or it broke off: what came
   * is kept). `check`, when given, is awaited before segments holding these bytes are
   * recorded; if it rejects, they are dropped and the writer fails.
   */
  async feed (body: AsyncIterable<Uint8Array>, check?: Promise<void>): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    if (check !== undefined) {
      const before = this.held ?? Promise.resolve()
      this.held = before.then(async () => { await check })
      this.held.catch(() => {})
    }
    this.input = body[Symbol.asyncIterator]()
    const done = new Promise<void>(resolve => { this.inputDone = resolve })
    this.wake()
    await done
    if (this.failure !== undefined) throw this.failure
  }

  /** Stop: cut what is whole, drop the partial chunk, record what was cut. */
  async close (): Promise<void> {
    this.closing = true
    this.wake()
    await this.settled.catch(() => {})
  }

  /** Stop now: nothing more is recorded; segments not yet recorded are dropped. */
  fail (err: unknown): void {
    this.failure ??= err
    this.closing = true
    for (const c of this.live) c.abort(err)
    this.endInput()
    this.wake()
  }

  /**
   * A PATCH's checksum failed: stop, dropping the segment being written and every segment
   * holding its bytes, while segments cut before it are still recorded. `settled` tells when.
   */
  rollback (): void {
    this.closing = true
    this.open?.abort(new Error('rolled back'))
    this.endInput()
    this.wake()
  }

  private get atEnd (): boolean {
    return this.size !== undefined && this.fed === this.size
  }

  private endInput (): void {
    this.input = undefined
    const d = this.inputDone
    this.inputDone = undefined
    d?.()
  }

  /** the next piece of the current PATCH's body; undefined when it ended (or broke off) */
  private async nextPiece (): Promise<Uint8Array | undefined> {
    const it = this.input
    if (it === undefined) return undefined
    try {
      const r = await it.next()
      if (r.done !== true && this.input === it) {
        this.fed += r.value.byteLength
        return r.value
      }
    } catch {
      // the client went away: what came is kept
    }
    if (this.input === it) this.endInput()
    return undefined
  }

  /** cut segments until the upload is whole or the writer closes */
  private async loop (): Promise<void> {
    for (;;) {
      // a segment starts once a whole chunk is pending, or the end of the upload is
      while (!(this.pendingBytes >= this.chunk || (this.atEnd && this.pendingBytes > 0))) {
        if (this.closing) return
        if (this.atEnd && this.pendingBytes === 0) {
          // the whole upload is taken: let the last PATCH's body end (its request is answered then)
          while (this.input !== undefined) await this.nextPiece()
          return
        }
        if (this.input !== undefined) {
          const piece = await this.nextPiece()
          if (piece !== undefined) this.push(piece)
          continue
        }
        await new Promise<void>(resolve => { this.wake = resolve })
      }
      if (this.closing && (this.pendingBytes < this.chunk || this.failure !== undefined)) return
      const start = this.durable + this.inFlightBytes
      let taken = 0
      let cut: () => void = () => {}
      const cutDone = new Promise<void>(resolve => { cut = resolve })
      const self = this
      async function * source (): AsyncGenerator<Uint8Array> {
        try {
          for (;;) {
            // hand over whole chunks only (all that is left at the end of the upload)
            const whole = self.atEnd ? self.pendingBytes : Math.floor((taken + self.pendingBytes) / self.chunk) * self.chunk - taken
            const n = Math.min(whole, SEGMENT_MAX - taken)
            if (n > 0) {
              taken += n
              for (const p of self.take(n)) yield p
            }
            if (taken >= SEGMENT_MAX || (self.atEnd && self.pendingBytes === 0)) return
            // the PATCH ended (or the writer closes): cut here; a partial chunk waits for the next PATCH
            if (self.input === undefined || self.closing) return
            const piece = await self.nextPiece()
            if (piece !== undefined) self.push(piece)
          }
        } finally {
          cut()
        }
      }
      const ctrl = new AbortController()
      this.live.add(ctrl)
      this.open = ctrl
      const imported = this.segments.importSegment(source(), this.profile, ctrl.signal)
      imported.catch(() => {})
      // the next segment starts at the cut; this one's pack completes and is recorded meanwhile
      await Promise.race([cutDone, imported.then(() => {}, () => {})])
      this.open = undefined
      const size = taken
      if (size === 0 || ctrl.signal.aborted) {
        this.live.delete(ctrl)
        await imported.then(async r => { await this.segments.discard(r) }, () => {})
        if (this.closing) return
        continue
      }
      this.inFlightBytes += size
      const held = this.held
      this.recording = this.recording.then(async () => {
        let r
        try {
          r = await imported
          let checked = true
          if (held !== undefined) await held.catch(() => { checked = false })
          // a segment with bytes of a PATCH whose checksum failed is dropped (rollback)
          if (!checked || ctrl.signal.aborted) { await this.segments.discard(r); return }
          if (this.failure !== undefined) throw this.failure
          await this.segments.record(this.uploadId, start, r)
          this.durable += size
          this.inFlightBytes -= size
        } catch (err) {
          if (r !== undefined) await this.segments.discard(r).catch(() => {})
          this.fail(err)
        } finally {
          this.live.delete(ctrl)
        }
      })
    }
  }

  /** bytes of segments cut and not yet recorded */
  private inFlightBytes = 0

  private push (piece: Uint8Array): void {
    if (piece.byteLength === 0) return
    this.pending.push(piece)
    this.pendingBytes += piece.byteLength
  }

  /** the first `n` pending bytes, as views (no copy) */
  private take (n: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let left = n
    while (left > 0) {
      const p = this.pending[0]
      if (p.byteLength <= left) {
        out.push(p)
        this.pending.shift()
        left -= p.byteLength
      } else {
        out.push(p.subarray(0, left))
        this.pending[0] = p.subarray(left)
        left = 0
      }
    }
    this.pendingBytes -= n
    return out
  }
}
