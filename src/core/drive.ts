/**
 * The drive: an account's spaces of folders and file entries, each entry naming a CID.
 * Every upload dialect ends here: stream in, import into a pack, then one transaction that
 * records the content, re-checks the quota and adds the entry. Nothing is visible until
 * that transaction commits; a failed or cut-off upload leaves no entry and no pack.
 */
import { randomUUID } from 'node:crypto'
import { sql, type Transaction } from 'kysely'
import type { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import type { Database } from '../adapters/metadata/schema.js'
import type { Account } from './accounts.js'
import { isUniqueViolation } from './accounts.js'
import { cidForms, parseCid } from './content/cids.js'
import type { ContentStore } from './content/content-store.js'
import type { IngestResult } from './content/ingest.js'
import type { ImportProfile } from './content/profiles.js'
import { CairnError, notFound } from './errors.js'
import { capacityExceeded, metered, type ByteBudget } from './limits.js'
import { sniffContentType, sniffing } from './mime.js'
import { codecContentType } from './content/blocks.js'
import { mhKey } from './content/hex.js'
import { entryName, fileName, MAX_NAME, MAX_SEGMENT, parseFolderPath, relativeFilePath } from './paths.js'
import { isThumbnailable, makeThumbnail } from './thumbnails.js'

type Trx = Transaction<Database>

/** a file imported and not yet recorded, with its thumbnail */
interface Staged { name: string, mimetype: string, file: IngestResult, thumb?: IngestResult }

/**
 * The space that holds an account's flat file list: FluxDrive's files (/api/v0) and the
 * gateway's (/api/v1) are the same entries, each dialect showing its own CID spelling.
 */
export const FILES_SPACE = 'fluxdrive'

export interface Entry {
  id: string
  kind: 'file' | 'directory' | 'folder'
  name: string
  cid: string | null
  size: number
  mimetype: string | null
  thumbnailCid: string | null
  pinned: boolean
  createdAt: number
  /** the folder entry it is in, '' at the top level */
  parentId: string
}

export interface FolderMember { path: string, cid: string, size: number, kind: 'file' | 'directory', /** bytes of its DAG's blocks (Kubo's cumulative size) */ dagSize: number }

export interface DriveOptions {
  thumbnailMaxSourceBytes: number
  thumbnailSize: number
  onBytesIn?: (n: number) => void
}

export interface UploadSource {
  /** the name the client gave (may carry a path, of which only the last part is kept for put) */
  filename: string | undefined
  mimetype: string | undefined
  content: AsyncIterable<Uint8Array>
  /** the multipart field name of the part (Flux clients name the field after the file) */
  field?: string
}

export function toEntry (r: Database['entries']): Entry {
  return {
    id: r.id,
    kind: r.kind as Entry['kind'],
    name: r.name,
    cid: r.cid,
    size: r.size,
    mimetype: r.mimetype,
    thumbnailCid: r.thumbnail_cid,
    pinned: r.pinned === 1,
    createdAt: r.created_at,
    parentId: r.parent_id
  }
}

export class Drive {
  constructor (
    private readonly db: Db,
    private readonly content: ContentStore,
    private readonly opts: DriveOptions
  ) {}

  /**
   * Bytes an account references: every distinct CID counted once, whoever stored it first.
   * Read from the account's counter (accounts.used_bytes), which every change to entries
   * keeps in its own transaction; always equal to recomputeUsage().
   */
  async usage (accountId: string, db: Db | Trx = this.db): Promise<number> {
    const r = await db.selectFrom('accounts').select('used_bytes').where('id', '=', accountId).executeTakeFirst()
    return Number(r?.used_bytes ?? 0)
  }

  /** The same figure as usage(), computed from the account's entries (a scan of all of them). */
  async recomputeUsage (accountId: string, db: Db | Trx = this.db): Promise<number> {
    const r = await sql<{ used: number | string | null }>`
      SELECT COALESCE(SUM(size), 0) AS used FROM (
        SELECT cid, MAX(size) AS size FROM entries
        WHERE account_id = ${accountId} AND cid IS NOT NULL GROUP BY cid
      ) t`.execute(db)
    return Number(r.rows[0]?.used ?? 0)
  }

  /**
   * Set an account's counter to the recomputed figure (an operator's repair after fsck
   * reported a usage_mismatch). Runs under the account's row lock, like every commit.
   */
  async repairUsage (accountId: string): Promise<{ before: number, after: number }> {
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const before = await this.usage(accountId, trx)
      const after = await this.recomputeUsage(accountId, trx)
      if (after !== before) await trx.updateTable('accounts').set({ used_bytes: after }).where('id', '=', accountId).execute()
      return { before, after }
    })
  }

  async fileCount (accountId: string): Promise<number> {
    const r = await this.db.selectFrom('entries').select(eb => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId).where('kind', '!=', 'folder').executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async budgetFor (account: Account): Promise<ByteBudget> {
    return {
      remaining: Math.max(0, account.capacityBytes - await this.usage(account.id)),
      maxFileBytes: account.planLimits.maxFileBytes,
      seen: 0
    }
  }

  /** The space of this name, made on first use. */
  async space (accountId: string, name: string, db: Db | Trx = this.db): Promise<string> {
    const found = await db.selectFrom('spaces').select('id').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst()
    if (found !== undefined) return found.id
    await db.insertInto('spaces').values({ id: randomUUID(), account_id: accountId, name, created_at: Date.now() })
      .onConflict(oc => oc.columns(['account_id', 'name']).doNothing()).execute()
    const made = await db.selectFrom('spaces').select('id').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirstOrThrow()
    return made.id
  }

  /** Folder id for a path, creating missing folders ('' for the top level). */
  async ensureFolder (trx: Trx, accountId: string, spaceId: string, segments: string[]): Promise<string> {
    let parent = ''
    for (const name of segments) {
      const existing = await trx.selectFrom('entries').select('id')
        .where('space_id', '=', spaceId).where('parent_id', '=', parent).where('kind', '=', 'folder').where('name', '=', name)
        .executeTakeFirst()
      if (existing !== undefined) { parent = existing.id; continue }
      const id = randomUUID()
      try {
        await trx.insertInto('entries').values({
          id, space_id: spaceId, account_id: accountId, parent_id: parent, kind: 'folder', name,
          cid: null, size: 0, mimetype: null, thumbnail_cid: null, pinned: 0, created_at: Date.now()
        }).execute()
      } catch (err) {
        if (isUniqueViolation(err)) throw new CairnError('conflict', 'folder was created concurrently, try again')
        throw err
      }
      parent = id
    }
    return parent
  }

  /** Resolve a folder given as a path or a folder id; undefined path means the top level. */
  async findFolder (accountId: string, spaceName: string, ref: string | undefined): Promise<string> {
    if (ref === undefined || ref === '' || ref === '/') return ''
    const spaceId = await this.space(accountId, spaceName)
    if (/^[0-9a-f-]{36}$/.test(ref)) {
      const byId = await this.db.selectFrom('entries').select('id').where('id', '=', ref)
        .where('space_id', '=', spaceId).where('kind', '=', 'folder').executeTakeFirst()
      if (byId === undefined) throw notFound('Folder not found')
      return byId.id
    }
    let parent = ''
    for (const name of parseFolderPath(ref)) {
      const f = await this.db.selectFrom('entries').select('id').where('space_id', '=', spaceId)
        .where('parent_id', '=', parent).where('kind', '=', 'folder').where('name', '=', name).executeTakeFirst()
      if (f === undefined) throw notFound('Folder not found')
      parent = f.id
    }
    return parent
  }

  /**
   * Commit imports for an account: record content, re-check the quota inside the
   * transaction (concurrent uploads cannot together exceed it), add the entry.
   * Packs that turn out redundant or whose transaction failed are deleted.
   */
  async commit<T> (account: Account, imports: IngestResult[], write: (trx: Trx) => Promise<T>): Promise<T> {
    return await this.commitRecords(account, imports.map(r => ({
      order: r.root.cid.toString(),
      record: async (trx: Trx) => (await this.content.record(trx, r)).duplicate,
      discard: async () => { await this.content.discard(r) }
    })), write)
  }

  /** commit() over anything that records itself in the transaction (an import, an imported CAR) */
  private async commitRecords<T> (account: Account, records: Recordable[], write: (trx: Trx) => Promise<T>): Promise<T> {
    const outcomes: boolean[] = []
    let written: T
    const attempt = async (): Promise<T> => await this.db.transaction().execute(async trx => {
      // take the account's row lock first: commits of one account then run one at a time,
      // so each quota check sees the others' entries (PostgreSQL runs them side by side)
      await lockAccount(trx, account.id)
      // record in one order, by root CID, whatever the order of the request: commits that
      // share content then take its rows' locks in the same order and cannot deadlock
      outcomes.length = records.length
      for (const i of recordOrder(records)) outcomes[i] = await records[i].record(trx)
      const e = await write(trx) // adds the entries and their usage (insertEntries)
      if (await this.usage(account.id, trx) > account.capacityBytes) throw capacityExceeded()
      return e
    })
    try {
      // a concurrent commit of the same content or folder (PostgreSQL runs them side by side)
      // loses on a unique key; run again, and it finds the other's rows
      for (let tries = 1; ; tries++) {
        try {
          written = await attempt()
          break
        } catch (err) {
          const raced = isUniqueViolation(err) || (err instanceof CairnError && err.code === 'conflict')
          if (!raced || tries >= 3) throw err
        }
      }
    } catch (err) {
      await Promise.allSettled(records.map(async r => { await r.discard() }))
      throw err
    }
    await Promise.allSettled(records.filter((_, i) => outcomes[i]).map(async r => { await r.discard() }))
    return written
  }

  /**
   * Import a CAR for an account as one pack of its own (every block verified against its
   * CID). With `pinRoots` (the default, as Kubo's dag import) each root becomes an entry of
   * the space, named by its CID, unless the space already has one: the roots are then
   * referenced and count against the quota, and a root whose DAG the CAR does not hold whole
   * is refused. Without it the blocks are only stored: unreferenced, served by a gateway
   * that serves everything stored, freed by the collector after the grace period.
   */
  async importCar (account: Account, spaceName: string, source: AsyncIterable<Uint8Array>, opts: { pinRoots: boolean, budget: ByteBudget, signal?: AbortSignal }): Promise<CarImportOutcome> {
    const imported = await this.content.importCar(metered(source, opts.budget, this.opts.onBytesIn), { signal: opts.signal })
    const incomplete = imported.roots.find(r => r.missing !== undefined)
    if (opts.pinRoots && incomplete !== undefined) {
      await this.content.discard(imported)
      throw new CairnError('invalid_argument', `the DAG of root ${incomplete.cid.toString()} is incomplete: block ${String(incomplete.missing)} is not in the CAR`)
    }
    const spaceId = await this.space(account.id, spaceName)
    const types = await Promise.all(imported.roots.map(async r => r.kind === 'dag'
      ? (codecContentType(r.cid.code) ?? 'application/octet-stream')
      : r.kind === 'file' ? (await sniffContentType(r.head ?? new Uint8Array(0), '')).split(';')[0] : null))
    let rootCids: string[] = []
    const entries = await this.commitRecords(account, [{
      order: imported.roots[0].cid.toString(),
      record: async trx => {
        const o = await this.content.recordCar(trx, imported, { referenced: opts.pinRoots })
        rootCids = o.rootCids
        return o.duplicate
      },
      discard: async () => { await this.content.discard(imported) }
    }], async trx => {
      if (!opts.pinRoots) return []
      const rows: Array<Database['entries']> = []
      for (const [i, root] of imported.roots.entries()) {
        const cid = rootCids[i]
        if (rows.some(r => r.cid === cid)) continue
        const held = await trx.selectFrom('entries').select('id').where('space_id', '=', spaceId).where('cid', '=', cid).executeTakeFirst()
        if (held !== undefined) continue
        rows.push({
          id: randomUUID(),
          space_id: spaceId,
          account_id: account.id,
          parent_id: '',
          kind: root.kind === 'directory' ? 'directory' : 'file',
          name: cid,
          cid,
          size: root.size,
          mimetype: types[i],
          thumbnail_cid: null,
          pinned: 1,
          created_at: Date.now() + i
        })
      }
      if (rows.length > 0) await insertEntries(trx, account.id, rows)
      return rows.map(toEntry)
    })
    return {
      roots: imported.roots.map((r, i) => ({ cid: rootCids[i] ?? r.cid.toString(), kind: r.kind, size: r.size, missing: r.missing })),
      blockCount: imported.blocks.length,
      blockBytes: imported.blockBytes,
      entries
    }
  }

  private async thumbnailFor (mimetype: string, root: IngestResult, profile: ImportProfile): Promise<IngestResult | undefined> {
    if (!isThumbnailable(mimetype) || root.root.size > this.opts.thumbnailMaxSourceBytes) return undefined
    // the pack is complete but not yet recorded: read the image straight from the import
    const bytes = await this.content.readUnrecorded(root)
    const thumb = await makeThumbnail(bytes, this.opts.thumbnailSize)
    if (thumb === undefined) return undefined
    return await this.content.import([{ content: thumb }], { profile, wrapWithDirectory: false })
  }

  /**
   * Store files as entries in `spaceName` under `folderPath`, all or nothing: each file is
   * imported as it streams, and one transaction records them all at the end.
   */
  async putFiles (account: Account, spaceName: string, sources: AsyncIterable<UploadSource>, opts: { folderPath?: string, profile: ImportProfile, budget: ByteBudget, signal?: AbortSignal, thumbnails?: boolean, onCommit?: (trx: Trx, entries: Entry[]) => Promise<void>, countBytesIn?: boolean }): Promise<Entry[]> {
    const segments = parseFolderPath(opts.folderPath)
    const staged: Staged[] = []
    const onBytes = opts.countBytesIn === false ? undefined : this.opts.onBytesIn
    try {
      for await (const src of sources) {
        const name = fileName(src.filename, 'file')
        const sniffed = sniffing(metered(src.content, opts.budget, onBytes), src.mimetype, name)
        const file = await this.content.import([{ content: sniffed.stream }], { profile: opts.profile, wrapWithDirectory: false, signal: opts.signal })
        const item: typeof staged[number] = { name, mimetype: await sniffed.type, file }
        staged.push(item)
        if (opts.thumbnails !== false) item.thumb = await this.thumbnailFor(item.mimetype, file, opts.profile).catch(() => undefined)
      }
    } catch (err) {
      await Promise.allSettled(staged.flatMap(s => [s.file, s.thumb]).map(async r => { if (r !== undefined) await this.content.discard(r) }))
      throw err
    }
    if (staged.length === 0) throw new CairnError('invalid_argument', 'No file uploaded')
    return await this.commitStaged(account, spaceName, segments, staged, opts)
  }

  /**
   * Store a file imported already (a multipart upload's DAG over its part packs, see
   * Buckets) as an entry, as putFiles stores one; `head` is its first bytes, to sniff its
   * type. On failure the import's own pack is discarded (part packs stay their upload's).
   */
  async putImported (account: Account, spaceName: string, item: { filename: string, mimetype?: string, file: IngestResult, head: AsyncIterable<Uint8Array> }, opts: { folderPath?: string, profile: ImportProfile, thumbnails?: boolean }): Promise<Entry> {
    const name = fileName(item.filename, 'file')
    let s: Staged
    try {
      const sniffed = sniffing(item.head, item.mimetype, name)
      for await (const _ of sniffed.stream) { /* read for its type */ }
      s = { name, mimetype: await sniffed.type, file: item.file }
      if (opts.thumbnails !== false) s.thumb = await this.thumbnailFor(s.mimetype, item.file, opts.profile).catch(() => undefined)
    } catch (err) {
      await this.content.discard(item.file)
      throw err
    }
    return (await this.commitStaged(account, spaceName, parseFolderPath(opts.folderPath), [s], {}))[0]
  }

  private async commitStaged (account: Account, spaceName: string, segments: string[], staged: Staged[], opts: { onCommit?: (trx: Trx, entries: Entry[]) => Promise<void> }): Promise<Entry[]> {
    const spaceId = await this.space(account.id, spaceName)
    const imports = staged.flatMap(s => s.thumb === undefined ? [s.file] : [s.file, s.thumb])
    return await this.commit(account, imports, async trx => {
      const parent = await this.ensureFolder(trx, account.id, spaceId, segments)
      const rows: Array<Database['entries']> = staged.map((s, i) => ({
        id: randomUUID(),
        space_id: spaceId,
        account_id: account.id,
        parent_id: parent,
        kind: 'file',
        name: s.name,
        cid: s.file.root.cid.toString(),
        size: s.file.root.size,
        mimetype: s.mimetype,
        thumbnail_cid: s.thumb?.root.cid.toString() ?? null,
        pinned: 1,
        created_at: Date.now() + i // keeps upload order stable in newest-first listings
      }))
      await insertEntries(trx, account.id, rows)
      const entries = rows.map(toEntry)
      // a dialect's own rows for these entries, in the same transaction (all or nothing)
      await opts.onCommit?.(trx, entries)
      return entries
    })
  }

  /**
   * Delete entries of an account by id, in one transaction under the account's lock: its
   * usage drops by what they alone referenced and content nothing else pins is released.
   * `before` runs first in the same transaction (a dialect deleting its own rows with them).
   * Ids that are not the account's entries are ignored; answers how many were deleted.
   */
  async removeEntries (accountId: string, ids: string[], before?: (trx: Trx) => Promise<void>): Promise<number> {
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      await before?.(trx)
      if (ids.length === 0) return 0
      const rows = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid'])
        .where('account_id', '=', accountId).where('id', 'in', ids).execute()
      if (rows.length === 0) return 0
      await deleteEntryRows(trx, accountId, rows)
      return rows.length
    })
  }

  /**
   * Store many files as one UnixFS directory (a single entry). Each source's filename may
   * carry a relative path, which becomes subdirectories.
   */
  async putFolder (account: Account, spaceName: string, sources: AsyncIterable<UploadSource>, opts: { name: string, folderPath?: string, profile: ImportProfile, budget: ByteBudget, signal?: AbortSignal }): Promise<{ entry: Entry, members: FolderMember[] }> {
    const segments = parseFolderPath(opts.folderPath)
    const seen = new Set<string>()
    let n = 0
    const budget = opts.budget
    const onBytes = this.opts.onBytesIn
    async function * candidates (): AsyncIterable<{ path: string, content: AsyncIterable<Uint8Array> }> {
      for await (const src of sources) {
        n++
        const path = relativeFilePath(src.filename, `file-${n}`)
        if (seen.has(path)) throw new CairnError('invalid_argument', `two files named "${path}" in one folder`)
        seen.add(path)
        yield { path, content: metered(src.content, budget, onBytes) }
      }
      if (n === 0) throw new CairnError('invalid_argument', 'No files')
    }
    const imported = await this.content.import(candidates(), { profile: opts.profile, wrapWithDirectory: true, signal: opts.signal })
    const spaceId = await this.space(account.id, spaceName)
    const entry = await this.commit(account, [imported], async trx => {
      const parent = await this.ensureFolder(trx, account.id, spaceId, segments)
      const row: Database['entries'] = {
        id: randomUUID(),
        space_id: spaceId,
        account_id: account.id,
        parent_id: parent,
        kind: 'directory',
        name: opts.name,
        cid: imported.root.cid.toString(),
        size: imported.root.size,
        mimetype: null,
        thumbnail_cid: null,
        pinned: 1,
        created_at: Date.now()
      }
      await insertEntries(trx, account.id, [row])
      return toEntry(row)
    })
    return {
      entry,
      members: imported.members.map(m => ({ path: m.path, cid: m.cid.toString(), size: m.size, kind: m.kind, dagSize: m.dagSize }))
    }
  }

  /** Entries of one folder, or (folderId undefined) every file of the space, newest first. */
  async list (accountId: string, spaceName: string, opts: { folderId: string | undefined, offset: number, limit: number, includeFolders: boolean }): Promise<{ entries: Entry[], total: number }> {
    const spaceId = await this.space(accountId, spaceName)
    let q = this.db.selectFrom('entries').where('space_id', '=', spaceId)
    if (opts.folderId !== undefined) q = q.where('parent_id', '=', opts.folderId)
    if (!opts.includeFolders || opts.folderId === undefined) q = q.where('kind', '!=', 'folder')
    const total = Number((await q.select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
    const rows = await q.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute()
    return { entries: rows.map(toEntry), total }
  }

  /**
   * What an account may read under `cid`: an entry of its own with that CID, a file or
   * directory inside one of its directories, or one of its thumbnails. Anything else is
   * not_found, whether or not another account stored it.
   */
  async readable (accountId: string, cid: CID): Promise<{ name: string, mimetype: string | null, kind: string, thumbnailCid: string | null }> {
    const forms = cidForms(cid)
    const own = await this.db.selectFrom('entries').select(['name', 'mimetype', 'kind', 'thumbnail_cid'])
      .where('account_id', '=', accountId).where('cid', 'in', forms).orderBy('created_at', 'desc').executeTakeFirst()
    if (own !== undefined) return { name: own.name, mimetype: own.mimetype, kind: own.kind, thumbnailCid: own.thumbnail_cid }
    const member = await this.db.selectFrom('content_members')
      .innerJoin('entries', 'entries.cid', 'content_members.root_cid')
      .select(['content_members.path', 'content_members.kind'])
      .where('entries.account_id', '=', accountId).where('content_members.cid', 'in', forms).executeTakeFirst()
    if (member !== undefined) return { name: member.path.split('/').pop() ?? member.path, mimetype: null, kind: member.kind, thumbnailCid: null }
    const thumb = await this.db.selectFrom('entries').select('name')
      .where('account_id', '=', accountId).where('thumbnail_cid', 'in', forms).executeTakeFirst()
    if (thumb !== undefined) return { name: `${thumb.name}.thumb.jpg`, mimetype: 'image/jpeg', kind: 'file', thumbnailCid: null }
    throw notFound('File not found')
  }

  /** The entry of this id if the account owns it and it still exists. */
  async entry (accountId: string, entryId: string): Promise<Entry | undefined> {
    const r = await this.db.selectFrom('entries').selectAll().where('id', '=', entryId).where('account_id', '=', accountId).executeTakeFirst()
    return r === undefined ? undefined : toEntry(r)
  }

  /**
   * Rename an entry of the space and/or move it to another folder of it (`folderId`: '' the
   * top level). Another account's entry, or one of another space, is not_found, as is a
   * target folder that is not the space's. The destination may not already hold an item of
   * the new name (conflict: nothing is ever replaced), and a folder cannot move into itself
   * or below itself. Content, usage and share links are untouched: only the name and place change.
   */
  async moveEntry (accountId: string, spaceName: string, entryId: string, to: { name?: unknown, folderId?: string }): Promise<Entry> {
    const spaceId = await this.space(accountId, spaceName)
    try {
      return await this.db.transaction().execute(async trx => {
        await lockAccount(trx, accountId)
        const row = await trx.selectFrom('entries').selectAll().where('id', '=', entryId)
          .where('account_id', '=', accountId).where('space_id', '=', spaceId).executeTakeFirst()
        if (row === undefined) throw notFound('File or folder not found')
        const name = to.name === undefined ? row.name : entryName(to.name, row.kind === 'folder' ? MAX_SEGMENT : MAX_NAME)
        const parent = to.folderId ?? row.parent_id
        if (parent !== '') {
          // the target must be a folder of this space; for a folder, not itself or below it
          for (let at: string = parent; at !== '';) {
            if (at === row.id) throw new CairnError('invalid_argument', 'A folder cannot move into itself or one of its subfolders')
            const f = await trx.selectFrom('entries').select(['parent_id', 'kind']).where('id', '=', at).where('space_id', '=', spaceId).executeTakeFirst()
            if (f === undefined || f.kind !== 'folder') throw notFound('Folder not found')
            at = f.parent_id
          }
        }
        if (name === row.name && parent === row.parent_id) return toEntry(row)
        const taken = await trx.selectFrom('entries').select('kind').where('space_id', '=', spaceId)
          .where('parent_id', '=', parent).where('name', '=', name).where('id', '!=', row.id).executeTakeFirst()
        if (taken !== undefined) throw new CairnError('conflict', `A ${taken.kind === 'folder' ? 'folder' : 'file'} named "${name}" is already there`)
        await trx.updateTable('entries').set({ name, parent_id: parent }).where('id', '=', row.id).execute()
        return toEntry({ ...row, name, parent_id: parent })
      })
    } catch (err) {
      // a folder of that name made at the same moment (the unique index on folder names)
      if (isUniqueViolation(err)) throw new CairnError('conflict', 'A folder of that name is already there')
      throw err
    }
  }

  /** Every folder of the space with its path (a/b), sorted by path: what a folder picker shows. */
  async folderPaths (accountId: string, spaceName: string, limit = 10_000): Promise<Array<{ id: string, path: string }>> {
    const spaceId = await this.space(accountId, spaceName)
    const rows = await this.db.selectFrom('entries').select(['id', 'parent_id', 'name']).where('space_id', '=', spaceId)
      .where('kind', '=', 'folder').limit(limit).execute()
    const byId = new Map(rows.map(r => [r.id, r]))
    const paths = new Map<string, string>()
    const pathOf = (id: string, depth = 0): string | undefined => {
      const known = paths.get(id)
      if (known !== undefined) return known
      const r = byId.get(id)
      if (r === undefined || depth > 64) return undefined
      const up = r.parent_id === '' ? '' : pathOf(r.parent_id, depth + 1)
      if (up === undefined) return undefined
      const p = up === '' ? r.name : `${up}/${r.name}`
      paths.set(id, p)
      return p
    }
    const out: Array<{ id: string, path: string }> = []
    for (const r of rows) { const p = pathOf(r.id); if (p !== undefined) out.push({ id: r.id, path: p }) }
    return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  }

  /** The path (a/b) of a folder of the space, '' for the top level. */
  async folderPathOf (folderId: string): Promise<string> {
    const names: string[] = []
    for (let at = folderId; at !== '' && names.length <= 64;) {
      const f = await this.db.selectFrom('entries').select(['parent_id', 'name']).where('id', '=', at).executeTakeFirst()
      if (f === undefined) break
      names.unshift(f.name)
      at = f.parent_id
    }
    return names.join('/')
  }

  /** Remove one entry by id (not_found unless the account owns it); content is released when nothing else references it. */
  async removeEntry (accountId: string, entryId: string): Promise<void> {
    await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const rows = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid'])
        .where('id', '=', entryId).where('account_id', '=', accountId).where('kind', '!=', 'folder').execute()
      if (rows.length === 0) throw notFound('File not found')
      await deleteEntryRows(trx, accountId, rows)
    })
  }

  /**
   * Every file and UnixFS directory of a space, in any folder, filtered and sorted (the flat
   * file lists of the gateway API); `total` counts all that match.
   */
  async listFiles (accountId: string, spaceName: string, query: FileQuery): Promise<{ entries: Entry[], total: number }> {
    const spaceId = await this.space(accountId, spaceName)
    let q = this.db.selectFrom('entries').where('space_id', '=', spaceId).where('kind', '!=', 'folder')
    if (query.pinned !== undefined) q = q.where('pinned', '=', query.pinned ? 1 : 0)
    const search = query.search?.trim()
    if (search !== undefined && search.length > 0) {
      let forms: string[] = []
      try { forms = cidForms(parseCid(search)) } catch {}
      const pattern = '%' + search.toLowerCase().replace(/[\\%_]/g, c => '\\' + c) + '%'
      q = q.where(eb => eb.or([
        eb(eb.fn('lower', ['name']), 'like', sql<string>`${pattern} escape '\\'`),
        ...(forms.length > 0 ? [eb('cid', 'in', forms)] : [])
      ]))
    }
    const total = Number((await q.select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
    const column = query.sortBy === 'size' ? 'size' : query.sortBy === 'name' ? 'name' : 'created_at'
    const rows = await q.selectAll().orderBy(column, query.order ?? 'desc').orderBy('id')
      .limit(query.limit).offset(query.offset).execute()
    return { entries: rows.map(toEntry), total }
  }

  /** The space's entries of one CID (any spelling), newest first. */
  async entriesOf (accountId: string, spaceName: string, cid: CID): Promise<Entry[]> {
    const spaceId = await this.space(accountId, spaceName)
    const rows = await this.db.selectFrom('entries').selectAll().where('space_id', '=', spaceId)
      .where('cid', 'in', cidForms(cid)).orderBy('created_at', 'desc').orderBy('id').execute()
    return rows.map(toEntry)
  }

  /**
   * Pin or unpin every entry of `cid` in the space. Unpinning releases the content when no
   * pinned entry (of any account) is left, so the collector may free it after the grace
   * period; the entries stay, listed as unpinned. Pinning again revives the content, unless
   * it was already collected (failed_precondition: upload it again). Pinning what is pinned,
   * or unpinning what is not, is a conflict.
   */
  async setPinned (accountId: string, spaceName: string, cid: CID, pinned: boolean): Promise<Entry[]> {
    const forms = cidForms(cid)
    const spaceId = await this.space(accountId, spaceName)
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const rows = await trx.selectFrom('entries').selectAll().where('space_id', '=', spaceId).where('cid', 'in', forms).execute()
      if (rows.length === 0) throw notFound('File not found')
      const changing = rows.filter(r => (r.pinned === 1) !== pinned)
      if (changing.length === 0) throw new CairnError('conflict', pinned ? 'File is already pinned' : 'File is not pinned')
      await trx.updateTable('entries').set({ pinned: pinned ? 1 : 0 }).where('id', 'in', changing.map(r => r.id)).execute()
      const cids = [...new Set(changing.flatMap(r => [r.cid, r.thumbnail_cid]).filter((c): c is string => c !== null))]
      if (pinned) {
        // the same row the collector deletes under a condition on released_at: see gc.ts
        for (const c of [...cids].sort()) {
          const kept = await trx.updateTable('contents').set({ released_at: null }).where('cid', '=', c).executeTakeFirst()
          if (Number(kept.numUpdatedRows) === 0 && changing.some(r => r.cid === c)) {
            throw new CairnError('failed_precondition', 'The content of this file was garbage-collected after it was unpinned; upload it again')
          }
        }
      } else {
        await releaseIfUnreferenced(trx, cids)
      }
      return rows.map(r => toEntry(changing.includes(r) ? { ...r, pinned: pinned ? 1 : 0 } : r))
    })
  }

  /**
   * Remove many CIDs from a space, each in its own transaction (a failure affects only its
   * CID). Answers how many were removed and why the others were not.
   */
  async removeMany (accountId: string, spaceName: string, cids: string[], signal?: AbortSignal): Promise<{ deleted: number, failed: Array<{ cid: string, reason: string }> }> {
    const out = { deleted: 0, failed: [] as Array<{ cid: string, reason: string }> }
    const seen = new Set<string>()
    for (const given of cids) {
      if (signal?.aborted === true) throw new CairnError('aborted', 'cancelled')
      let cid: CID
      try {
        cid = parseCid(given)
      } catch {
        out.failed.push({ cid: given, reason: 'Invalid CID' })
        continue
      }
      const forms = cidForms(cid)
      if (forms.some(f => seen.has(f))) continue // the same file named twice: removed once
      for (const f of forms) seen.add(f)
      try {
        await this.removeByCid(accountId, spaceName, cid)
        out.deleted++
      } catch (err) {
        if (err instanceof CairnError && err.code === 'not_found') out.failed.push({ cid: given, reason: 'File not found' })
        else throw err
      }
    }
    return out
  }

  /**
   * Reference content that is already stored (as a DAG root, a `contents` row) from an entry
   * of the space named by its CID, unless the space has one already: the content is revived
   * and counts against the account's quota (413 quota_exceeded when it does not fit). Answers
   * false, changing nothing, when the CID is not stored as a root. A pin of stored content.
   */
  async referenceStored (account: Account, spaceName: string, cid: CID): Promise<boolean> {
    const forms = cidForms(cid)
    const spaceId = await this.space(account.id, spaceName)
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, account.id)
      const stored = await trx.selectFrom('contents').select(['cid', 'kind', 'size']).where('cid', 'in', forms).executeTakeFirst()
      if (stored === undefined) return false
      // the same row the collector deletes under a condition on released_at: see gc.ts
      const kept = await trx.updateTable('contents').set({ released_at: null }).where('cid', '=', stored.cid).executeTakeFirst()
      if (Number(kept.numUpdatedRows) === 0) return false
      const held = await trx.selectFrom('entries').select('id').where('space_id', '=', spaceId).where('cid', 'in', forms).executeTakeFirst()
      if (held !== undefined) {
        await trx.updateTable('entries').set({ pinned: 1 }).where('id', '=', held.id).execute()
        return true
      }
      await insertEntries(trx, account.id, [{
        id: randomUUID(),
        space_id: spaceId,
        account_id: account.id,
        parent_id: '',
        kind: stored.kind === 'directory' ? 'directory' : 'file',
        name: stored.cid,
        cid: stored.cid,
        size: Number(stored.size),
        mimetype: stored.kind === 'dag' ? (codecContentType(parseCid(stored.cid).code) ?? 'application/octet-stream') : null,
        thumbnail_cid: null,
        pinned: 1,
        created_at: Date.now()
      }])
      if (await this.usage(account.id, trx) > account.capacityBytes) throw capacityExceeded()
      return true
    })
  }

  /**
   * Unpin entries just made (Kubo's `add` with pin=false): the content stays listed and
   * readable until the collector frees it, unless another pinned entry keeps it.
   */
  async unpinEntries (accountId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const rows = await trx.selectFrom('entries').select(['cid', 'thumbnail_cid']).where('account_id', '=', accountId).where('id', 'in', ids).execute()
      await trx.updateTable('entries').set({ pinned: 0 }).where('account_id', '=', accountId).where('id', 'in', ids).execute()
      await releaseIfUnreferenced(trx, [...new Set(rows.flatMap(r => [r.cid, r.thumbnail_cid]).filter((c): c is string => c !== null))])
    })
  }

  /** CIDs of the space's pinned files and directories (Kubo's pin/ls), oldest first. */
  async pinnedCids (accountId: string, spaceName: string, limit: number): Promise<string[]> {
    const spaceId = await this.space(accountId, spaceName)
    const rows = await this.db.selectFrom('entries').select('cid').distinct().where('space_id', '=', spaceId)
      .where('pinned', '=', 1).where('cid', 'is not', null).limit(limit).execute()
    return rows.map(r => r.cid as string)
  }

  /**
   * Throws not_found unless the account may read the block `cid`: readable() as a whole, or
   * any block of a DAG one of its entries references (Kubo's block/get of a file's leaves).
   */
  async blockReadable (accountId: string, cid: CID): Promise<void> {
    try {
      await this.readable(accountId, cid)
      return
    } catch (err) {
      if (!(err instanceof CairnError && err.code === 'not_found')) throw err
    }
    const row = await this.db.selectFrom('blocks')
      .innerJoin('packs', 'packs.id', 'blocks.pack_id')
      // a block of the content's pack, or of a part pack it owns (a file sent in parts)
      .innerJoin('contents', join => join.on(eb => eb.or([eb('contents.pack_id', '=', eb.ref('packs.id')), eb('contents.pack_id', '=', eb.ref('packs.part_of'))])))
      .innerJoin('entries', 'entries.cid', 'contents.cid')
      .select('entries.id')
      .where('blocks.mh', '=', mhKey(cid)).where('entries.account_id', '=', accountId).executeTakeFirst()
    if (row === undefined) throw notFound('block not found')
  }

  /** Remove every entry of `cid` from the account's space; content is released when nothing else references it. */
  async removeByCid (accountId: string, spaceName: string, cid: CID): Promise<number> {
    const forms = cidForms(cid)
    const spaceId = await this.space(accountId, spaceName)
    return await this.db.transaction().execute(async trx => {
      // the account's row lock first, as in commit: its entries and its usage counter change together
      await lockAccount(trx, accountId)
      const rows = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid'])
        .where('space_id', '=', spaceId).where('cid', 'in', forms).execute()
      if (rows.length === 0) throw notFound('File not found')
      await deleteEntryRows(trx, accountId, rows)
      return rows.length
    })
  }
}

export type FileSort = 'uploaded_at' | 'size' | 'name'

export interface FileQuery {
  offset: number
  limit: number
  /** a substring of the name, or a CID (any spelling) */
  search?: string
  pinned?: boolean
  sortBy?: FileSort
  order?: 'asc' | 'desc'
}

/** Something a commit records in its transaction; `record` answers whether it was a duplicate (to discard after commit). */
interface Recordable {
  /** the root CID: records are written in this order */
  order: string
  record: (trx: Trx) => Promise<boolean>
  discard: () => Promise<void>
}

export interface CarImportOutcome {
  roots: Array<{ cid: string, kind: 'file' | 'directory' | 'dag', size: number, missing: string | undefined }>
  blockCount: number
  blockBytes: number
  /** the entries made for the roots (none without pinRoots, or when the space had them already) */
  entries: Entry[]
}

/** Indexes of `records` sorted by root CID (stable: the first of equal roots is recorded first). */
function recordOrder (records: Recordable[]): number[] {
  const keys = records.map(r => r.order)
  return keys.map((_, i) => i).sort((x, y) => keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : x - y)
}

/**
 * Take the account's row lock for the rest of the transaction. Every transaction that changes
 * an account's entries takes it first, so they run one at a time per account (PostgreSQL
 * would otherwise run them side by side) and the usage counter stays exact.
 */
export async function lockAccount (trx: Trx, accountId: string): Promise<void> {
  // not SET id = id: with foreign keys on, SQLite treats any write to a parent key as a key
  // change and checks every row referencing the account (all its entries) on each commit
  await trx.updateTable('accounts').set(eb => ({ used_bytes: eb.ref('used_bytes') })).where('id', '=', accountId).execute()
}

/** Per CID, the largest size among the account's entries that name it (indexed by entries_account_cid). */
async function heldSizes (trx: Trx, accountId: string, cids: string[]): Promise<Map<string, number>> {
  const held = new Map<string, number>()
  if (cids.length === 0) return held
  const rows = await trx.selectFrom('entries').select(['cid', eb => eb.fn.max('size').as('size')])
    .where('account_id', '=', accountId).where('cid', 'in', cids).groupBy('cid').execute()
  for (const r of rows) if (r.cid !== null) held.set(r.cid, Number(r.size))
  return held
}

function maxSizeByCid (rows: Array<{ cid: string | null, size: number }>): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const r of rows) if (r.cid !== null) sizes.set(r.cid, Math.max(Number(r.size), sizes.get(r.cid) ?? 0))
  return sizes
}

async function addUsage (trx: Trx, accountId: string, delta: number): Promise<void> {
  if (delta === 0) return
  await trx.updateTable('accounts').set(eb => ({ used_bytes: eb('used_bytes', '+', delta) })).where('id', '=', accountId).execute()
}

/**
 * Insert entries of one account and add to its usage counter what they add to usage(): the
 * size of each CID the account did not reference before (a CID named by several of the new
 * entries counts once). The caller holds the account's row lock.
 */
export async function insertEntries (trx: Trx, accountId: string, rows: Array<Database['entries']>): Promise<void> {
  const incoming = maxSizeByCid(rows)
  const before = await heldSizes(trx, accountId, [...incoming.keys()])
  await trx.insertInto('entries').values(rows).execute()
  let delta = 0
  for (const [cid, size] of incoming) delta += Math.max(0, size - (before.get(cid) ?? 0))
  await addUsage(trx, accountId, delta)
}

/**
 * Delete entries of one account (the caller holds its row lock), in batches, keeping the usage
 * counter exact and releasing each CID (and thumbnail) nothing references any more.
 */
export async function deleteEntryRows (trx: Trx, accountId: string, rows: Array<{ id: string, cid: string | null, size: number, thumbnail_cid: string | null }>): Promise<void> {
  if (rows.length === 0) return
  for (let i = 0; i < rows.length; i += 500) await trx.deleteFrom('entries').where('id', 'in', rows.slice(i, i + 500).map(r => r.id)).execute()
  await uncountRemoved(trx, accountId, rows)
  const released = new Set<string>()
  for (const r of rows) {
    if (r.cid !== null) released.add(r.cid)
    if (r.thumbnail_cid !== null) released.add(r.thumbnail_cid)
  }
  await releaseIfUnreferenced(trx, [...released])
}

/**
 * After deleting `removed` (entries of one account): subtract from its counter the size of
 * each CID the account no longer references at all; a CID still named by another of its
 * entries (in another folder or space) keeps counting. The caller holds the account's row lock.
 */
export async function uncountRemoved (trx: Trx, accountId: string, removed: Array<{ cid: string | null, size: number }>): Promise<void> {
  const gone = maxSizeByCid(removed)
  const remaining = await heldSizes(trx, accountId, [...gone.keys()])
  let delta = 0
  for (const [cid, size] of gone) {
    const left = remaining.get(cid) ?? 0
    delta -= Math.max(size, left) - left
  }
  await addUsage(trx, accountId, delta)
}

/**
 * Accounts whose usage counter disagrees with their entries (what fsck reports). One
 * statement, so it reads one consistent snapshot even while commits run.
 */
export async function usageMismatches (db: Db): Promise<{ accounts: number, mismatches: Array<{ accountId: string, counter: number, entries: number }> }> {
  const r = await sql<{ id: string, counter: number | string, entries: number | string | null }>`
    SELECT a.id, a.used_bytes AS counter, t.used AS entries
    FROM accounts a LEFT JOIN (
      SELECT account_id, SUM(size) AS used FROM (
        SELECT account_id, cid, MAX(size) AS size FROM entries WHERE cid IS NOT NULL GROUP BY account_id, cid
      ) d GROUP BY account_id
    ) t ON t.account_id = a.id
    ORDER BY a.created_at, a.id`.execute(db)
  const mismatches = r.rows
    .map(row => ({ accountId: row.id, counter: Number(row.counter), entries: Number(row.entries ?? 0) }))
    .filter(m => m.counter !== m.entries)
  return { accounts: r.rows.length, mismatches }
}

/**
 * Mark content whose last pinned reference went away; the collector frees it after the grace
 * period. An unpinned entry does not keep its content (or its thumbnail) alive.
 */
export async function releaseIfUnreferenced (trx: Trx, cids: string[]): Promise<void> {
  const now = Date.now()
  // in CID order, as commits revive content: the same rows' locks in the same order
  for (const cid of [...cids].sort()) {
    const ref = await trx.selectFrom('entries').select('id').where('pinned', '=', 1)
      .where(eb => eb.or([eb('cid', '=', cid), eb('thumbnail_cid', '=', cid)])).executeTakeFirst()
    if (ref === undefined) {
      await trx.updateTable('contents').set({ released_at: now }).where('cid', '=', cid).where('released_at', 'is', null).execute()
    }
  }
}
