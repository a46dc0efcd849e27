/**
 * Import profiles, named as Kubo names them (IPIP-499). The importer implements both; we
 * only name them and pick the placeholder root used to reserve the pack header.
 */
import { CID } from 'multiformats/cid'
import * as dagPb from '@ipld/dag-pb'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'

export type ImportProfile = 'unixfs-v0-2015' | 'unixfs-v1-2025'
export const IMPORT_PROFILES: readonly ImportProfile[] = ['unixfs-v0-2015', 'unixfs-v1-2025']

export function isImportProfile (s: unknown): s is ImportProfile {
  return typeof s === 'string' && (IMPORT_PROFILES as readonly string[]).includes(s)
}

/**
 * A CID that encodes to the same number of bytes as any root the profile can produce
 * (CIDv0: 34 bytes; CIDv1 raw or dag-pb with sha2-256: 36 bytes), so the CAR header written
 * before the import can be overwritten in place with the real root after it.
 */
export function placeholderRoot (profile: ImportProfile): CID {
  const digest = createDigest(sha256.code, new Uint8Array(32))
  return profile === 'unixfs-v0-2015' ? CID.createV0(digest) : CID.createV1(dagPb.code, digest)
}
