/**
 * A response body from an async iterable of byte chunks, for `reply.send()`.
 *
 * Fastify sends a stream body with `body.pipe(res)` (and watches both ends for errors and
 * early closes). This Readable does that piping itself: each chunk goes to `res.write` with
 * a callback, and when the socket has taken a chunk's bytes the chunk's span buffer is
 * handed back for reuse (core/content/span-pool.ts), which spares a garbage collection of
 * the heap every few dozen megabytes sent. Backpressure is the response's own: after a
 * write that fills its buffer the next chunk waits for 'drain'.
 *
 * Errors keep Fastify's behaviour: a chunk source that throws before anything was written
 * gets the dialect's error answer; after that the connection is cut. A client that goes
 * away destroys this stream (Fastify does), which ends the pump and the source.
 */
import { Readable, type Writable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { release } from '../core/content/span-pool.js'
import type { Metrics } from './metrics.js'

class ChunkBody extends Readable {
  private pumping = false

  constructor (private readonly chunks: AsyncIterable<Uint8Array>, private readonly metrics?: Metrics) {
    super()
  }

  override _read (): void {
    // data never goes through this stream's buffer: pipe() writes it straight to the destination
  }

  override pipe<T extends NodeJS.WritableStream> (dest: T, opts?: { end?: boolean }): T {
    if (this.pumping) throw new Error('a response body is sent once')
    this.pumping = true
    void this.pump(dest as unknown as Writable, opts?.end !== false)
    return dest
  }

  private async pump (dest: Writable, end: boolean): Promise<void> {
    try {
      for await (const chunk of this.chunks) {
        if (this.destroyed || dest.destroyed) return
        if (chunk.byteLength === 0) continue
        this.metrics?.bytesOut.inc(chunk.byteLength)
        const more = dest.write(chunk, () => { release(chunk) })
        if (!more && !await drained(dest, this)) return
      }
      if (this.destroyed) return
      if (end) dest.end()
      // let watchers (Fastify's end-of-stream) see a normal end
      this.push(null)
      this.resume()
    } catch (err) {
      this.destroy(err as Error)
    }
  }
}

/** true once `dest` drains; false if either side closes first */
async function drained (dest: Writable, body: Readable): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const done = (ok: boolean) => () => {
      dest.off('drain', onDrain)
      dest.off('close', onClose)
      body.off('close', onClose)
      resolve(ok)
    }
    const onDrain = done(true)
    const onClose = done(false)
    dest.on('drain', onDrain)
    dest.on('close', onClose)
    body.on('close', onClose)
  })
}

/** the body for `reply.send()`: the chunks, counted into the bytes-out metric as they go */
export function bodyStream (chunks: AsyncIterable<Uint8Array>, metrics?: Metrics): Readable {
  return new ChunkBody(chunks, metrics)
}

/**
 * A body read whole before anything is sent (a range request's bytes, a small file). When
 * the reader yields it as one chunk (a range within one span: the usual range request), that
 * chunk goes out as the body itself, with no stream to set up and no copy, and its span
 * buffer is handed back once the response has finished, that is once the socket has taken
 * every byte of it. Several chunks go out in order the same way a body stream sends them.
 * Either way a read error comes before any status is sent, so it gets a proper error answer.
 */
export async function sendRead (reply: FastifyReply, chunks: AsyncIterable<Uint8Array>, metrics?: Metrics): Promise<FastifyReply> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) if (c.byteLength > 0) parts.push(c)
  if (parts.length !== 1) return reply.send(parts.length === 0 ? Buffer.alloc(0) : bodyStream(inOrder(parts), metrics))
  const only = parts[0]
  metrics?.bytesOut.inc(only.byteLength)
  reply.raw.once('finish', () => { release(only) })
  return reply.send(Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength))
}

async function * inOrder (parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield * parts
}
