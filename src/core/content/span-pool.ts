/**
 * Reusable buffers for the large span reads of file-reader.ts.
 *
 * Why: a download reads its file in spans of up to 4 MiB. A fresh Buffer per span is
 * external memory to V8, and every ~64 MiB of it triggers a garbage collection of the whole
 * heap ("external memory pressure"): measured here, 7 full and 63 minor collections per GiB
 * sent, about a quarter of the server's CPU for a download. Reusing a handful of buffers
 * takes that away.
 *
 * Safety rule: a buffer is reused only after whoever sent it says so, with the exact view
 * it was given. The reader marks the one chunk it yields from a span buffer (`handOut`);
 * only the HTTP body pump (http/body-stream.ts) calls `release`, from the socket's write
 * callback, when the bytes have left the process. A consumer that keeps chunks (collects a
 * body, slices it, caches it) never releases them, so their buffers are simply garbage
 * collected and the pool allocates new ones: forgetting to release costs memory churn,
 * never data.
 */

export const SPAN_BUFFER_BYTES = 4 * 1024 * 1024
/** free buffers kept: a few concurrent downloads' worth, 32 MiB at most */
const MAX_FREE = 8

const free: Buffer[] = []
/** span buffers lent out: ArrayBuffer -> the length of the one view handed out (0: not yet) */
const lent = new WeakMap<ArrayBufferLike, number>()

/** a buffer of `length` bytes for a span read (its bytes are garbage until read into) */
export function acquireSpan (length: number): Buffer {
  if (length > SPAN_BUFFER_BYTES) return Buffer.allocUnsafe(length)
  const b = free.pop() ?? Buffer.allocUnsafeSlow(SPAN_BUFFER_BYTES)
  lent.set(b.buffer, 0)
  return b.subarray(0, length)
}

/** the read did not use the buffer after all: take it back at once */
export function returnUnused (buf: Uint8Array): void {
  if (lent.get(buf.buffer) !== 0) return
  lent.delete(buf.buffer)
  recycle(buf.buffer)
}

/** `view` (starting at the buffer's first byte) is the chunk the reader yields from a span buffer */
export function handOut (view: Uint8Array): Uint8Array {
  if (lent.get(view.buffer) === 0 && view.byteOffset === 0 && view.byteLength > 0) lent.set(view.buffer, view.byteLength)
  return view
}

/** `chunk` has been sent and nothing refers to its bytes any more: its buffer may be reused */
export function release (chunk: Uint8Array): void {
  if (chunk.byteOffset !== 0 || lent.get(chunk.buffer) !== chunk.byteLength) return
  lent.delete(chunk.buffer)
  recycle(chunk.buffer)
}

function recycle (ab: ArrayBufferLike): void {
  if (free.length < MAX_FREE && ab.byteLength === SPAN_BUFFER_BYTES) free.push(Buffer.from(ab, 0, SPAN_BUFFER_BYTES))
}

/** for tests: how many buffers wait for reuse */
export function freeSpanBuffers (): number {
  return free.length
}
