/**
 * A running SHA-256 computed off the main thread: the caller shares each batch of bytes with
 * a worker (a view of a SharedArrayBuffer, read in place) and may reuse the batch's memory
 * once its update resolves. Used for part tags (fs-part-store.ts), which the main thread
 * hashed itself before, ~1 CPU-second per GiB on the thread that also receives the bytes and
 * runs the import. One worker serves every stream of the process; it does not keep the
 * process alive while idle.
 */
import { Worker } from 'node:worker_threads'
import type { StreamReply, StreamRequest } from './sha256-stream-worker.js'

const WORKER_URL = new URL('./sha256-stream-worker.js', import.meta.url)

interface Waiter { resolve: (r: StreamReply) => void, reject: (e: Error) => void }

class StreamWorker {
  private worker: Worker | undefined
  private readonly waiting = new Map<string, Waiter>()
  private nextId = 1

  newId (): number { return this.nextId++ }

  send (req: StreamRequest): Promise<StreamReply> | undefined {
    const w = this.worker ?? this.spawn()
    if (req.op === 'drop') { w.postMessage(req); return undefined }
    const key = `${req.id}:${req.seq}`
    return new Promise<StreamReply>((resolve, reject) => {
      if (this.waiting.size === 0) w.ref()
      this.waiting.set(key, { resolve, reject })
      w.postMessage(req)
    })
  }

  private spawn (): Worker {
    const w = new Worker(WORKER_URL)
    w.unref()
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined
      for (const p of this.waiting.values()) p.reject(err)
      this.waiting.clear()
    }
    w.on('message', (m: StreamReply) => {
      const key = `${m.id}:${m.seq}`
      const p = this.waiting.get(key)
      if (p === undefined) return
      this.waiting.delete(key)
      if (this.waiting.size === 0) w.unref()
      p.resolve(m)
    })
    w.on('error', fail)
    w.on('exit', code => { fail(new Error(`sha256 stream worker exited (${code})`)) })
    this.worker = w
    return w
  }
}

let shared: StreamWorker | undefined

export class Sha256Stream {
  private readonly w = (shared ??= new StreamWorker())
  private readonly id = this.w.newId()
  private seq = 0
  private finished = false

  /** hash `bytes` next; resolves when the worker has read them (their memory may be reused then) */
  async update (bytes: Uint8Array): Promise<void> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new TypeError('Sha256Stream.update takes views of a SharedArrayBuffer')
    const r = await this.w.send({ op: 'update', id: this.id, seq: this.seq++, bytes })
    if (r?.error !== undefined) throw new Error(`sha256 stream worker: ${r.error}`)
  }

  /** the hex digest of every byte given so far (after their updates were sent) */
  async digest (): Promise<string> {
    this.finished = true
    const r = await this.w.send({ op: 'digest', id: this.id, seq: this.seq++ })
    if (r?.hex === undefined) throw new Error(`sha256 stream worker: ${r?.error ?? 'no digest'}`)
    return r.hex
  }

  /** forget the stream (its bytes failed): frees the worker's state */
  drop (): void {
    if (this.finished) return
    this.finished = true
    this.w.send({ op: 'drop', id: this.id })
  }
}
