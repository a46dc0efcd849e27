/**
 * The worker side of sha256-pool.ts: SHA-256 of blocks the main thread shares with it (views
 * of SharedArrayBuffers, so nothing is copied on the way in), answered with the 32-byte digest.
 */
import * as crypto from 'node:crypto'
import { parentPort } from 'node:worker_threads'

export interface HashRequest { id: number, bytes: Uint8Array }
export interface HashReply { id: number, digest?: Uint8Array, error?: string }

/** crypto.hash (Node >= 20.12) skips making a Hash object per block */
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash

const port = parentPort
if (port === null) throw new Error('sha256-worker must run in a worker thread')

port.on('message', (req: HashRequest) => {
  let reply: HashReply
  try {
    const d = oneShot !== undefined ? oneShot('sha256', req.bytes, 'buffer') : crypto.createHash('sha256').update(req.bytes).digest()
    // a fresh 32-byte buffer, so only the digest is copied back (not a pool slab)
    reply = { id: req.id, digest: new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) }
  } catch (err) {
    reply = { id: req.id, error: String((err as Error)?.message ?? err) }
  }
  port.postMessage(reply)
})
