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
  const body = dagCbor.encode({ version: 1, roots: [root] })
  const prefix = varint.encodeTo(body.byteLength, new Uint8Array(varint.encodingLength(body.byteLength)))
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.byteLength)
  return out
}

/** One block frame; `dataOffset` is where the block bytes start inside the frame. */
export function encodeBlockFrame (cid: CID, bytes: Uint8Array): { frame: Uint8Array, dataOffset: number } {
  const cidBytes = cid.bytes
  const len = cidBytes.byteLength + bytes.byteLength
  const lenBytes = varint.encodingLength(len)
  const frame = new Uint8Array(lenBytes + len)
  varint.encodeTo(len, frame, 0)
  frame.set(cidBytes, lenBytes)
  frame.set(bytes, lenBytes + cidBytes.byteLength)
  return { frame, dataOffset: lenBytes + cidBytes.byteLength }
}
