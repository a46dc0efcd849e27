/**
 * The worker side of sha256-stream.ts: running SHA-256 states, one per stream id, fed with
 * views of SharedArrayBuffers (read in place, nothing copied). Messages of one stream arrive
 * in order, so its updates are hashed in the order they were sent.
 */
import { createHash, type Hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

export type StreamRequest =
  | { op: 'update', id: number, seq: number, bytes: Uint8Array }
  | { op: 'digest', id: number, seq: number }
  | { op: 'drop', id: number }
export interface StreamReply { id: number, seq: number, hex?: string, error?: string }

const port = parentPort
if (port === null) throw new Error('sha256-stream-worker must run in a worker thread')

const states = new Map<number, Hash>()

port.on('message', (req: StreamRequest) => {
  if (req.op === 'drop') { states.delete(req.id); return }
  let reply: StreamReply
  try {
    let h = states.get(req.id)
    if (h === undefined) { h = createHash('sha256'); states.set(req.id, h) }
    if (req.op === 'update') {
      h.update(req.bytes)
      reply = { id: req.id, seq: req.seq }
    } else {
      states.delete(req.id)
      reply = { id: req.id, seq: req.seq, hex: h.digest('hex') }
    }
  } catch (err) {
    states.delete(req.id)
    reply = { id: req.id, seq: req.seq, error: String((err as Error)?.message ?? err) }
  }
  port.postMessage(reply)
})
