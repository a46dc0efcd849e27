/**
 * CARv1 framing for packs: a header naming the root, then one frame per block,
 * varint(len(cid) + len(bytes)) | cid | bytes. The frames are written as the importer makes
 * blocks (@ipld/car's writers want the whole list of roots first and own the output stream,
 * while a pack is appended at known offsets and its root patched in at the end).
 * Packs are read back with @ipld/car's own reader/indexer in fsck and tests.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { varint } from 'multiformats'

export function encodeCarHeader (root: CID): Uint8Array {
  return encodeCarHeaderRoots([root])
}

/** A CARv1 header naming several roots (a pack made from an imported CAR keeps the CAR's roots). */
export function encodeCarHeaderRoots (roots: CID[]): Uint8Array {
  const body = dagCbor.encode({ version: 1, roots })
  const prefix = varint.encodeTo(body.byteLength, new Uint8Array(varint.encodingLength(body.byteLength)))
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.byteLength)
  return out
}

/**
 * The head of one block frame (length varint and CID); the block bytes follow it as they
 * are, so a frame is written as [head, bytes] without copying the block.
 */
export function encodeBlockFrameHead (cid: CID, blockLength: number): Uint8Array {
  const cidBytes = cid.bytes
  const len = cidBytes.byteLength + blockLength
  const lenBytes = varint.encodingLength(len)
  const head = new Uint8Array(lenBytes + cidBytes.byteLength)
  varint.encodeTo(len, head, 0)
  head.set(cidBytes, lenBytes)
  return head
}
