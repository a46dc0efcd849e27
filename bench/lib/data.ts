/**
 * Deterministic, incompressible, non-repeating test data: the AES-256-CTR keystream of a
 * fixed key (a seeded pseudo-random generator that runs at GB/s with AES-NI). Nothing is
 * held in memory beyond one chunk, whatever the size.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { open } from 'node:fs/promises'

const CHUNK = 1024 * 1024
const ZEROS = Buffer.alloc(CHUNK)

function cipherFor (seed: string): ReturnType<typeof createCipheriv> {
  const key = createHash('sha256').update(`cairn-bench:${seed}`).digest()
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
}

/** `total` bytes of the stream named `seed`, in chunks of at most 1 MiB. */
export function * prngChunks (total: number, seed: string, chunk = CHUNK): Generator<Buffer> {
  const c = cipherFor(seed)
  let left = total
  while (left > 0) {
    const n = Math.min(chunk, left)
    yield c.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n))
    left -= n
  }
}

/** Small deterministic buffers (e.g. one per small-file request). */
export function prngBytes (n: number, seed: string): Buffer {
  return cipherFor(seed).update(Buffer.alloc(n))
}

/** Write `total` bytes of stream `seed` to `path`; returns their SHA-256 (hex). */
export async function writeDataFile (path: string, total: number, seed: string): Promise<string> {
  const fh = await open(path, 'w')
  const h = createHash('sha256')
  try {
    for (const chunk of prngChunks(total, seed)) {
      h.update(chunk)
      let off = 0
      while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten
    }
  } finally {
    await fh.close()
  }
  return h.digest('hex')
}
