/**
 * Importing a CAR (v1, or v2 with its v1 payload): the CAR becomes one pack of its own.
 * Its header is read first, so the pack starts with a header naming the same roots; every
 * block is verified against its CID before it is appended (a block whose bytes do not hash
 * to its CID fails the whole import); blocks met twice and identity blocks are not stored.
 * Once the pack is complete, each root's DAG is walked over the pack's own index: whether it
 * is complete, its kind and size, and (for UnixFS directories) its members, as an upload
 * records them. Nothing is recorded here; the drive commits it.
 */
import { CarBlockIterator } from '@ipld/car/iterator'
import { exporter, recursive } from 'ipfs-unixfs-exporter'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CairnError, invalid, isCairnError } from '../errors.js'
import type { BlobStore } from '../ports/blob-store.js'
import { identityBytes, isIdentity, linksOf, verifyBlock } from './blocks.js'
import { encodeBlockFrameHead, encodeCarHeaderRoots } from './car-frame.js'
import { mhKey } from './hex.js'
import type { BlockRecord, ImportedNode } from './ingest.js'

/** largest block accepted (the bitswap limit: no IPFS peer could fetch a larger one) */
export const MAX_CAR_BLOCK_BYTES = 2 * 1024 * 1024
const MAX_ROOTS = 1000

export interface CarRoot {
  cid: CID
  /** 'file' (a UnixFS file or raw block), 'directory' (UnixFS), 'dag' (any other codec) */
  kind: 'file' | 'directory' | 'dag'
  /** file bytes; a directory's cumulative DAG size; a dag's block bytes */
  size: number
  /** bytes of the distinct blocks under the root that the CAR holds */
  dagSize: number
  /** files and directories inside a UnixFS directory root */
  members: ImportedNode[]
  /** the first block of the DAG that the CAR lacks, if any */
  missing: string | undefined
  /** a complete file's first bytes (up to 4100), to sniff its type from */
  head?: Uint8Array
}

export interface CarImport {
  packKey: string
  packSize: number
  roots: CarRoot[]
  blocks: BlockRecord[]
  /** bytes of the blocks stored */
  blockBytes: number
}

type Blobs = Pick<BlobStore, 'createPack' | 'read' | 'delete'>

export async function importCar (blobs: Blobs, source: AsyncIterable<Uint8Array>, opts: { signal?: AbortSignal } = {}): Promise<CarImport> {
  let reader: CarBlockIterator
  let roots: CID[]
  try {
    reader = await CarBlockIterator.fromIterable(source)
    roots = await reader.getRoots()
  } catch (err) {
    throw asCarError(err, opts.signal)
  }
  if (roots.length === 0) throw invalid('the CAR names no roots')
  if (roots.length > MAX_ROOTS) throw invalid(`the CAR names more than ${MAX_ROOTS} roots`)

  const header = encodeCarHeaderRoots(roots)
  const sink = await blobs.createPack(header.byteLength)
  const index = new Map<string, BlockRecord>()
  let blockBytes = 0
  try {
    try {
      for await (const { cid, bytes } of reader) {
        opts.signal?.throwIfAborted()
        if (bytes.byteLength > MAX_CAR_BLOCK_BYTES) throw invalid(`block ${cid.toString()} is larger than ${MAX_CAR_BLOCK_BYTES} bytes`)
        await verifyBlock(cid, bytes)
        if (isIdentity(cid)) continue
        const mh = mhKey(cid)
        if (index.has(mh)) continue
        const head = encodeBlockFrameHead(cid, bytes.byteLength)
        const rec: BlockRecord = { mh, cid: cid.toString(), offset: -1, length: bytes.byteLength }
        index.set(mh, rec)
        rec.offset = (await sink.append(head, bytes)) + head.byteLength
        blockBytes += bytes.byteLength
      }
    } catch (err) {
      throw asCarError(err, opts.signal)
    }
    opts.signal?.throwIfAborted()
    await sink.complete(header)
  } catch (err) {
    await sink.abort()
    throw err
  }

  try {
    const get = async (cid: CID): Promise<Uint8Array | undefined> => {
      if (isIdentity(cid)) return identityBytes(cid)
      const rec = index.get(mhKey(cid))
      return rec === undefined ? undefined : await blobs.read(sink.key, rec.offset, rec.length, opts.signal)
    }
    const analysed: CarRoot[] = []
    for (const root of roots) analysed.push(await analyseRoot(root, get, opts.signal))
    return { packKey: sink.key, packSize: sink.size, roots: analysed, blocks: [...index.values()], blockBytes }
  } catch (err) {
    await blobs.delete(sink.key)
    throw err
  }
}

function asCarError (err: unknown, signal?: AbortSignal): unknown {
  if (isCairnError(err) || signal?.aborted === true) return err
  return new CairnError('invalid_argument', `Malformed CAR: ${(err as Error).message ?? String(err)}`)
}

async function analyseRoot (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, signal?: AbortSignal): Promise<CarRoot> {
  // completeness and size: a walk of every distinct block under the root
  const seen = new Set<string>()
  let missing: string | undefined
  let dagSize = 0
  const stack: CID[] = [root]
  while (stack.length > 0) {
    signal?.throwIfAborted()
    const cid = stack.pop() as CID
    const k = mhKey(cid) + ':' + cid.code.toString()
    if (seen.has(k)) continue
    seen.add(k)
    const bytes = await get(cid)
    if (bytes === undefined) { missing ??= cid.toString(); continue }
    if (!isIdentity(cid)) dagSize += bytes.byteLength
    const links = linksOf(cid, bytes)
    for (let i = links.length - 1; i >= 0; i--) stack.push(links[i])
  }

  const rootBytes = await get(root)
  const base: Omit<CarRoot, 'kind' | 'size'> = { cid: root, dagSize, members: [], missing }
  if (rootBytes === undefined) return { ...base, kind: 'dag', size: 0 }
  if (root.code === raw.code) return { ...base, kind: 'file', size: rootBytes.byteLength, head: rootBytes.subarray(0, HEAD_BYTES) }
  if (root.code !== dagPb.code) return { ...base, kind: 'dag', size: dagSize }
  const node = dagPb.decode(rootBytes)
  let fs: UnixFS | undefined
  try { fs = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data) } catch { fs = undefined }
  if (fs === undefined) return { ...base, kind: 'dag', size: dagSize }
  if (fs.type === 'directory' || fs.type === 'hamt-sharded-directory') {
    const size = rootBytes.byteLength + node.Links.reduce((n, l) => n + (l.Tsize ?? 0), 0)
    const members = missing === undefined ? await membersOf(root, get, signal) : []
    return { ...base, kind: 'directory', size, members }
  }
  return { ...base, kind: 'file', size: Number(fs.fileSize()), head: missing === undefined ? await headOf(root, get, signal) : undefined }
}

const HEAD_BYTES = 4100

async function headOf (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, signal?: AbortSignal): Promise<Uint8Array> {
  const entry = await exporter(root, blockstoreOf(get), { signal })
  if (entry.type !== 'file' && entry.type !== 'raw') return new Uint8Array(0)
  const parts: Uint8Array[] = []
  for await (const c of entry.content({ offset: 0, length: Math.min(HEAD_BYTES, Number(entry.size)), signal })) parts.push(c)
  return Buffer.concat(parts)
}

function blockstoreOf (get: (cid: CID) => Promise<Uint8Array | undefined>): { get: (cid: CID) => AsyncGenerator<Uint8Array> } {
  return {
    async * get (cid: CID) {
      const b = await get(cid)
      if (b === undefined) throw new CairnError('invalid_argument', `block ${cid.toString()} is missing from the CAR`)
      yield b
    }
  }
}

/** Every file and directory inside a UnixFS directory, with paths relative to it. */
async function membersOf (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, signal?: AbortSignal): Promise<ImportedNode[]> {
  const blockstore = blockstoreOf(get)
  const out: ImportedNode[] = []
  const prefix = root.toString() + '/'
  for await (const e of recursive(root, blockstore, { signal })) {
    if (!e.path.startsWith(prefix)) continue // the root itself
    const { kind, size } = await nodeKind(e.cid, get)
    out.push({ path: e.path.slice(prefix.length), cid: e.cid, kind, size, dagSize: Number(e.size) })
  }
  return out
}

async function nodeKind (cid: CID, get: (cid: CID) => Promise<Uint8Array | undefined>): Promise<{ kind: 'file' | 'directory', size: number }> {
  const bytes = await get(cid)
  if (bytes === undefined) return { kind: 'file', size: 0 }
  if (cid.code !== dagPb.code) return { kind: 'file', size: bytes.byteLength }
  const node = dagPb.decode(bytes)
  let fs: UnixFS | undefined
  try { fs = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data) } catch { fs = undefined }
  if (fs?.type === 'directory' || fs?.type === 'hamt-sharded-directory') {
    return { kind: 'directory', size: bytes.byteLength + node.Links.reduce((n, l) => n + (l.Tsize ?? 0), 0) }
  }
  return { kind: 'file', size: fs === undefined ? bytes.byteLength : Number(fs.fileSize()) }
}
