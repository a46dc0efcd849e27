/**
 * Blocks of any codec Cairn meets in CARs and on the gateway: verifying bytes against their
 * CID's multihash, and listing a block's links (dag-pb, dag-cbor, dag-json; raw, json and
 * plain cbor have none). Identity CIDs carry their bytes in the CID itself.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as json from 'multiformats/codecs/json'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { CairnError, invalid } from '../errors.js'

export const CODEC = { dagPb: dagPb.code, raw: raw.code, dagCbor: dagCbor.code, dagJson: dagJson.code, json: json.code, cbor: 0x51 } as const

const hashers = new Map<number, { digest: (b: Uint8Array) => Promise<{ digest: Uint8Array }> | { digest: Uint8Array } }>([
  [sha256.code, sha256],
  [sha512.code, sha512]
])

export function isIdentity (cid: CID): boolean {
  return cid.multihash.code === identity.code
}

/** The bytes of an identity CID (its digest is the block). */
export function identityBytes (cid: CID): Uint8Array {
  return cid.multihash.digest
}

/** Throws invalid_argument unless `bytes` hash to `cid`'s multihash. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  if (isIdentity(cid)) {
    if (!equalBytes(cid.multihash.digest, bytes)) throw invalid(`block ${cid.toString()} does not match its CID`)
    return
  }
  const hasher = hashers.get(cid.multihash.code)
  if (hasher === undefined) throw invalid(`block ${cid.toString()}: unsupported hash function 0x${cid.multihash.code.toString(16)}`)
  const { digest } = await hasher.digest(bytes)
  if (!equalBytes(digest, cid.multihash.digest)) throw invalid(`block ${cid.toString()} does not match its CID`)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** The CIDs a block links to, in the order a depth-first walk visits them. */
export function linksOf (cid: CID, bytes: Uint8Array): CID[] {
  try {
    switch (cid.code) {
      case dagPb.code: return dagPb.decode(bytes).Links.map(l => l.Hash)
      case dagCbor.code: return [...cidsIn(dagCbor.decode(bytes))]
      case dagJson.code: return [...cidsIn(dagJson.decode(bytes))]
      default: return []
    }
  } catch (err) {
    throw new CairnError('invalid_argument', `block ${cid.toString()} cannot be decoded: ${(err as Error).message}`)
  }
}

/** Every CID inside a decoded dag-cbor/dag-json value, in document order. */
function * cidsIn (value: unknown): Generator<CID> {
  const c = CID.asCID(value)
  if (c !== null) { yield c; return }
  if (Array.isArray(value)) { for (const v of value) yield * cidsIn(v); return }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) yield * cidsIn(v)
  }
}

/** The gateway's response type for a block served as it is. */
export function codecContentType (code: number): string | undefined {
  switch (code) {
    case dagCbor.code: return 'application/vnd.ipld.dag-cbor'
    case dagJson.code: return 'application/vnd.ipld.dag-json'
    case json.code: return 'application/json'
    case CODEC.cbor: return 'application/cbor'
    default: return undefined
  }
}

/** Re-encode a dag-cbor/dag-json/json/cbor block in another of these codecs (the gateway's ?format=dag-json etc.). */
export function transcode (cid: CID, bytes: Uint8Array, to: 'dag-json' | 'dag-cbor' | 'json' | 'cbor'): Uint8Array {
  let value: unknown
  try {
    switch (cid.code) {
      case dagCbor.code: case CODEC.cbor: value = dagCbor.decode(bytes); break
      case dagJson.code: case json.code: value = dagJson.decode(bytes); break
      default: throw new Error('not a structured block')
    }
  } catch (err) {
    throw new CairnError('unsupported_media', `${cid.toString()} cannot be converted to ${to}: ${(err as Error).message}`)
  }
  try {
    if (to === 'dag-json' || to === 'json') return dagJson.encode(value)
    return dagCbor.encode(value)
  } catch (err) {
    throw new CairnError('unsupported_media', `${cid.toString()} cannot be converted to ${to}: ${(err as Error).message}`)
  }
}
