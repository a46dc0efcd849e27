/**
 * SHA-256 off the main thread, for leaf-import.ts. The UnixFS importer hashes every block
 * synchronously on the main thread (multiformats' sha256 is node:crypto's createHash), the
 * thread that also parses the upload and builds the DAG, so on a 2-core machine the second
 * core sits idle while the first hashes ~0.9 s per GiB. Here blocks are hashed by a small pool
 * of worker threads instead: hashing runs on the other core, alongside the main thread's work.
 *
 * Blocks in shared memory (SharedArrayBuffer views, as leafChunker makes for every chunk after
 * a file's first) are read by a worker in place, nothing copied; anything else is hashed on the
 * calling thread, as the importer would. (WebCrypto's subtle.digest, the other way off the main
 * thread, copies each block first and cost the main thread about three times as much.)
 */
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { from } from 'multiformats/hashes/hasher'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import type { HashReply, HashRequest } from './sha256-worker.js'

interface Pending { resolve: (d: Uint8Array<ArrayBuffer>) => void, reject: (e: Error) => void }

interface Slot { worker: Worker, pending: Map<number, Pending> }

const WORKER_URL = new URL('./sha256-worker.js', import.meta.url)

export class Sha256Pool {
  private readonly slots: Slot[] = []
  private nextId = 0

  constructor (private readonly size: number) {}

  /** the SHA-256 digest (32 bytes) of `bytes`; shared bytes go to a worker, others are hashed here */
  async digest (bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) return syncDigest(bytes)
    const slot = this.pick()
    const id = this.nextId++
    return await new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref() // keep the process alive while we wait on it
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, bytes } satisfies HashRequest)
    })
  }

  /** stop the workers (they never keep the process alive when idle, so this is optional) */
  async close (): Promise<void> {
    const all = this.slots.splice(0)
    await Promise.all(all.map(async s => { await s.worker.terminate() }))
  }

  private pick (): Slot {
    let best: Slot | undefined
    for (const s of this.slots) if (best === undefined || s.pending.size < best.pending.size) best = s
    if (best !== undefined && (best.pending.size === 0 || this.slots.length >= this.size)) return best
    return this.spawn()
  }

  private spawn (): Slot {
    const worker = new Worker(WORKER_URL)
    worker.unref()
    const slot: Slot = { worker, pending: new Map() }
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot)
      if (i >= 0) this.slots.splice(i, 1)
      for (const p of slot.pending.values()) p.reject(err)
      slot.pending.clear()
    }
    worker.on('message', (m: HashReply) => {
      const p = slot.pending.get(m.id)
      if (p === undefined) return
      slot.pending.delete(m.id)
      if (slot.pending.size === 0) worker.unref()
      if (m.digest !== undefined) p.resolve(m.digest as Uint8Array<ArrayBuffer>)
      else p.reject(new Error(`sha256 worker: ${m.error ?? 'no digest'}`))
    })
    worker.on('error', fail)
    worker.on('exit', code => { fail(new Error(`sha256 worker exited (${code})`)) })
    this.slots.push(slot)
    return slot
  }
}

function syncDigest (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

let shared: Sha256Pool | undefined

/** the process-wide pool: one worker per core beyond the main thread's, at least one, at most 4 */
export function sha256Pool (): Sha256Pool {
  shared ??= new Sha256Pool(Math.max(1, Math.min(4, availableParallelism() - 1)))
  return shared
}

/** a multiformats hasher (name and code of sha2-256) whose digests come from the pool */
export function offThreadSha256 (pool: Sha256Pool = sha256Pool()): MultihashHasher<0x12> {
  return from({ name: 'sha2-256', code: 0x12, encode: async (input: Uint8Array) => await pool.digest(input) })
}
