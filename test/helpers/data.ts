import { createCipheriv, createHash } from 'node:crypto'

/**
 * Deterministic pseudo-random bytes, so failures reproduce: the AES-256-CTR keystream under
 * a key derived from `seed` (fast: hundreds of MB/s, where hashing a counter is not).
 */
export function deterministicBytes (n: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(n)), cipher.final()])
}
