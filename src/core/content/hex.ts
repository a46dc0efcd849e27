import type { CID } from 'multiformats/cid'

/** Blocks are indexed by multihash, so the same bytes named raw or dag-pb, v0 or v1, are one block. */
export function mhKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('hex')
}
