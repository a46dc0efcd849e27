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

export interface BlockLocation { key: string, offset: number, length: number }

export interface BlockSource {
  /** where a block's bytes are in the blob store */
  locate: (cid: CID) => Promise<BlockLocation>
  /** the block `cid` (an internal node, or a leaf read alone) at `loc` */
  read: (cid: CID, loc: BlockLocation, signal?: AbortSignal) => Promise<Uint8Array>
  readSpan: (key: string, offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>
}

/** a piece of file data: either bytes already in hand, or a leaf to fetch */
type Piece =
  | { kind: 'bytes', bytes: Uint8Array }
  | { kind: 'leaf', cid: CID, loc: BlockLocation, skip: number, take: number }

/** largest single read when coalescing neighbouring leaves */
const SPAN_BYTES = 4 * 1024 * 1024
/** leaves this close in the pack (frame heads between them) are read together */
const MAX_GAP = 512

function leafData (cid: CID, block: Uint8Array): Uint8Array {
  if (cid.code === raw.code) return block
  const node = dagPb.decode(block)
  if (node.Links.length > 0) throw new CairnError('unavailable', `block ${cid.toString()} is not a leaf`)
  if (node.Data === undefined) return new Uint8Array(0)
  return UnixFS.unmarshal(node.Data).data ?? new Uint8Array(0)
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
    : dagPb.decode(await src.read(cid, await src.locate(cid), signal))
  const fs = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data)
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
    yield * pieces(src, child, start - childStart, end - childStart, signal)
  }
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

async function fetchSpan (src: BlockSource, group: Piece[], signal?: AbortSignal): Promise<Uint8Array[]> {
  const first = group[0]
  if (first.kind === 'bytes') return [first.bytes]
  const last = group[group.length - 1] as Extract<Piece, { kind: 'leaf' }>
  const base = first.loc.offset
  const buf = await src.readSpan(first.loc.key, base, last.loc.offset + last.loc.length - base, signal)
  const out: Uint8Array[] = []
  for (const p of group as Array<Extract<Piece, { kind: 'leaf' }>>) {
    const data = leafData(p.cid, buf.subarray(p.loc.offset - base, p.loc.offset - base + p.loc.length))
    if (p.skip + p.take > data.byteLength) throw new CairnError('unavailable', `block ${p.cid.toString()} is shorter than its parent says`)
    out.push(data.subarray(p.skip, p.skip + p.take))
  }
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
  const fetch = (group: Piece[]): Promise<Uint8Array[]> => {
    const p = fetchSpan(src, group, signal)
    // a prefetch the consumer never reaches (it stopped early) must not reject unobserved
    p.catch(() => {})
    return p
  }
  let pending = next.done === true ? undefined : fetch(next.value)
  while (pending !== undefined) {
    next = await groups.next()
    const following = next.done === true ? undefined : fetch(next.value)
    for (const chunk of await pending) {
      if (chunk.byteLength > 0) yield chunk
    }
    pending = following
  }
}
