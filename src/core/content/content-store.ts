/**
 * The content store: imports DAGs into packs, records them in the metadata store, and reads
 * them back through a pack's block index. Content is global and deduplicated by root CID;
 * who may see it is decided by the services above (entries), never here.
 */
import type { ImportCandidate } from 'ipfs-unixfs-importer'
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { randomUUID } from 'node:crypto'
import type { Db } from '../../adapters/metadata/open.js'
import type { Transaction } from 'kysely'
import type { Database } from '../../adapters/metadata/schema.js'
import { CairnError } from '../errors.js'
import type { BlobStore } from '../ports/blob-store.js'
import { cidForms } from './cids.js'
import { mhKey } from './hex.js'
import { ingest, ingestLeaves, replayLeaves, type IngestOptions, type IngestResult, type LeafRecord, type LeavesResult } from './ingest.js'
import type { ImportProfile } from './profiles.js'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import * as dagPb from '@ipld/dag-pb'
import { BlockCache, LruMap } from './block-cache.js'
import { acquireSpan, returnUnused } from './span-pool.js'
import { readFileRange, type BlockLocation, type BlockSource, type KnownRoot } from './file-reader.js'
import { identityBytes, isIdentity } from './blocks.js'
import { importCar, type CarImport } from './car-import.js'

/** decoded internal dag-pb nodes kept (one of 174 links is ~40 KB decoded: ~20 MB at most) */
const DECODED_NODES = 512

type Trx = Transaction<Database>

interface PackIndex {
  key: string
  /** where each block is: in the pack `key`, or in one of its part packs (`key` given) */
  blocks: Map<string, { offset: number, length: number, key?: string }>
}

export interface RecordOutcome {
  /** the root was already stored: the new pack is redundant and must be deleted after commit */
  duplicate: boolean
}

const PACK_INDEX_CACHE = 4096
const PACK_INDEX_BLOCKS = 200_000
const PACK_OF_CACHE = 10_000
const INSERT_BATCH = 500

export interface ReadableBlocks { get: (cid: CID) => AsyncGenerator<Uint8Array> }

export class ContentStore {
  private readonly packIndexes = new Map<string, Promise<PackIndex>>()
  private readonly indexSizes = new Map<string, number>()
  private indexedBlocks = 0
  private readonly packOf = new Map<string, { id: string, key: string }>()
  private readonly smallBlocks = new BlockCache()
  private readonly decodedNodes = new LruMap<string, dagPb.PBNode>(DECODED_NODES)

  constructor (readonly db: Db, readonly blobs: BlobStore) {}

  /** Import candidates into a new, durable pack (not yet recorded). */
  async import (candidates: AsyncIterable<ImportCandidate> | Iterable<ImportCandidate>, opts: IngestOptions): Promise<IngestResult> {
    return await ingest(this.blobs, candidates, opts)
  }

  /** Import one part of a multipart upload as a pack of leaves (durable, not recorded). */
  async importLeaves (source: AsyncIterable<Uint8Array>, opts: { profile: ImportProfile, signal?: AbortSignal }): Promise<LeavesResult> {
    return await ingestLeaves(this.blobs, source, opts)
  }

  /**
   * Record a pack of leaves (a part) inside the caller's transaction, with no content: it
   * belongs to the upload until importParents' file adopts it (record). Answers its pack id.
   */
  async recordPartPack (trx: Trx, r: LeavesResult): Promise<string> {
    const packId = randomUUID()
    await trx.insertInto('packs').values({
      id: packId, blob_key: r.packKey, root_cid: r.leaves[0].cid.toString(), size: r.packSize, block_count: r.blocks.length, created_at: Date.now(), part_of: null
    }).execute()
    await this.insertBlocks(trx, packId, r.blocks)
    return packId
  }

  /**
   * Build the DAG of a file over leaves already recorded in part packs (recordPartPack), in
   * order: a new pack with only the parents, which `record` makes the owner of the part
   * packs. Exactly the DAG a one-shot import of the same bytes makes.
   */
  async importParents (leaves: LeafRecord[], partPacks: string[], opts: { profile: ImportProfile, signal?: AbortSignal }): Promise<IngestResult> {
    const r = await ingest(this.blobs, [{ content: [] }], { profile: opts.profile, wrapWithDirectory: false, signal: opts.signal, leafStage: replayLeaves(leaves, opts.profile) })
    return { ...r, partPacks }
  }

  /** The file bytes of leaves `cids`, in order, from the part pack `packId`. */
  async * leafData (packId: string, cids: CID[], signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const pack = await this.db.selectFrom('packs').select('blob_key').where('id', '=', packId).executeTakeFirst()
    if (pack === undefined) throw new CairnError('unavailable', 'a part\'s pack is missing; the operator should run cairn fsck')
    const bs = this.blockstoreOver(await this.packIndex(packId, pack.blob_key), signal)
    for (const c of cids) {
      for await (const block of bs.get(c)) {
        yield c.code === raw.code ? block : (UnixFS.unmarshal(dagPb.decode(block).Data ?? new Uint8Array(0)).data ?? new Uint8Array(0))
      }
    }
  }

  /**
   * Delete packs that hold no content (parts of an upload that was abandoned, or whose file
   * was stored already): their rows in the caller's transaction; answers their blob keys, to
   * delete once it commits (dropBlobs).
   */
  async forgetPartPacks (trx: Trx, packIds: string[]): Promise<string[]> {
    if (packIds.length === 0) return []
    const rows = await trx.selectFrom('packs').select(['id', 'blob_key']).where('id', 'in', packIds).where('part_of', 'is', null).execute()
    if (rows.length === 0) return []
    const ids = rows.map(r => r.id)
    await trx.deleteFrom('blocks').where('pack_id', 'in', ids).execute()
    await trx.deleteFrom('packs').where('id', 'in', ids).execute()
    for (const id of ids) this.forgetPack(id)
    return rows.map(r => r.blob_key)
  }

  /** Delete blobs whose rows are gone (after forgetPartPacks' transaction committed). */
  async dropBlobs (keys: string[]): Promise<void> {
    for (const k of keys) await this.blobs.delete(k).catch(() => {})
  }

  private async insertBlocks (trx: Trx, packId: string, blocks: Array<{ mh: string, cid: string, offset: number, length: number }>): Promise<void> {
    for (let i = 0; i < blocks.length; i += INSERT_BATCH) {
      await trx.insertInto('blocks').values(blocks.slice(i, i + INSERT_BATCH).map(b => ({
        mh: b.mh, pack_id: packId, cid: b.cid, offset: b.offset, length: b.length
      }))).execute()
    }
  }

  /**
   * Record an import inside the caller's transaction. When the root is already stored, the
   * existing copy is revived (released_at cleared) and the new pack is reported as duplicate
   * (part packs it names then stay unowned, for their upload to forget).
   */
  async record (trx: Trx, r: IngestResult): Promise<RecordOutcome> {
    const root = r.root.cid.toString()
    const revived = await trx.updateTable('contents').set({ released_at: null })
      .where('cid', '=', root).executeTakeFirst()
    if (Number(revived.numUpdatedRows) > 0) return { duplicate: true }

    // a cached location of this content can only be a pack since collected
    for (const c of [r.root.cid, ...r.members.map(m => m.cid)]) for (const f of cidForms(c)) this.packOf.delete(f)
    const now = Date.now()
    const packId = randomUUID()
    await trx.insertInto('packs').values({
      id: packId, blob_key: r.packKey, root_cid: root, size: r.packSize, block_count: r.blocks.length, created_at: now, part_of: null
    }).execute()
    await this.insertBlocks(trx, packId, r.blocks)
    // the file's leaves are in part packs: they are this pack's now, and go with it
    const partPacks = r.partPacks ?? []
    for (let i = 0; i < partPacks.length; i += INSERT_BATCH) {
      const owned = await trx.updateTable('packs').set({ part_of: packId, root_cid: root })
        .where('id', 'in', partPacks.slice(i, i + INSERT_BATCH)).where('part_of', 'is', null).executeTakeFirst()
      if (Number(owned.numUpdatedRows) !== Math.min(INSERT_BATCH, partPacks.length - i)) throw new CairnError('conflict', 'a part of this file changed while it was stored')
    }
    await trx.insertInto('contents').values({
      cid: root, pack_id: packId, kind: r.root.kind, size: r.root.size, dag_size: r.root.dagSize, created_at: now, released_at: null
    }).execute()
    for (let i = 0; i < r.members.length; i += INSERT_BATCH) {
      await trx.insertInto('content_members').values(r.members.slice(i, i + INSERT_BATCH).map(m => ({
        root_cid: root, cid: m.cid.toString(), path: m.path, kind: m.kind, size: m.size
      }))).execute()
    }
    return { duplicate: false }
  }

  /** Import a CAR into a new, durable pack of its own (not yet recorded; see car-import.ts). */
  async importCar (source: AsyncIterable<Uint8Array>, opts: { signal?: AbortSignal } = {}): Promise<CarImport> {
    return await importCar(this.blobs, source, opts)
  }

  /**
   * Record an imported CAR inside the caller's transaction. Each root already stored is
   * revived (when `referenced`) or left as it is; the others get a contents row on the new
   * pack, released at once when nothing is to reference them (the collector frees them after
   * the grace period, as Kubo's unpinned blocks). When every root was already stored the
   * pack is redundant. Returns each root's CID as the contents table spells it.
   */
  async recordCar (trx: Trx, r: CarImport, opts: { referenced: boolean }): Promise<RecordOutcome & { rootCids: string[] }> {
    const now = Date.now()
    const rootCids: string[] = []
    const fresh: CarImport['roots'] = []
    for (const root of r.roots) {
      const forms = cidForms(root.cid)
      const existing = await trx.selectFrom('contents').select('cid').where('cid', 'in', forms).executeTakeFirst()
      if (existing !== undefined) {
        if (opts.referenced) await trx.updateTable('contents').set({ released_at: null }).where('cid', '=', existing.cid).execute()
        rootCids.push(existing.cid)
        continue
      }
      if (!fresh.some(f => f.cid.equals(root.cid))) fresh.push(root)
      rootCids.push(root.cid.toString())
    }
    if (fresh.length === 0) return { duplicate: true, rootCids }

    for (const root of fresh) for (const c of [root.cid, ...root.members.map(m => m.cid)]) for (const f of cidForms(c)) this.packOf.delete(f)
    const packId = randomUUID()
    await trx.insertInto('packs').values({
      id: packId, blob_key: r.packKey, root_cid: fresh[0].cid.toString(), size: r.packSize, block_count: r.blocks.length, created_at: now, part_of: null
    }).execute()
    await this.insertBlocks(trx, packId, r.blocks)
    for (const root of fresh) {
      const cid = root.cid.toString()
      await trx.insertInto('contents').values({
        cid, pack_id: packId, kind: root.kind, size: root.size, dag_size: root.dagSize, created_at: now, released_at: opts.referenced ? null : now
      }).execute()
      for (let i = 0; i < root.members.length; i += INSERT_BATCH) {
        await trx.insertInto('content_members').values(root.members.slice(i, i + INSERT_BATCH).map(m => ({
          root_cid: cid, cid: m.cid.toString(), path: m.path, kind: m.kind, size: m.size
        }))).execute()
      }
    }
    return { duplicate: false, rootCids }
  }

  /** Delete a pack that was written but not recorded (duplicate or failed transaction). */
  async discard (r: { packKey: string }): Promise<void> {
    await this.blobs.delete(r.packKey)
  }

  /**
   * Which pack holds the DAG of `cid`: as a root, as a member of a folder, or as any block.
   * Content is immutable, so the answer is cached; it goes stale only when the collector
   * deletes the pack, which forgets it here (in this process) or, when another process
   * collected it, the failed read does (readBlob).
   */
  async packFor (cid: CID): Promise<{ id: string, key: string } | undefined> {
    const k = cid.toString()
    const hit = this.packOf.get(k)
    if (hit !== undefined) return hit
    const found = await this.lookupPack(cid)
    if (found !== undefined) {
      if (this.packOf.size >= PACK_OF_CACHE) this.packOf.delete(this.packOf.keys().next().value as string)
      this.packOf.set(k, found)
    }
    return found
  }

  private async lookupPack (cid: CID): Promise<{ id: string, key: string } | undefined> {
    const forms = cidForms(cid)
    const row = await this.db.selectFrom('contents').innerJoin('packs', 'packs.id', 'contents.pack_id')
      .select(['packs.id', 'packs.blob_key']).where('contents.cid', 'in', forms).executeTakeFirst() ??
      await this.db.selectFrom('content_members')
        .innerJoin('contents', 'contents.cid', 'content_members.root_cid')
        .innerJoin('packs', 'packs.id', 'contents.pack_id')
        .select(['packs.id', 'packs.blob_key']).where('content_members.cid', 'in', forms).executeTakeFirst() ??
      await this.db.selectFrom('blocks').innerJoin('packs', 'packs.id', 'blocks.pack_id')
        .select(['packs.id', 'packs.blob_key']).where('blocks.mh', '=', mhKey(cid)).executeTakeFirst()
    return row === undefined ? undefined : { id: row.id, key: row.blob_key }
  }

  private async packIndex (packId: string, key: string): Promise<PackIndex> {
    let p = this.packIndexes.get(packId)
    if (p !== undefined) {
      // most recently used last
      this.packIndexes.delete(packId)
      this.packIndexes.set(packId, p)
      return await p
    }
    p = (async () => {
      // the pack's blocks, and those of the part packs it owns (a file sent in parts)
      const rows = await this.db.selectFrom('blocks').innerJoin('packs', 'packs.id', 'blocks.pack_id')
        .select(['blocks.mh', 'blocks.offset', 'blocks.length', 'packs.blob_key'])
        .where(eb => eb.or([eb('blocks.pack_id', '=', packId), eb('packs.part_of', '=', packId)])).execute()
      return {
        key,
        blocks: new Map(rows.map(r => [r.mh, r.blob_key === key ? { offset: r.offset, length: r.length } : { offset: r.offset, length: r.length, key: r.blob_key }]))
      }
    })()
    this.packIndexes.set(packId, p)
    p.then(index => {
      if (this.packIndexes.get(packId) !== p) return
      this.indexSizes.set(packId, index.blocks.size)
      this.indexedBlocks += index.blocks.size
      this.trimIndexes()
    }, () => { this.dropIndex(packId) })
    return await p
  }

  /** Keep the cache within PACK_INDEX_CACHE packs and PACK_INDEX_BLOCKS block entries (many small packs, or a few huge ones). */
  private trimIndexes (): void {
    while (this.packIndexes.size > 1 && (this.packIndexes.size > PACK_INDEX_CACHE || this.indexedBlocks > PACK_INDEX_BLOCKS)) {
      this.dropIndex(this.packIndexes.keys().next().value as string)
    }
  }

  private dropIndex (packId: string): void {
    this.packIndexes.delete(packId)
    this.indexedBlocks -= this.indexSizes.get(packId) ?? 0
    this.indexSizes.delete(packId)
  }

  /** Forget cached indexes (after the collector deleted packs). */
  forgetPack (packId: string): void {
    this.dropIndex(packId)
    for (const [k, v] of this.packOf) if (v.id === packId) this.packOf.delete(k)
  }

  /** A read-only blockstore over the pack that holds `cid`'s DAG. */
  async blockstoreFor (cid: CID, signal?: AbortSignal): Promise<ReadableBlocks> {
    if (isIdentity(cid)) return this.blockstoreOver({ key: '', blocks: new Map() }, signal)
    const pack = await this.packFor(cid)
    if (pack === undefined) throw new CairnError('not_found', `content ${cid.toString()} is not stored`)
    return this.blockstoreOver(await this.packIndex(pack.id, pack.key), signal)
  }

  private blockstoreOver (index: PackIndex, signal?: AbortSignal): ReadableBlocks {
    const { db, smallBlocks } = this
    const readBlob = this.readBlob.bind(this)
    return {
      async * get (c: CID) {
        if (isIdentity(c)) { yield identityBytes(c); return }
        const mh = mhKey(c)
        const cached = smallBlocks.get(mh)
        if (cached !== undefined) {
          yield cached
          return
        }
        let loc = index.blocks.get(mh)
        let key = loc?.key ?? index.key
        if (loc === undefined) {
          // not in this DAG's pack: any pack that holds the block
          const row = await db.selectFrom('blocks').innerJoin('packs', 'packs.id', 'blocks.pack_id')
            .select(['packs.blob_key', 'blocks.offset', 'blocks.length']).where('blocks.mh', '=', mh).executeTakeFirst()
          if (row === undefined) throw new CairnError('unavailable', 'stored content is missing; the operator should run cairn fsck')
          loc = { offset: row.offset, length: row.length }
          key = row.blob_key
        }
        const block = await readBlob(key, loc.offset, loc.length, signal)
        smallBlocks.set(mh, block)
        yield block
      }
    }
  }

  /**
   * The bytes [start, end) of the UnixFS file `cid`, read from its pack in large sequential
   * spans with bounded memory (see file-reader.ts). `root`: the file's root block when the
   * caller has it already (`resolve` read it), so that it is not read again.
   */
  async * readFile (cid: CID, start: number, end: number, signal?: AbortSignal, root?: KnownRoot): AsyncGenerator<Uint8Array> {
    const pack = await this.packFor(cid)
    if (pack === undefined) throw new CairnError('not_found', `content ${cid.toString()} is not stored`)
    const index = await this.packIndex(pack.id, pack.key)
    const source: BlockSource = {
      locate: async (c: CID): Promise<BlockLocation> => {
        const loc = index.blocks.get(mhKey(c))
        if (loc !== undefined) return { key: loc.key ?? index.key, offset: loc.offset, length: loc.length }
        const row = await this.db.selectFrom('blocks').innerJoin('packs', 'packs.id', 'blocks.pack_id')
          .select(['packs.blob_key', 'blocks.offset', 'blocks.length']).where('blocks.mh', '=', mhKey(c)).executeTakeFirst()
        if (row === undefined) throw new CairnError('unavailable', 'stored content is missing; the operator should run cairn fsck')
        return { key: row.blob_key, offset: row.offset, length: row.length }
      },
      // internal nodes: small, and read again by every range request of the file
      read: async (c, loc, sig) => {
        const mh = mhKey(c)
        const cached = this.smallBlocks.get(mh)
        if (cached !== undefined) return cached
        const block = await this.readBlob(loc.key, loc.offset, loc.length, sig)
        this.smallBlocks.set(mh, block)
        return block
      },
      // decoded too: a node of 174 links costs more to decode than a 1 MiB range costs to send
      node: async (c, loc, sig) => {
        const mh = mhKey(c)
        const hit = this.decodedNodes.get(mh)
        if (hit !== undefined) return hit
        const node = dagPb.decode(await source.read(c, loc, sig))
        this.decodedNodes.set(mh, node)
        return node
      },
      readSpan: async (key, offset, length, sig) => {
        const into = acquireSpan(length)
        const got = await this.readBlob(key, offset, length, sig, into)
        if (got.buffer !== into.buffer) returnUnused(into)
        return got
      }
    }
    yield * readFileRange(source, cid, start, end, signal, root)
  }

  private async readBlob (key: string, offset: number, length: number, signal?: AbortSignal, into?: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.blobs.read(key, offset, length, signal, into)
    } catch (err) {
      // the index names it, so the store lost it (or another process collected it since we
      // cached where it was): forget the pack, and report an operator's problem, not a 404
      if (err instanceof CairnError && err.code === 'not_found') {
        for (const [id, p] of this.packIndexes) void p.then(i => { if (i.key === key) this.forgetPack(id) }, () => {})
        for (const [k, v] of this.packOf) if (v.key === key) this.packOf.delete(k)
        throw new CairnError('unavailable', 'stored content is missing; the operator should run cairn fsck')
      }
      throw err
    }
  }

  /** The bytes of a freshly imported file whose pack is not recorded yet (small files only). */
  async readUnrecorded (r: IngestResult): Promise<Uint8Array> {
    const index: PackIndex = { key: r.packKey, blocks: new Map(r.blocks.map(b => [b.mh, { offset: b.offset, length: b.length }])) }
    const entry = await exporter(r.root.cid, this.blockstoreOver(index))
    if (entry.type !== 'file' && entry.type !== 'raw') throw new CairnError('invalid_argument', 'not a file')
    const parts: Uint8Array[] = []
    for await (const chunk of entry.content()) parts.push(chunk)
    return Buffer.concat(parts)
  }

  /** Resolve `<cid>[/path]` to a UnixFS entry. */
  async resolve (cid: CID, path: string[] = [], signal?: AbortSignal): Promise<UnixFSEntry> {
    const bs = await this.blockstoreFor(cid, signal)
    const target = path.length === 0 ? cid : [cid.toString(), ...path].join('/')
    try {
      return await exporter(target, bs, { signal })
    } catch (err) {
      const code = (err as { name?: string }).name
      if (code === 'NotFoundError' || code === 'BadPathError') {
        throw new CairnError('not_found', 'File not found')
      }
      if (code === 'NotUnixFSError' || code === 'NoResolverError') {
        throw new CairnError('unsupported_media', `${target.toString()} is not a UnixFS file or directory`)
      }
      throw err
    }
  }

  /** The bytes of one stored block, from whichever pack holds it. */
  async block (cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    const bs = await this.blockstoreFor(cid, signal)
    for await (const b of bs.get(cid)) return b
    throw new CairnError('unavailable', 'stored content is missing; the operator should run cairn fsck')
  }

  /** The bytes of the blocks of a stored DAG root (Kubo's cumulative size), if it is one. */
  async dagSize (cid: CID): Promise<number | undefined> {
    const r = await this.db.selectFrom('contents').select('dag_size').where('cid', 'in', cidForms(cid)).executeTakeFirst()
    return r === undefined ? undefined : Number(r.dag_size)
  }

  async isStored (cid: CID): Promise<boolean> {
    return (await this.packFor(cid)) !== undefined
  }

  async close (): Promise<void> {
    this.packIndexes.clear()
    this.indexSizes.clear()
    this.indexedBlocks = 0
    this.packOf.clear()
    this.smallBlocks.clear()
    this.decodedNodes.clear()
  }
}
