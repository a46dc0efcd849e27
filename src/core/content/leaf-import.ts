/**
 * The leaf stage of the UnixFS importer, replaced for speed; ipfs-unixfs-importer still
 * builds everything above the leaves (layout, parent nodes, directories, HAMT shards).
 *
 * Why: with the importer's own chunker and bufferImporter (dag-builder/buffer-importer.js),
 * a 1 GiB upload cost ~10 CPU-s on this 2-core machine against ~3 for the importer alone. It
 * copies every byte three times (the chunker joins the pieces it is fed; UnixFS marshal copies
 * the chunk into a protobuf; dag-pb copies that into the block), each copy a fresh buffer that
 * V8 must collect (86-106 full GCs per GiB, ~5 CPU-s in GC threads), and it hashes every block
 * synchronously on the main thread, which also parses the upload, so the second core idles.
 * Here:
 *
 *  - `leafChunker` copies each incoming piece once, into a chunk buffer with room around the
 *    chunk for the leaf's dag-pb/UnixFS framing, so a leaf block is made in place;
 *  - chunk buffers after a file's first are shared memory, hashed in place by a worker
 *    thread (sha256-pool.ts: hashing on the other core) and reused once their block is stored
 *    (`ChunkBuffers`), so an upload allocates almost nothing per byte;
 *  - `leafImporter` starts each block's hash as soon as its chunk is read, keeps
 *    blockWriteConcurrency blocks in flight as the default does (8 MiB of them, see
 *    `fastLeafOptions`), puts blocks into the blockstore in file order (the pack reader
 *    relies on leaves being in order), and lets the importer read on once a batch is handed
 *    to the blockstore rather than once it is written (with a bound on unwritten bytes).
 *
 * The blocks and CIDs are exactly the default's: the same leaf encoding (UnixFS `file` leaves
 * in dag-pb for unixfs-v0-2015, raw leaves for unixfs-v1-2025), the same CID versions and
 * codecs, the same write order (for the same blockWriteConcurrency, which decides where the
 * parents fall among the leaves). The framing bytes are not written by hand: they come from
 * ipfs-unixfs and @ipld/dag-pb themselves (they depend only on the data's length), see
 * `leafFraming`. test/content-ingest.test.ts compares everything against the default.
 *
 * Measured on this machine (1 GiB through /api/v0/put, server CPU-s per GiB, paired runs):
 * default ~10.7; WebCrypto's subtle.digest for the hashing (libuv's threadpool, but it copies
 * every block and costs the main thread ~85 µs per block) ~12.6; the worker pool on shared
 * buffers without reuse ~7.4, but shared buffers are not counted as GC pressure by V8, so
 * their garbage piled up to 1.1 GiB RSS; with reuse ~5.9; with 8 MiB batches and reading on
 * before the writes end ~4.8.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { BufferImporter, BufferImporterResult, ImporterOptions } from 'ipfs-unixfs-importer'
import type { Chunker } from 'ipfs-unixfs-importer/chunker'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import type { ImportProfile } from './profiles.js'

/** bytes kept free before and after a chunk for its leaf framing (it needs at most 11 and 5) */
const HEAD_ROOM = 16
const TAIL_ROOM = 16
/** a file's first chunk buffer starts this small and grows, so a small file costs little */
const FIRST_CHUNK_MIN = 16 * 1024

/**
 * Chunk buffers. A file's first chunk gets a plain buffer of its own: the importer may keep
 * that leaf (when it is the whole file, it becomes the file's node). Every later chunk gets
 * a SharedArrayBuffer, which hashing workers read in place, taken from a free list and given
 * back once its block is hashed and stored.
 *
 * Giving buffers back is only safe with a blockstore whose `put` no longer needs the bytes
 * once it resolves (ingest's has written them to the pack by then). Reuse is what keeps an
 * upload from allocating a gigabyte of buffers per gigabyte, and it matters twice over for
 * shared buffers: V8 does not count them as memory pressure, so unreused ones are collected
 * late and pile up.
 */
export class ChunkBuffers {
  private readonly free = new Map<number, SharedArrayBuffer[]>()
  private freeBytes = 0

  /** `keepBytes`: most bytes kept on the free lists (what an idle process holds) */
  constructor (private readonly keepBytes = 32 * 1024 * 1024) {}

  /** a plain buffer of `size` bytes, never reused */
  own (size: number): Uint8Array {
    const b = Buffer.allocUnsafeSlow(size) // every byte is written before it is read
    return new Uint8Array(b.buffer, b.byteOffset, size)
  }

  /** a shared buffer of `size` bytes, to be given back with `give` */
  take (size: number): Uint8Array {
    const list = this.free.get(size)
    const sab = list?.pop()
    if (sab !== undefined) {
      this.freeBytes -= size
      return new Uint8Array(sab)
    }
    return new Uint8Array(new SharedArrayBuffer(size))
  }

  /** give back the buffer under `view` (from `take`); nothing may use it afterwards */
  give (view: Uint8Array): void {
    const sab = view.buffer
    if (!(sab instanceof SharedArrayBuffer) || this.freeBytes + sab.byteLength > this.keepBytes) return
    let list = this.free.get(sab.byteLength)
    if (list === undefined) this.free.set(sab.byteLength, list = [])
    list.push(sab)
    this.freeBytes += sab.byteLength
  }
}

/** chunks made by leafChunker: views with HEAD_ROOM/TAIL_ROOM free bytes around them */
const framable = new WeakSet<Uint8Array>()
/** chunks in a buffer from ChunkBuffers.take, given back once their block is stored */
const taken = new WeakSet<Uint8Array>()

/**
 * A fixed-size chunker with the default's output (chunks of exactly chunkSize bytes, then the
 * rest; one empty chunk for an empty file) that copies every byte exactly once.
 */
export function leafChunker (opts: { chunkSize: number, rawLeaves: boolean, buffers: ChunkBuffers }): Chunker {
  const head = opts.rawLeaves ? 0 : HEAD_ROOM
  const tail = opts.rawLeaves ? 0 : TAIL_ROOM
  const size = opts.chunkSize
  return async function * leafChunks (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let buf: Uint8Array | undefined
    let cap = 0 // data capacity of buf
    let fill = 0
    let first = true
    const chunk = (n: number): Uint8Array => {
      const c = (buf as Uint8Array).subarray(head, head + n)
      if (!opts.rawLeaves) framable.add(c)
      if (!first) taken.add(c)
      first = false
      buf = undefined
      return c
    }
    for await (const piece of source) {
      let off = 0
      while (off < piece.byteLength) {
        if (buf === undefined) {
          cap = first ? Math.min(size, Math.max(FIRST_CHUNK_MIN, piece.byteLength - off)) : size
          buf = first ? opts.buffers.own(head + cap + tail) : opts.buffers.take(head + cap + tail)
          fill = 0
        } else if (fill === cap) { // only a first chunk can be full below `size`: grow it
          cap = Math.min(size, cap * 4)
          const bigger = opts.buffers.own(head + cap + tail)
          bigger.set(buf.subarray(head, head + fill), head)
          buf = bigger
        }
        const n = Math.min(cap - fill, piece.byteLength - off)
        buf.set(piece.subarray(off, off + n), head + fill)
        fill += n
        off += n
        if (fill === size) yield chunk(size)
      }
    }
    if (buf !== undefined && fill > 0) yield chunk(fill)
    else if (first) yield new Uint8Array(0)
  }
}

interface Framing { prefix: Uint8Array, suffix: Uint8Array }
const framings = new Map<string, Framing>()

/**
 * The bytes ipfs-unixfs and @ipld/dag-pb put before and after `n` (> 0) bytes of data in a
 * leaf block, encoded as the default bufferImporter encodes a leaf. They depend only on the
 * length, so the libraries encode a leaf of zeros and one of 0xff bytes, and what differs is
 * the data; what lies around it is kept (per length: in practice the chunk size and a few
 * last-chunk sizes).
 */
export function leafFraming (n: number, leafType: 'file' | 'raw'): Framing {
  const key = `${leafType}:${n}`
  let f = framings.get(key)
  if (f !== undefined) return f
  const encode = (fill: number): Uint8Array => dagPb.encode({
    Data: new UnixFS({ type: leafType, data: new Uint8Array(n).fill(fill) }).marshal(),
    Links: []
  })
  const a = encode(0)
  const b = encode(0xff)
  let p = 0
  while (p < a.length && a[p] === b[p]) p++
  const suffix = a.subarray(p + n)
  if (n <= 0 || a.length !== b.length || p + n > a.length || a[p + n - 1] !== 0 || b[p + n - 1] !== 0xff ||
      !sameBytes(suffix, b.subarray(p + n))) {
    throw new Error(`cannot find the framing of a ${n}-byte UnixFS leaf`)
  }
  f = { prefix: a.slice(0, p), suffix: suffix.slice() }
  if (framings.size >= 64) framings.clear()
  framings.set(key, f)
  return f
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** the dag-pb leaf block of `chunk`: in place around it when leafChunker left room, else encoded */
function leafBlock (chunk: Uint8Array, leafType: 'file' | 'raw'): Uint8Array {
  if (chunk.byteLength > 0 && framable.has(chunk)) {
    const { prefix, suffix } = leafFraming(chunk.byteLength, leafType)
    if (prefix.length <= HEAD_ROOM && suffix.length <= TAIL_ROOM) {
      const block = new Uint8Array(chunk.buffer, chunk.byteOffset - prefix.length, prefix.length + chunk.byteLength + suffix.length)
      block.set(prefix, 0)
      block.set(suffix, prefix.length + chunk.byteLength)
      return block
    }
  }
  // the default bufferImporter's own encoding
  return dagPb.encode({ Data: new UnixFS({ type: leafType, data: chunk }).marshal(), Links: [] })
}

export interface LeafImporterOptions {
  cidVersion: 0 | 1
  rawLeaves: boolean
  leafType: 'file' | 'raw'
  /** sha2-256, possibly asynchronous (then blocks are hashed concurrently) */
  hasher: MultihashHasher<0x12>
  /** where leafChunker's buffers go back to once their block is stored */
  buffers: ChunkBuffers
  /** most leaf bytes handed to the blockstore and not yet stored before reading waits (16 MiB) */
  maxUnstoredBytes?: number
}

/**
 * A bufferImporter (the importer's `bufferImporter` option) that makes the default's blocks
 * and CIDs; see the top of this file for what differs, which is where the work happens.
 *
 * One more difference: a task resolves once its block is handed to the blockstore, not once
 * it is stored. The importer waits for a whole batch of tasks before it reads on, and waiting
 * for the writes too put the thread pool's latency between every two batches (measured, 1 GiB
 * uploads paired: 5.3 -> 4.8 server CPU-s per GiB, 226 -> 252 MB/s). Writes still bound
 * memory: reading waits while more than `maxUnstoredBytes` are unstored, and a file's leaves
 * end (so its parents and root can be made) only once all are stored; a failed put fails the
 * import there.
 */
export function leafImporter (opts: LeafImporterOptions): BufferImporter {
  const codec = opts.rawLeaves ? raw.code : dagPb.code
  const version = opts.rawLeaves ? 1 : opts.cidVersion
  const maxUnstored = opts.maxUnstoredBytes ?? 16 * 1024 * 1024
  return async function * leaves (file, blockstore) {
    let first = true
    /** settles once every block read so far has been handed to the blockstore */
    let handed: Promise<void> = Promise.resolve()
    /** puts not yet known to be stored, oldest first */
    const unstored: Array<{ stored: Promise<void>, bytes: number }> = []
    let unstoredBytes = 0

    for await (const chunk of file.content) {
      const block = opts.rawLeaves ? chunk : leafBlock(chunk, opts.leafType)
      // The UnixFS node of a dag-pb leaf. The importer reads only its size from it when it
      // links the leaf into the parent (blockSizes and data count alike). The first leaf keeps
      // its data (if it is the whole file, its node is the file's); later ones carry only the
      // size, so the importer does not keep up to 174 chunks alive until their parent is made.
      const unixfs = opts.rawLeaves
        ? undefined
        : first
          ? new UnixFS({ type: opts.leafType, data: chunk })
          : new UnixFS({ type: opts.leafType, blockSizes: [BigInt(chunk.byteLength)] })
      first = false

      const digest = opts.hasher.digest(block) // hashing starts now, alongside what follows
      const previous = handed
      let cid: CID | undefined
      let put: Promise<unknown> | undefined
      handed = (async () => {
        const mh = await digest
        await previous // blocks go to the blockstore in file order, whichever hash ends first
        cid = CID.create(version, codec, mh)
        put = Promise.resolve(blockstore.put(cid, block))
      })()
      handed.catch(() => {}) // reported by the task below or by `stored`
      const stored = handed.then(async () => {
        await put
        // Stored, so the buffer may take a later chunk. The importer drops `block` of every
        // leaf but a file's first (dag-builder/file.js), which is never in a taken buffer.
        if (taken.has(chunk)) opts.buffers.give(chunk)
      })
      stored.catch(() => {}) // reported below
      unstored.push({ stored, bytes: block.byteLength })
      unstoredBytes += block.byteLength

      yield async (): Promise<BufferImporterResult> => {
        // The importer runs these tasks a batch at a time and passes each result on as soon as
        // it resolves; a parent node is written when its last leaf arrives. Waiting until every
        // block read so far (the whole batch: it is read before its tasks start) is with the
        // blockstore keeps the default's write order: a batch's leaves, then their parent.
        await handed
        return { cid: cid as CID, unixfs, size: BigInt(block.byteLength), block }
      }

      while (unstoredBytes > maxUnstored) {
        const oldest = unstored.shift() as { stored: Promise<void>, bytes: number }
        unstoredBytes -= oldest.bytes
        await oldest.stored
      }
    }
    await Promise.all(unstored.map(async u => { await u.stored }))
  }
}

/**
 * What ipfs-unixfs-importer's `profile` option sets for leaves (index.js in v17). The tests
 * against the default importer (test/content-ingest.test.ts) fail if they ever differ.
 */
export const PROFILE_LEAVES: Record<ImportProfile, { chunkSize: number, cidVersion: 0 | 1, rawLeaves: boolean, leafType: 'file' }> = {
  'unixfs-v0-2015': { chunkSize: 262_144, cidVersion: 0, rawLeaves: false, leafType: 'file' },
  'unixfs-v1-2025': { chunkSize: 1_048_576, cidVersion: 1, rawLeaves: true, leafType: 'file' }
}

/**
 * Leaf bytes in flight per import: blockWriteConcurrency is this over the chunk size (32
 * blocks for unixfs-v0-2015, 8 for unixfs-v1-2025). The importer hashes and writes a batch of
 * that many blocks, then waits for all of them before it reads on; each wait needs the hashing
 * worker and the thread pool to be scheduled, which on a busy 2-core machine takes a while.
 * Paired uploads of 1 GiB (v0) with a load average of ~3: batches of 10 blocks (the importer's
 * default) 202 MB/s and 6.7 server CPU-s per GiB, of 32 blocks 238 MB/s and 5.0 CPU-s per GiB,
 * of 64 no better than 32.
 */
const BYTES_IN_FLIGHT = 8 * 1024 * 1024

/** importer options replacing the chunker and the leaf stage for `profile` (pass `profile` too) */
export function fastLeafOptions (profile: ImportProfile, hasher: MultihashHasher<0x12>, buffers: ChunkBuffers): Pick<ImporterOptions, 'chunker' | 'bufferImporter' | 'blockWriteConcurrency'> {
  const p = PROFILE_LEAVES[profile]
  return {
    chunker: leafChunker({ chunkSize: p.chunkSize, rawLeaves: p.rawLeaves, buffers }),
    bufferImporter: leafImporter({ cidVersion: p.cidVersion, rawLeaves: p.rawLeaves, leafType: p.leafType, hasher, buffers }),
    blockWriteConcurrency: blockWriteConcurrency(profile)
  }
}

/** the importer's blockWriteConcurrency for `profile` (it decides where parents fall among the leaves) */
export function blockWriteConcurrency (profile: ImportProfile): number {
  return Math.max(4, Math.floor(BYTES_IN_FLIGHT / PROFILE_LEAVES[profile].chunkSize))
}
