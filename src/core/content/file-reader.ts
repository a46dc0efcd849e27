/**
 * Reading a UnixFS file's bytes straight from its pack.
 *
 * Why not ipfs-unixfs-exporter's `content()`: it walks the whole DAG into an unbounded
 * queue without waiting for the consumer (a 5 GB download held gigabytes in memory), and it
 * reads one block per call. Here the internal nodes are walked lazily in file order, the
 * leaves' block locations come from the pack index, and leaves that lie next to each other
 * in the pack (the importer writes them in order) are fetched with one large read. Memory
 * is one span buffer plus one prefetched span, whatever the file size. The exporter is
 * still used to resolve paths and directories.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CairnError } from '../errors.js'
import { handOut, SPAN_BUFFER_BYTES } from './span-pool.js'

export interface BlockLocation { key: string, offset: number, length: number }

export interface BlockSource {
  /** where a block's bytes are in the blob store */
  locate: (cid: CID) => Promise<BlockLocation>
  /** the block `cid` (an internal node, or a leaf read alone) at `loc` */
  read: (cid: CID, loc: BlockLocation, signal?: AbortSignal) => Promise<Uint8Array>
  /** `length` bytes at `offset` of blob `key`, in a buffer the caller owns (it is overwritten) */
  readSpan: (key: string, offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>
  /** the decoded dag-pb node `cid` at `loc`, when the source keeps decoded nodes (else `read` and decode) */
  node?: (cid: CID, loc: BlockLocation, signal?: AbortSignal) => Promise<dagPb.PBNode>
}

/** a piece of file data: either bytes already in hand, or a leaf to fetch */
type Piece =
  | { kind: 'bytes', bytes: Uint8Array }
  | { kind: 'leaf', cid: CID, loc: BlockLocation, skip: number, take: number }

/** largest single read when coalescing neighbouring leaves (one pooled buffer) */
const SPAN_BYTES = SPAN_BUFFER_BYTES
/** leaves this close in the pack (frame heads between them) are read together */
const MAX_GAP = 512

/** a leaf's file data, or undefined when the dag-pb block has links after all (see pieces) */
function leafData (cid: CID, block: Uint8Array): Uint8Array | undefined {
  if (cid.code === raw.code) return block
  const plain = plainLeafData(block)
  if (plain !== undefined) return plain
  const node = dagPb.decode(block)
  if (node.Links.length > 0) return undefined
  if (node.Data === undefined) return new Uint8Array(0)
  const fs = UnixFS.unmarshal(node.Data)
  if (fs.type !== 'file' && fs.type !== 'raw') throw new CairnError('unsupported_media', `${cid.toString()} is not a UnixFS file`)
  return fs.data ?? new Uint8Array(0)
}

/**
 * The file bytes of a dag-pb leaf as the importers write it (a node with Data only: a UnixFS
 * file or raw node of its bytes and file size, no block sizes), found by reading the few
 * protobuf field heads rather than decoding the node into objects (four leaves per MiB
 * sent). undefined for any other shape, which the full decoder then judges.
 */
function plainLeafData (block: Uint8Array): Uint8Array | undefined {
  // PBNode: field 1 (Data, length-delimited) and nothing else; no field 2 (Links)
  if (block.byteLength < 2 || block[0] !== 0x0a) return undefined
  at = 1
  const len = varint(block)
  const end = at + len
  if (len < 0 || end !== block.byteLength) return undefined
  let type = -1
  let data: Uint8Array | undefined
  while (at < end) {
    const key = block[at++]
    if (key === 0x08) { // Type
      type = varint(block)
    } else if (key === 0x12) { // Data
      const n = varint(block)
      if (n < 0 || at + n > end) return undefined
      data = block.subarray(at, at + n)
      at += n
    } else if (key === 0x18) { // filesize
      if (varint(block) < 0) return undefined
    } else {
      return undefined
    }
  }
  // UnixFS types: 0 raw, 2 file
  if (at !== end || (type !== 0 && type !== 2)) return undefined
  return data ?? block.subarray(end, end)
}

/** read position of varint (module state: no tuple per call) */
let at = 0

/** the unsigned varint at `at` (advancing it), or -1 past the block's end or beyond 2^49 */
function varint (b: Uint8Array): number {
  let v = 0
  let mul = 1
  for (let i = 0; i < 7; i++) {
    if (at >= b.byteLength) return -1
    const byte = b[at++]
    v += (byte & 0x7f) * mul
    if (byte < 0x80) return v
    mul *= 128
  }
  return -1
}

/** a file's root block that the caller already has: raw bytes, or a decoded dag-pb node */
export type KnownRoot = Uint8Array | dagPb.PBNode

/**
 * File order walk of the DAG under `cid`, yielding only what overlaps [start, end) of the
 * file. Internal nodes are read (they are small); leaves are yielded unread. `known` is the
 * block of `cid` when the caller has it already (path resolution read it), so it is not read
 * again: a single-block file then needs no read at all.
 */
async function * pieces (src: BlockSource, cid: CID, start: number, end: number, signal?: AbortSignal, known?: KnownRoot): AsyncGenerator<Piece> {
  if (cid.code === raw.code) {
    if (known instanceof Uint8Array) {
      const s = Math.max(0, start)
      const e = Math.min(known.byteLength, end)
      if (e > s) yield { kind: 'bytes', bytes: known.subarray(s, e) }
      return
    }
    const loc = await src.locate(cid)
    const s = Math.max(0, start)
    const e = Math.min(loc.length, end)
    if (e > s) yield { kind: 'leaf', cid, loc, skip: s, take: e - s }
    return
  }
  // dag-pb: a leaf is read whole later; a node with links is read now to walk its children
  const node = known !== undefined && !(known instanceof Uint8Array)
    ? known
    : await readNode(src, cid, await src.locate(cid), signal)
  const fs = unixfsOf(node)
  if (fs === undefined || (fs.type !== 'file' && fs.type !== 'raw')) throw new CairnError('unsupported_media', `${cid.toString()} is not a UnixFS file`)
  let pos = 0
  const data = fs.data ?? new Uint8Array(0)
  if (data.byteLength > 0) {
    const s = Math.max(0, start)
    const e = Math.min(data.byteLength, end)
    if (e > s) yield { kind: 'bytes', bytes: data.subarray(s, e) }
    pos = data.byteLength
  }
  for (let i = 0; i < node.Links.length; i++) {
    if (pos >= end) return
    const size = Number(fs.blockSizes[i] ?? 0n)
    const childStart = pos
    pos += size
    if (pos <= start) continue
    signal?.throwIfAborted()
    const child = node.Links[i].Hash
    if (child.code === dagPb.code) {
      // A dag-pb child whose block is at least as long as its file bytes holds them itself:
      // a leaf (unixfs-v0-2015's leaves are dag-pb), fetched later with its neighbours in one
      // read. An internal node's block (links only) is far shorter than the bytes under it;
      // one over a few tiny leaves can pass this test, and fetchSpan walks it after all.
      const loc = await src.locate(child)
      if (loc.length >= size) {
        const s = Math.max(0, start - childStart)
        const e = Math.min(size, end - childStart)
        if (e > s) yield { kind: 'leaf', cid: child, loc, skip: s, take: e - s }
        continue
      }
    }
    yield * pieces(src, child, start - childStart, end - childStart, signal)
  }
}

/** UnixFS data of nodes a source keeps decoded (BlockSource.node), parsed once */
const unixfsOfNode = new WeakMap<dagPb.PBNode, UnixFS>()

function unixfsOf (node: dagPb.PBNode): UnixFS | undefined {
  if (node.Data === undefined) return undefined
  let fs = unixfsOfNode.get(node)
  if (fs === undefined) {
    fs = UnixFS.unmarshal(node.Data)
    unixfsOfNode.set(node, fs)
  }
  return fs
}

async function readNode (src: BlockSource, cid: CID, loc: BlockLocation, signal?: AbortSignal): Promise<dagPb.PBNode> {
  return src.node !== undefined ? await src.node(cid, loc, signal) : dagPb.decode(await src.read(cid, loc, signal))
}

/** Group consecutive leaves that are neighbours in one pack, up to SPAN_BYTES. */
async function * spans (source: AsyncGenerator<Piece>): AsyncGenerator<Piece[]> {
  let group: Piece[] = []
  let spanStart = 0
  let spanEnd = 0
  let key = ''
  for await (const p of source) {
    if (p.kind === 'leaf' && group.length > 0 && group[0].kind === 'leaf' && p.loc.key === key &&
        p.loc.offset >= spanEnd && p.loc.offset - spanEnd <= MAX_GAP && p.loc.offset + p.loc.length - spanStart <= SPAN_BYTES) {
      group.push(p)
      spanEnd = p.loc.offset + p.loc.length
      continue
    }
    if (group.length > 0) yield group
    group = [p]
    if (p.kind === 'leaf') {
      key = p.loc.key
      spanStart = p.loc.offset
      spanEnd = p.loc.offset + p.loc.length
    }
  }
  if (group.length > 0) yield group
}

/**
 * The file data of a group of pieces as one buffer. The leaves of a span are read with one
 * read, and their data (between frame heads and dag-pb framing) is moved together to the
 * front of that same buffer, so a span goes to the socket as one write of up to 4 MiB
 * rather than one write per leaf: a loopback write costs about as much again per call as
 * its copy, and writes larger than the socket's buffer each wait for a 'drain' (measured on
 * this machine: plain Node piping a file to a response, 64 KiB writes 1.4 CPU-s per GiB,
 * 4 MiB writes 0.4).
 */
async function fetchSpan (src: BlockSource, group: Piece[], signal?: AbortSignal): Promise<Uint8Array> {
  const first = group[0]
  if (first.kind === 'bytes') return first.bytes
  const last = group[group.length - 1] as Extract<Piece, { kind: 'leaf' }>
  const base = first.loc.offset
  const buf = await src.readSpan(first.loc.key, base, last.loc.offset + last.loc.length - base, signal)
  let filled = 0
  for (const p of group as Array<Extract<Piece, { kind: 'leaf' }>>) {
    const data = leafData(p.cid, buf.subarray(p.loc.offset - base, p.loc.offset - base + p.loc.length)) ??
      // not a leaf after all (a node over a few tiny leaves): its bytes, read on their own
      Buffer.concat(await collect(readFileRange(src, p.cid, 0, p.skip + p.take, signal)))
    if (p.skip + p.take > data.byteLength) throw new CairnError('unavailable', `block ${p.cid.toString()} is shorter than its parent says`)
    const piece = data.subarray(p.skip, p.skip + p.take)
    // pieces lie in buf in order and `filled` never passes the next one's start, so moving
    // each one down (memmove semantics) never overwrites data not yet moved
    if (piece.buffer === buf.buffer && piece.byteOffset >= buf.byteOffset && piece.byteOffset + piece.byteLength <= buf.byteOffset + buf.byteLength) {
      const from = piece.byteOffset - buf.byteOffset
      if (from !== filled) buf.copyWithin(filled, from, from + piece.byteLength)
    } else {
      buf.set(piece, filled) // a decoder that copied (not the case with @ipld/dag-pb and ipfs-unixfs)
    }
    filled += piece.byteLength
  }
  // the one chunk of this span buffer: the body pump may recycle it once sent (span-pool.ts)
  return handOut(buf.subarray(0, filled))
}

async function collect (chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of chunks) out.push(c)
  return out
}

/**
 * The bytes [start, end) of the file at `cid`. One span is fetched ahead while the previous
 * one is consumed, so reads overlap sending without memory growing.
 */
export async function * readFileRange (src: BlockSource, cid: CID, start: number, end: number, signal?: AbortSignal, known?: KnownRoot): AsyncGenerator<Uint8Array> {
  if (end <= start) return
  const groups = spans(pieces(src, cid, start, end, signal, known))
  let next = await groups.next()
  const fetch = (group: Piece[]): Promise<Uint8Array> => {
    const p = fetchSpan(src, group, signal)
    // a prefetch the consumer never reaches (it stopped early) must not reject unobserved
    p.catch(() => {})
    return p
  }
  let pending = next.done === true ? undefined : fetch(next.value)
  while (pending !== undefined) {
    next = await groups.next()
    const following = next.done === true ? undefined : fetch(next.value)
    const chunk = await pending
    if (chunk.byteLength > 0) yield chunk
    pending = following
  }
}
