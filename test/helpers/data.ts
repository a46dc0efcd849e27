import { createHash } from 'node:crypto'

/** Deterministic pseudo-random bytes (a SHA-256 counter stream), so failures reproduce. */
export function deterministicBytes (n: number, seed: string): Buffer {
  const out = Buffer.alloc(n)
  let off = 0
  for (let i = 0; off < n; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off)
  return out
}
