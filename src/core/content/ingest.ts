/**
 * Streaming import into one pack: the UnixFS importer builds the DAG, with its leaf stage
 * replaced by leaf-import.ts (each byte copied once, leaves framed in place, hashed on another
 * core, chunk buffers reused); every block it makes is appended to a new pack as a CAR frame.
 * Memory stays bounded by the importer's concurrency, whatever the file size. On any failure
 * the pack is dropped.
 */
import { importer, type ImportCandidate } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import type { BlobStore } from '../ports/blob-store.js'
import { encodeBlockFrameHead, encodeCarHeader } from './car-frame.js'
import { mhKey } from './hex.js'
import { placeholderRoot, type ImportProfile } from './profiles.js'
import { ChunkBuffers, fastLeafOptions } from './leaf-import.js'
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
}

export interface IngestOptions {
  profile: ImportProfile
  /** true for a folder: all candidates go into one wrapping directory, which is the root */
  wrapWithDirectory: boolean
  signal?: AbortSignal
}

export async function ingest (
  blobs: Pick<BlobStore, 'createPack'>,
  candidates: AsyncIterable<ImportCandidate> | Iterable<ImportCandidate>,
  opts: IngestOptions
): Promise<IngestResult> {
  const header = encodeCarHeader(placeholderRoot(opts.profile))
  const sink = await blobs.createPack(header.byteLength)
  const blocks = new Map<string, BlockRecord>()

  // `put` resolves once the bytes are written to the pack and keeps no reference to them:
  // leaf-import.ts reuses a block's buffer as soon as its put resolves
  const blockstore = {
    put: async (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
      opts.signal?.throwIfAborted()
      const mh = mhKey(cid)
      if (blocks.has(mh)) return cid // the same block twice in one DAG (e.g. zero chunks) is stored once
      const data = bytes instanceof Uint8Array ? bytes : await concat(bytes)
      const head = encodeBlockFrameHead(cid, data.byteLength)
      const rec: BlockRecord = { mh, cid: cid.toString(), offset: -1, length: data.byteLength }
      blocks.set(mh, rec)
      rec.offset = (await sink.append(head, data)) + head.byteLength
      return cid
    }
  }

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
      ...fastLeafOptions(opts.profile, offThreadSha256(), chunkBuffers)
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

async function concat (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return Buffer.concat(parts)
}
