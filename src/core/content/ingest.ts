/**
 * Streaming import into one pack: the UnixFS importer builds the DAG, with its leaf stage
 * replaced by leaf-import.ts (each byte copied once, leaves framed in place, hashed on another
 * core, chunk buffers reused); every block it makes is appended to a new pack as a CAR frame.
 * Memory stays bounded by the importer's concurrency, whatever the file size. On any failure
 * the pack is dropped.
 */
import { importer, type ImportCandidate, type ImporterOptions } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import type { BlobStore, PackSink } from '../ports/blob-store.js'
import { encodeBlockFrameHead, encodeCarHeader } from './car-frame.js'
import { mhKey } from './hex.js'
import { placeholderRoot, type ImportProfile } from './profiles.js'
import { blockWriteConcurrency, ChunkBuffers, fastLeafOptions, PROFILE_LEAVES } from './leaf-import.js'
import type { BufferImporter } from 'ipfs-unixfs-importer'
import type { Chunker } from 'ipfs-unixfs-importer/chunker'
import { UnixFS } from 'ipfs-unixfs'
import { offThreadSha256 } from './sha256-pool.js'

/** chunk buffers reused across imports (their blockstore below never keeps the bytes it is given) */
const chunkBuffers = new ChunkBuffers()

export interface BlockRecord {
  mh: string
  cid: string
  offset: number
  length: number
}

export interface ImportedNode {
  /** path inside the import ('' for a single file or the wrapping directory) */
  path: string
  cid: CID
  kind: 'file' | 'directory'
  /** file bytes for files; cumulative DAG bytes for directories */
  size: number
  dagSize: number
}

export interface IngestResult {
  packKey: string
  packSize: number
  root: ImportedNode
  /** everything below the root (files and directories of a folder import) */
  members: ImportedNode[]
  blocks: BlockRecord[]
  /** packs already recorded that hold the leaves (a file sent in parts: importParents) */
  partPacks?: string[]
}

export interface IngestOptions {
  profile: ImportProfile
  /** true for a folder: all candidates go into one wrapping directory, which is the root */
  wrapWithDirectory: boolean
  signal?: AbortSignal
  /** the leaf stage, when not leaf-import.ts's (replayLeaves: leaves already stored elsewhere) */
  leafStage?: LeafStage
}

type LeafStage = Pick<ImporterOptions, 'chunker' | 'bufferImporter' | 'blockWriteConcurrency'>

export async function ingest (
  blobs: Pick<BlobStore, 'createPack'>,
  candidates: AsyncIterable<ImportCandidate> | Iterable<ImportCandidate>,
  opts: IngestOptions
): Promise<IngestResult> {
  const header = encodeCarHeader(placeholderRoot(opts.profile))
  const sink = await blobs.createPack(header.byteLength)
  const { blocks, blockstore } = packBlockstore(sink, opts.signal)

  try {
    const nodes: ImportedNode[] = []
    for await (const entry of importer(candidates, blockstore, {
      profile: opts.profile,
      wrapWithDirectory: opts.wrapWithDirectory,
      // candidates may be parts of one request body: each must be read to its end before
      // the next exists, so files are imported one after another (blocks still in parallel).
      // It must stay 1: with more, the importer asks for the next part while one is unread,
      // which http/multipart.ts refuses (it would silently empty the unread part).
      fileImportConcurrency: 1,
      // leaves are chunked, framed and hashed by leaf-import.ts (hashing off the main thread,
      // chunk buffers reused: see there), with blockWriteConcurrency set to 8 MiB of blocks;
      // the importer builds the rest of the DAG as usual
      ...(opts.leafStage ?? fastLeafOptions(opts.profile, offThreadSha256(), chunkBuffers))
    })) {
      const type = entry.unixfs?.type
      const isDir = type === 'directory' || type === 'hamt-sharded-directory'
      const fileSize = entry.unixfs === undefined ? Number(entry.size) : Number(entry.unixfs.fileSize())
      nodes.push({
        path: entry.path ?? '',
        cid: entry.cid,
        kind: isDir ? 'directory' : 'file',
        size: isDir ? Number(entry.size) : fileSize,
        dagSize: Number(entry.size)
      })
    }
    opts.signal?.throwIfAborted()
    const root = nodes.pop()
    if (root === undefined) throw new Error('import produced nothing')
    await sink.complete(encodeCarHeader(root.cid))
    return {
      packKey: sink.key,
      packSize: sink.size,
      root: { ...root, path: '' },
      members: nodes,
      blocks: [...blocks.values()]
    }
  } catch (err) {
    await sink.abort()
    throw err
  }
}

/**
 * A blockstore whose `put` appends the block to `sink` as a CAR frame (once per multihash:
 * the same block twice in one DAG, e.g. zero chunks, is stored once) and records where.
 * `put` resolves once the bytes are written and keeps no reference to them: leaf-import.ts
 * reuses a block's buffer as soon as its put resolves.
 */
function packBlockstore (sink: PackSink, signal: AbortSignal | undefined): { blocks: Map<string, BlockRecord>, blockstore: { put: (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => Promise<CID> } } {
  const blocks = new Map<string, BlockRecord>()
  const blockstore = {
    put: async (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
      signal?.throwIfAborted()
      const mh = mhKey(cid)
      if (blocks.has(mh)) return cid
      const data = bytes instanceof Uint8Array ? bytes : await concat(bytes)
      const head = encodeBlockFrameHead(cid, data.byteLength)
      const rec: BlockRecord = { mh, cid: cid.toString(), offset: -1, length: data.byteLength }
      blocks.set(mh, rec)
      rec.offset = (await sink.append(head, data)) + head.byteLength
      return cid
    }
  }
  return { blocks, blockstore }
}

/**
 * A part is acknowledged once its pack is durable, and the client waits for that before it
 * sends the next part: flushing as it arrives leaves ~4 MiB to flush then. Measured, 1 GiB
 * in 16 MiB parts, one at a time: the store's default (64 MiB, so the whole part at the
 * end) cost ~20 ms per part at completion.
 */
const PART_DURABLE_EVERY = 4 * 1024 * 1024

/** One leaf of a file stored in a pack of leaves: its block, and the file bytes it holds. */
export interface LeafRecord { cid: CID, blockLength: number, dataLength: number }

export interface LeavesResult {
  packKey: string
  packSize: number
  /** file bytes read */
  size: number
  /** the leaves in file order (a leaf that repeats is listed each time) */
  leaves: LeafRecord[]
  /** the pack's blocks (each once) */
  blocks: BlockRecord[]
}

/**
 * Import `source` as the leaves `profile` makes of it, chunked from its first byte, into a new
 * durable pack (not recorded) without parents: a multipart upload's part. Parts of whole
 * chunks, laid end to end, give exactly the leaves a one-shot import of the file gives, so
 * `replayLeaves` can build the file's DAG over them without reading them again.
 */
export async function ingestLeaves (blobs: Pick<BlobStore, 'createPack'>, source: AsyncIterable<Uint8Array>, opts: { profile: ImportProfile, signal?: AbortSignal }): Promise<LeavesResult> {
  const header = encodeCarHeader(placeholderRoot(opts.profile))
  const sink = await blobs.createPack(header.byteLength, { durableEvery: PART_DURABLE_EVERY })
  const { blocks, blockstore } = packBlockstore(sink, opts.signal)
  try {
    const stage = fastLeafOptions(opts.profile, offThreadSha256(), chunkBuffers)
    const chunks = (stage.chunker as Chunker)(source)
    const tasks: Array<Promise<LeafRecord>> = []
    let size = 0
    for await (const task of (stage.bufferImporter as BufferImporter)({ content: chunks, path: '', originalPath: '' }, blockstore as any)) {
      // each task settles once its block is with the blockstore; all are stored at the end of the loop
      const t = task().then(r => {
        const dataLength = r.unixfs === undefined ? Number(r.size) : Number(r.unixfs.fileSize())
        return { cid: r.cid, blockLength: Number(r.size), dataLength }
      })
      t.catch(() => {})
      tasks.push(t)
    }
    const leaves = await Promise.all(tasks)
    for (const l of leaves) size += l.dataLength
    opts.signal?.throwIfAborted()
    // the pack names its first leaf as its root (same length as the placeholder: same CID version)
    const named = encodeCarHeader(leaves[0].cid)
    await sink.complete(named.byteLength === header.byteLength ? named : header)
    return { packKey: sink.key, packSize: sink.size, size, leaves, blocks: [...blocks.values()] }
  } catch (err) {
    await sink.abort()
    throw err
  }
}

/**
 * A leaf stage that makes no leaves but hands the importer `leaves`, stored already (in
 * other packs), in order: the importer then writes only the parents, exactly as it would
 * have over the same leaves. Needs at least two leaves (a single leaf is its own file node,
 * which must carry its data).
 */
export function replayLeaves (leaves: LeafRecord[], profile: ImportProfile): LeafStage {
  if (leaves.length < 2) throw new Error('replayLeaves needs at least two leaves')
  const rawLeaves = PROFILE_LEAVES[profile].rawLeaves
  const token = new Uint8Array(0)
  return {
    chunker: async function * (source) {
      for await (const _ of source) { /* nothing: the file's bytes are in the leaves */ }
      for (let i = 0; i < leaves.length; i++) yield token
    },
    bufferImporter: async function * (file) {
      let i = 0
      for await (const _ of file.content) {
        const leaf = leaves[i++]
        yield async () => ({
          cid: leaf.cid,
          size: BigInt(leaf.blockLength),
          unixfs: rawLeaves ? undefined : new UnixFS({ type: 'file', blockSizes: [BigInt(leaf.dataLength)] }),
          // only a single-leaf file's node is its leaf block, and there are two or more
          block: token
        })
      }
    },
    blockWriteConcurrency: blockWriteConcurrency(profile)
  }
}

async function concat (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return Buffer.concat(parts)
}
