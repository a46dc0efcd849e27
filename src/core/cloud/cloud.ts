/**
 * FluidCloud's domain: spaces, a folder tree with Trash, files with their scan state and
 * client_key, presigned uploads, raw share links and quota, all scoped to one environment's
 * account (every query names it: another tenant's or environment's ids are not found).
 *
 * A space is backed by a drive space (`cloud:<space id>`), and each file by an entry of it:
 * the entry holds the CID, keeps the content alive and counts in the account's usage exactly
 * as every other dialect's files do. cloud_files adds what FluidCloud knows about the file.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Config, PlanName } from '../../config.js'
import type { Db } from '../../adapters/metadata/open.js'
import type { Database } from '../../adapters/metadata/schema.js'
import type { Account } from '../accounts.js'
import { isUniqueViolation } from '../accounts.js'
import { parseCid } from '../content/cids.js'
import type { ContentStore } from '../content/content-store.js'
import { lockAccount, type Drive, type UploadSource } from '../drive.js'
import { CairnError, invalid, notFound } from '../errors.js'
import type { JobQueue } from '../ports/job-queue.js'
import type { Scanner } from '../ports/scanner.js'
import { isMultipartKey, PartsMismatch, type UploadedPart, type UploadStaging } from './staging.js'
import type { FileUrlDisposition, FileUrlSigner } from './file-urls.js'

type Trx = Transaction<Database>
export type SpaceRow = Database['cloud_spaces']
export type FolderRow = Database['cloud_folders']
export type FileRow = Database['cloud_files']
export type ShareRow = Database['cloud_shares']
export type UploadRow = Database['cloud_uploads']

export const SCAN_JOB = 'cloud.scan'
export const EMPTY_TRASH_JOB = 'cloud.empty_trash'
export const DEFAULT_SPACE = 'My files'
export const SCAN_STATUSES = ['pending', 'clean', 'infected', 'error'] as const

export interface Page<T> { items: T[], nextCursor: string | null }

/** opaque cursor over (created_at, id) */
export function encodeCursor (createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`, 'utf8').toString('base64url')
}
export function decodeCursor (c: string | undefined): { createdAt: number, id: string } | undefined {
  if (c === undefined || c === '') return undefined
  const m = /^(\d{1,16}):([0-9a-f-]{36})$/.exec(Buffer.from(c, 'base64url').toString('utf8'))
  if (m === null) throw invalid('cursor is not valid: pass next_cursor from the previous page')
  return { createdAt: Number(m[1]), id: m[2] }
}

function page<T extends { created_at: number, id: string }> (rows: T[], limit: number): Page<T> {
  const more = rows.length > limit
  const items = more ? rows.slice(0, limit) : rows
  const last = items[items.length - 1]
  return { items, nextCursor: more && last !== undefined ? encodeCursor(last.created_at, last.id) : null }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** a malformed id is simply not found: ids are opaque */
function idOr404 (id: string, what: string): string {
  if (!UUID.test(id)) throw notFound(`${what} not found`)
  return id
}

export function checkItemName (name: unknown, what: string): string {
  if (typeof name !== 'string') throw invalid(`${what} name is required`)
  const n = name.trim()
  if (n.length === 0 || n.length > 255) throw invalid(`${what} name must be 1 to 255 characters`)
  if (/[/\\\0]/.test(n) || n === '.' || n === '..') throw invalid(`${what} name may not contain a path separator or be . or ..`)
  return n
}

function checkClientKey (k: unknown): string | null {
  if (k === undefined || k === null || k === '') return null
  if (typeof k !== 'string' || k.length > 512 || /[\0-\x1f]/.test(k)) throw invalid('client_key must be a string of at most 512 printable characters')
  return k
}

/** opens a user-given URL for import (an adapter: public addresses only, redirects checked) */
export type UrlOpener = (url: string, signal?: AbortSignal) => Promise<UploadSource & { filename: string, size?: number }>

export class FluidCloud {
  constructor (
    private readonly db: Db,
    private readonly drive: Drive,
    private readonly content: ContentStore,
    private readonly jobs: JobQueue,
    readonly staging: UploadStaging,
    readonly scanner: Scanner,
    private readonly config: Config,
    readonly fileUrls: FileUrlSigner,
    private readonly openUrl?: UrlOpener
  ) {}

  // ---------------------------------------------------------------- spaces

  async listSpaces (a: Account, opts: { limit: number, cursor?: string }): Promise<Page<SpaceRow>> {
    const c = decodeCursor(opts.cursor)
    if (c === undefined) await this.ensureDefaultSpace(a)
    let q = this.db.selectFrom('cloud_spaces').selectAll().where('account_id', '=', a.id)
    if (c !== undefined) q = q.where(eb => eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]))
    return page(await q.orderBy('created_at').orderBy('id').limit(opts.limit + 1).execute(), opts.limit)
  }

  /** the first list makes "My files", so a tenant always has a space */
  private async ensureDefaultSpace (a: Account): Promise<void> {
    const any = await this.db.selectFrom('cloud_spaces').select('id').where('account_id', '=', a.id).limit(1).executeTakeFirst()
    if (any === undefined) await this.createSpace(a, { name: DEFAULT_SPACE })
  }

  async createSpace (a: Account, input: { name: unknown, app?: unknown }): Promise<SpaceRow> {
    const name = checkSpaceName(input.name)
    const app = input.app === undefined || input.app === null ? 'fluidcloud' : checkApp(input.app)
    const id = randomUUID()
    const driveSpace = await this.drive.space(a.id, `cloud:${id}`)
    const now = Date.now()
    const row: SpaceRow = { id, account_id: a.id, drive_space_id: driveSpace, name, app, created_at: now, updated_at: now }
    await this.db.insertInto('cloud_spaces').values(row).execute()
    return row
  }

  async getSpace (a: Account, id: string, db: Db | Trx = this.db): Promise<SpaceRow> {
    const r = await db.selectFrom('cloud_spaces').selectAll().where('account_id', '=', a.id).where('id', '=', idOr404(id, 'space')).executeTakeFirst()
    if (r === undefined) throw notFound('space not found')
    return r
  }

  async updateSpace (a: Account, id: string, patch: { name?: unknown, app?: unknown }): Promise<SpaceRow> {
    const s = await this.getSpace(a, id)
    const set: Partial<SpaceRow> = { updated_at: Date.now() }
    if (patch.name !== undefined) set.name = checkSpaceName(patch.name)
    if (patch.app !== undefined) set.app = checkApp(patch.app)
    await this.db.updateTable('cloud_spaces').set(set).where('id', '=', s.id).execute()
    return { ...s, ...set }
  }

  /** refused while it holds folders or files (Trash included) unless forced: then they go for good */
  async deleteSpace (a: Account, id: string, force: boolean): Promise<void> {
    const s = await this.getSpace(a, id)
    const files = await this.db.selectFrom('cloud_files').select(['id', 'entry_id']).where('account_id', '=', a.id).where('space_id', '=', s.id).execute()
    const folder = await this.db.selectFrom('cloud_folders').select('id').where('account_id', '=', a.id).where('space_id', '=', s.id).limit(1).executeTakeFirst()
    if (!force && (files.length > 0 || folder !== undefined)) {
      throw new CairnError('conflict', 'space is not empty (files or folders, Trash included); delete them first or pass force=true')
    }
    await this.drive.removeEntries(a.id, files.map(f => f.entry_id), async trx => {
      const ids = files.map(f => f.id)
      if (ids.length > 0) {
        await trx.deleteFrom('cloud_shares').where('account_id', '=', a.id).where('file_id', 'in', ids).execute()
        await trx.deleteFrom('cloud_files').where('account_id', '=', a.id).where('id', 'in', ids).execute()
      }
      await trx.deleteFrom('cloud_folders').where('account_id', '=', a.id).where('space_id', '=', s.id).execute()
      await trx.deleteFrom('cloud_uploads').where('account_id', '=', a.id).where('space_id', '=', s.id).execute()
      await trx.deleteFrom('cloud_spaces').where('id', '=', s.id).execute()
    })
    // the drive space is empty now (its entries went with the files)
    await this.db.deleteFrom('spaces').where('id', '=', s.drive_space_id).where('account_id', '=', a.id).execute()
  }

  // ---------------------------------------------------------------- folders

  async getFolder (a: Account, id: string, opts: { trashed?: boolean } = {}, db: Db | Trx = this.db): Promise<FolderRow> {
    const r = await db.selectFrom('cloud_folders').selectAll().where('account_id', '=', a.id).where('id', '=', idOr404(id, 'folder')).executeTakeFirst()
    if (r === undefined || (opts.trashed !== true && r.deleted_at !== null)) throw notFound('folder not found')
    return r
  }

  /** a live folder of `spaceId` (the target of a create or a move); refused as 422 otherwise */
  private async folderIn (a: Account, folderId: string, spaceId: string, db: Db | Trx = this.db): Promise<FolderRow> {
    const f = await this.getFolder(a, folderId, {}, db)
    if (f.space_id !== spaceId) throw new CairnError('failed_precondition', 'folder is in another space: a folder and its contents must be in the same space')
    return f
  }

  async createFolder (a: Account, input: { space_id: unknown, parent_id?: unknown, name: unknown }): Promise<FolderRow> {
    const name = checkItemName(input.name, 'folder')
    const space = await this.getSpace(a, String(input.space_id ?? ''))
    const parent = input.parent_id === undefined || input.parent_id === null ? null : (await this.folderIn(a, String(input.parent_id), space.id)).id
    const now = Date.now()
    const row: FolderRow = { id: randomUUID(), account_id: a.id, space_id: space.id, parent_id: parent, name, created_at: now, updated_at: now, deleted_at: null, trashed_with: null }
    await this.db.insertInto('cloud_folders').values(row).execute()
    return row
  }

  /** children of a folder (or of the space root), or the Trash: folders deleted themselves */
  async listFolders (a: Account, q: { spaceId?: string, parentId?: string | null, trashed: boolean, limit: number, cursor?: string }): Promise<Page<FolderRow>> {
    const c = decodeCursor(q.cursor)
    let sel = this.db.selectFrom('cloud_folders').selectAll().where('account_id', '=', a.id)
    if (q.spaceId !== undefined) sel = sel.where('space_id', '=', (await this.getSpace(a, q.spaceId)).id)
    if (q.trashed) {
      sel = sel.where('deleted_at', 'is not', null).where('trashed_with', 'is', null)
    } else {
      sel = sel.where('deleted_at', 'is', null)
      if (q.parentId === null) {
        if (q.spaceId === undefined) throw invalid('space_id is required to list a space root (or pass parent_id)')
        sel = sel.where('parent_id', 'is', null)
      } else if (q.parentId !== undefined) {
        sel = sel.where('parent_id', '=', (await this.getFolder(a, q.parentId)).id)
      }
    }
    if (c !== undefined) sel = sel.where(eb => eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]))
    return page(await sel.orderBy('created_at').orderBy('id').limit(q.limit + 1).execute(), q.limit)
  }

  async updateFolder (a: Account, id: string, patch: { name?: unknown, parent_id?: unknown }): Promise<FolderRow> {
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, a.id) // moves of one account one at a time: no two moves can make a cycle together
      const f = await this.getFolder(a, id, {}, trx)
      const set: Partial<FolderRow> = { updated_at: Date.now() }
      if (patch.name !== undefined) set.name = checkItemName(patch.name, 'folder')
      if (patch.parent_id !== undefined) {
        if (patch.parent_id === null) set.parent_id = null
        else {
          const target = await this.folderIn(a, String(patch.parent_id), f.space_id, trx)
          // the new parent may not be the folder itself or inside it
          for (let cur: FolderRow | undefined = target; cur !== undefined;) {
            if (cur.id === f.id) throw new CairnError('failed_precondition', 'a folder cannot be moved into itself or one of its subfolders')
            cur = cur.parent_id === null ? undefined : await trx.selectFrom('cloud_folders').selectAll().where('id', '=', cur.parent_id).executeTakeFirst()
          }
          set.parent_id = target.id
        }
      }
      await trx.updateTable('cloud_folders').set(set).where('id', '=', f.id).execute()
      return { ...f, ...set }
    })
  }

  /** ids of the folder's live subfolders, at any depth */
  private async descendants (trx: Db | Trx, accountId: string, rootId: string, trashedWith?: string): Promise<string[]> {
    const out: string[] = []
    let frontier = [rootId]
    while (frontier.length > 0) {
      let q = trx.selectFrom('cloud_folders').select('id').where('account_id', '=', accountId).where('parent_id', 'in', frontier)
      q = trashedWith === undefined ? q.where('deleted_at', 'is', null) : q.where('trashed_with', '=', trashedWith)
      frontier = (await q.execute()).map(r => r.id)
      out.push(...frontier)
    }
    return out
  }

  /** to Trash with everything in it; restore brings back exactly what this deletion trashed */
  async trashFolder (a: Account, id: string): Promise<FolderRow> {
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, a.id)
      const f = await this.getFolder(a, id, {}, trx)
      const now = Date.now()
      const sub = await this.descendants(trx, a.id, f.id)
      await trx.updateTable('cloud_folders').set({ deleted_at: now, trashed_with: null, updated_at: now }).where('id', '=', f.id).execute()
      if (sub.length > 0) await trx.updateTable('cloud_folders').set({ deleted_at: now, trashed_with: f.id }).where('id', 'in', sub).execute()
      await trx.updateTable('cloud_files').set({ deleted_at: now, trashed_with: f.id })
        .where('account_id', '=', a.id).where('folder_id', 'in', [f.id, ...sub]).where('deleted_at', 'is', null).execute()
      return { ...f, deleted_at: now, trashed_with: null, updated_at: now }
    })
  }

  async restoreFolder (a: Account, id: string): Promise<FolderRow> {
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, a.id)
      const f = await this.getFolder(a, id, { trashed: true }, trx)
      if (f.deleted_at === null) return f
      if (f.trashed_with !== null) throw new CairnError('conflict', 'this folder went to Trash with a parent folder: restore that one')
      if (f.parent_id !== null) {
        const p = await trx.selectFrom('cloud_folders').select('deleted_at').where('id', '=', f.parent_id).executeTakeFirst()
        if (p === undefined || p.deleted_at !== null) throw new CairnError('conflict', 'the parent folder is in Trash: restore it first')
      }
      const now = Date.now()
      const sub = await this.descendants(trx, a.id, f.id, f.id)
      await trx.updateTable('cloud_folders').set({ deleted_at: null, updated_at: now }).where('id', '=', f.id).execute()
      if (sub.length > 0) await trx.updateTable('cloud_folders').set({ deleted_at: null, trashed_with: null }).where('id', 'in', sub).execute()
      await trx.updateTable('cloud_files').set({ deleted_at: null, trashed_with: null })
        .where('account_id', '=', a.id).where('trashed_with', '=', f.id).execute()
      return { ...f, deleted_at: null, updated_at: now }
    })
  }

  async folderStats (a: Account, id: string): Promise<{ folder_id: string, folders: number, files: number, bytes: number }> {
    const f = await this.getFolder(a, id)
    const sub = await this.descendants(this.db, a.id, f.id)
    const r = await this.db.selectFrom('cloud_files').select(eb => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
      .where('account_id', '=', a.id).where('folder_id', 'in', [f.id, ...sub]).where('deleted_at', 'is', null).executeTakeFirstOrThrow()
    return { folder_id: f.id, folders: sub.length, files: Number(r.n), bytes: Number(r.bytes ?? 0) }
  }

  // ---------------------------------------------------------------- files

  async getFile (a: Account, id: string, opts: { trashed?: boolean } = {}, db: Db | Trx = this.db): Promise<FileRow> {
    const r = await db.selectFrom('cloud_files').selectAll().where('account_id', '=', a.id).where('id', '=', idOr404(id, 'file')).executeTakeFirst()
    if (r === undefined || (opts.trashed !== true && r.deleted_at !== null)) throw notFound('file not found')
    return r
  }

  async resolveClientKey (a: Account, clientKey: string): Promise<FileRow> {
    const r = await this.db.selectFrom('cloud_files').selectAll().where('account_id', '=', a.id).where('client_key', '=', clientKey)
      .where('deleted_at', 'is', null).executeTakeFirst()
    if (r === undefined) throw notFound('file not found')
    return r
  }

  async listFiles (a: Account, q: { spaceId?: string, folderId?: string | null, scanStatus?: string, clientKeyPrefix?: string, trashed: boolean, limit: number, cursor?: string }): Promise<Page<FileRow>> {
    const c = decodeCursor(q.cursor)
    let sel = this.db.selectFrom('cloud_files').selectAll().where('account_id', '=', a.id)
    sel = q.trashed ? sel.where('deleted_at', 'is not', null) : sel.where('deleted_at', 'is', null)
    if (q.spaceId !== undefined) sel = sel.where('space_id', '=', (await this.getSpace(a, q.spaceId)).id)
    if (q.folderId === null) sel = sel.where('folder_id', 'is', null)
    else if (q.folderId !== undefined) sel = sel.where('folder_id', '=', (await this.getFolder(a, q.folderId, { trashed: q.trashed })).id)
    if (q.scanStatus !== undefined) sel = sel.where('scan_status', '=', q.scanStatus)
    if (q.clientKeyPrefix !== undefined && q.clientKeyPrefix !== '') {
      // a prefix match without LIKE wildcards: [prefix, prefix + U+FFFF)
      sel = sel.where('client_key', '>=', q.clientKeyPrefix).where('client_key', '<', q.clientKeyPrefix + '\uffff')
    }
    if (c !== undefined) sel = sel.where(eb => eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]))
    return page(await sel.orderBy('created_at').orderBy('id').limit(q.limit + 1).execute(), q.limit)
  }

  async updateFile (a: Account, id: string, patch: { name?: unknown, folder_id?: unknown, space_id?: unknown }): Promise<FileRow> {
    return await this.db.transaction().execute(async trx => {
      const f = await this.getFile(a, id, {}, trx)
      const set: Partial<FileRow> = { updated_at: Date.now() }
      if (patch.name !== undefined) set.name = checkItemName(patch.name, 'file')
      let spaceId = f.space_id
      if (patch.space_id !== undefined && patch.space_id !== f.space_id) {
        const s = await this.getSpace(a, String(patch.space_id), trx)
        spaceId = s.id
        set.space_id = s.id
        set.folder_id = null
        await trx.updateTable('entries').set({ space_id: s.drive_space_id }).where('id', '=', f.entry_id).where('account_id', '=', a.id).execute()
      }
      if (patch.folder_id !== undefined) {
        set.folder_id = patch.folder_id === null ? null : (await this.folderIn(a, String(patch.folder_id), spaceId, trx)).id
      }
      if (set.name !== undefined) await trx.updateTable('entries').set({ name: set.name }).where('id', '=', f.entry_id).execute()
      await trx.updateTable('cloud_files').set(set).where('id', '=', f.id).execute()
      return { ...f, ...set }
    })
  }

  /** soft delete: to Trash, bytes kept and still counted */
  async trashFile (a: Account, id: string): Promise<FileRow> {
    const f = await this.getFile(a, id)
    const now = Date.now()
    await this.db.updateTable('cloud_files').set({ deleted_at: now, trashed_with: null, updated_at: now }).where('id', '=', f.id).execute()
    return { ...f, deleted_at: now, trashed_with: null, updated_at: now }
  }

  async restoreFile (a: Account, id: string): Promise<FileRow> {
    const f = await this.getFile(a, id, { trashed: true })
    if (f.deleted_at === null) return f
    const set: Partial<FileRow> = { deleted_at: null, trashed_with: null, updated_at: Date.now() }
    if (f.folder_id !== null) {
      const folder = await this.db.selectFrom('cloud_folders').select('deleted_at').where('id', '=', f.folder_id).executeTakeFirst()
      // its folder is still in Trash (or gone): the file comes back at the space root
      if (folder === undefined || folder.deleted_at !== null) set.folder_id = null
    }
    await this.db.updateTable('cloud_files').set(set).where('id', '=', f.id).execute()
    return { ...f, ...set }
  }

  /** for good: links die first, then the record and its entry (usage returns, content is released) */
  async purgeFile (a: Account, id: string): Promise<void> {
    const f = await this.getFile(a, id, { trashed: true })
    await this.purge(a, [f])
  }

  private async purge (a: Account, files: Array<{ id: string, entry_id: string }>): Promise<void> {
    if (files.length === 0) return
    const ids = files.map(f => f.id)
    await this.drive.removeEntries(a.id, files.map(f => f.entry_id), async trx => {
      await trx.deleteFrom('cloud_shares').where('account_id', '=', a.id).where('file_id', 'in', ids).execute()
      await trx.deleteFrom('cloud_files').where('account_id', '=', a.id).where('id', 'in', ids).execute()
    })
  }

  /** empty the Trash (one space's, or all); answers how many files and folders went */
  async emptyTrash (a: Account, spaceId?: string): Promise<{ files: number, folders: number }> {
    let fq = this.db.selectFrom('cloud_files').select(['id', 'entry_id']).where('account_id', '=', a.id).where('deleted_at', 'is not', null)
    if (spaceId !== undefined) fq = fq.where('space_id', '=', spaceId)
    const files = await fq.execute()
    for (let i = 0; i < files.length; i += 500) await this.purge(a, files.slice(i, i + 500))
    let dq = this.db.deleteFrom('cloud_folders').where('account_id', '=', a.id).where('deleted_at', 'is not', null)
    if (spaceId !== undefined) dq = dq.where('space_id', '=', spaceId)
    // a trashed folder may still hold live files moved in after? no: files cannot move into a trashed folder
    const r = await dq.executeTakeFirst()
    return { files: files.length, folders: Number(r.numDeletedRows) }
  }

  async startEmptyTrash (a: Account, spaceId?: string): Promise<string> {
    const sid = spaceId === undefined ? undefined : (await this.getSpace(a, spaceId)).id
    const job = await this.jobs.enqueue(EMPTY_TRASH_JOB, { accountId: a.id, spaceId: sid }, { accountId: a.id })
    return job.id
  }

  // ---------------------------------------------------------------- uploads

  /** remaining capacity (402 quota_exceeded when `size` would not fit) */
  private async checkFits (a: Account, size: number): Promise<void> {
    if (size > a.planLimits.maxFileBytes) throw new CairnError('file_too_large', `file is larger than the plan's ${a.planLimits.maxFileBytes} byte limit per file`)
    const used = await this.drive.usage(a.id)
    if (used + size > a.capacityBytes) throw new CairnError('quota_exceeded', 'the upload would exceed the storage pool', { bytes_used: used, bytes_limit: a.capacityBytes, requested: size })
  }

  async initiateUpload (a: Account, keyId: string, input: { name: unknown, size: unknown, space_id: unknown, folder_id?: unknown, client_key?: unknown, mime?: unknown }): Promise<{ upload: UploadRow, url?: string, headers: Record<string, string>, multipart?: { partSize: number, parts: Array<{ part_number: number, url: string }> } }> {
    const name = checkItemName(input.name, 'file')
    const size = input.size
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid('size must be the file size in bytes')
    const space = await this.getSpace(a, String(input.space_id ?? ''))
    const folder = input.folder_id === undefined || input.folder_id === null ? null : (await this.folderIn(a, String(input.folder_id), space.id)).id
    const clientKey = checkClientKey(input.client_key)
    const mime = typeof input.mime === 'string' && /^[\w.+-]+\/[\w.+-]+$/.test(input.mime) ? input.mime : null
    await this.checkFits(a, size)
    const id = randomUUID()
    const now = Date.now()
    const expiresAt = now + this.config.cloud.uploadUrlSeconds * 1000
    const row: UploadRow = {
      id, account_id: a.id, space_id: space.id, folder_id: folder, name, size, mime, client_key: clientKey,
      staging: this.staging.kind, staging_key: '', created_by: keyId, created_at: now, expires_at: expiresAt, completed_at: null
    }
    if (size >= this.config.cloud.multipartThreshold) {
      const partSize = this.partSize(size)
      const m = await this.staging.multipart(id, { expiresAt, contentType: mime ?? undefined, partCount: Math.ceil(size / partSize) })
      row.staging_key = m.key
      await this.db.insertInto('cloud_uploads').values(row).execute()
      return { upload: row, headers: m.headers, multipart: { partSize, parts: m.parts } }
    }
    const ticket = await this.staging.ticket(id, { expiresAt, contentType: mime ?? undefined })
    row.staging_key = ticket.key
    await this.db.insertInto('cloud_uploads').values(row).execute()
    return { upload: row, url: ticket.url, headers: ticket.headers }
  }

  /** the part size of a multipart upload of `size` bytes: the configured one, grown to stay within 10,000 parts */
  partSize (size: number): number {
    return Math.max(this.config.cloud.multipartPartSize, Math.ceil(size / 10_000))
  }

  /** a files-origin PUT: the upload it targets, if it may still receive bytes */
  async uploadForPut (id: string): Promise<UploadRow | undefined> {
    if (!UUID.test(id)) return undefined
    const r = await this.db.selectFrom('cloud_uploads').selectAll().where('id', '=', id).executeTakeFirst()
    if (r === undefined || r.completed_at !== null || r.staging !== 'files') return undefined
    return r
  }

  async completeUpload (a: Account, input: { file_id: unknown, key: unknown, sha256?: unknown, parts?: unknown }, signal?: AbortSignal): Promise<FileRow> {
    const id = String(input.file_id ?? '')
    const up = await this.db.selectFrom('cloud_uploads').selectAll().where('account_id', '=', a.id).where('id', '=', idOr404(id, 'upload')).executeTakeFirst()
    if (up === undefined) throw notFound('upload not found')
    if (up.completed_at !== null) return await this.getFile(a, up.id, { trashed: true })
    if (input.key !== up.staging_key) throw invalid('key does not match the upload: send the key initiate returned')
    if (up.expires_at <= Date.now()) throw new CairnError('failed_precondition', 'the upload URL has expired; initiate the upload again')
    if (isMultipartKey(up.staging_key)) await this.assembleParts(up, input.parts)
    else if (input.parts !== undefined) throw invalid('parts are only sent for a multipart upload (mode "multipart")')
    const wantSha = input.sha256 === undefined || input.sha256 === null ? undefined : String(input.sha256).toLowerCase()
    if (wantSha !== undefined && !/^[0-9a-f]{64}$/.test(wantSha)) throw invalid('sha256 must be 64 hex digits')
    const space = await this.getSpace(a, up.space_id)
    let file: FileRow
    try {
      file = await this.store(a, {
        id: up.id, space, folderId: up.folder_id, name: up.name, mime: up.mime, clientKey: up.client_key, createdBy: up.created_by,
        expectSize: up.size, expectSha256: wantSha,
        content: this.staging.stream(up.staging_key, signal)
      }, signal, async trx => {
        await trx.updateTable('cloud_uploads').set({ completed_at: Date.now() }).where('id', '=', up.id).execute()
      })
    } catch (err) {
      if (isMissing(err)) throw new CairnError('failed_precondition', 'nothing was uploaded yet: PUT the bytes to the upload URL first')
      throw err
    }
    await this.staging.delete(up.staging_key).catch(() => {})
    return file
  }

  /** a multipart upload's parts, as the client reports them: every part 1..N once, with the ETag its PUT answered */
  private async assembleParts (up: UploadRow, parts: unknown): Promise<void> {
    const count = Math.ceil(Number(up.size) / this.partSize(Number(up.size)))
    if (!Array.isArray(parts) || parts.length !== count) throw invalid(`parts must list all ${count} parts: [{part_number, etag}, ...]`)
    const list: UploadedPart[] = []
    for (const p of parts as Array<{ part_number?: unknown, etag?: unknown }>) {
      if (typeof p?.part_number !== 'number' || !Number.isInteger(p.part_number) || p.part_number < 1 || p.part_number > count) throw invalid(`part_number must be 1 to ${count}`)
      if (typeof p.etag !== 'string' || p.etag.length === 0 || p.etag.length > 200) throw invalid('etag must be the ETag header the part PUT answered')
      list.push({ partNumber: p.part_number, etag: p.etag })
    }
    list.sort((x, y) => x.partNumber - y.partNumber)
    if (list.some((p, i) => p.partNumber !== i + 1)) throw invalid('each part_number must appear once')
    try {
      await this.staging.completeMultipart(up.staging_key, list)
    } catch (err) {
      if (err instanceof PartsMismatch) throw invalid(`the parts do not match the upload: ${err.message}`)
      throw err
    }
  }

  /** POST /uploads/import-url: the server fetches one file from a public URL into a space */
  async importUrl (a: Account, keyId: string, input: { url: unknown, space_id: unknown, folder_id?: unknown, client_key?: unknown, name?: unknown }, signal?: AbortSignal): Promise<FileRow> {
    if (this.openUrl === undefined) throw new CairnError('failed_precondition', 'importing from URLs is not available on this server')
    if (typeof input.url !== 'string' || input.url.length > 4096) throw invalid('url must be an http(s) URL of at most 4096 characters')
    const space = await this.getSpace(a, String(input.space_id ?? ''))
    const folder = input.folder_id === undefined || input.folder_id === null ? null : (await this.folderIn(a, String(input.folder_id), space.id)).id
    const clientKey = checkClientKey(input.client_key)
    const given = input.name === undefined || input.name === null ? undefined : checkItemName(input.name, 'file')
    const src = await this.openUrl(input.url, signal)
    if (src.size !== undefined) await this.checkFits(a, src.size)
    return await this.store(a, {
      id: randomUUID(), space, folderId: folder, name: given ?? checkItemName(src.filename, 'file'), mime: src.mimetype ?? null, clientKey, createdBy: keyId,
      maxBytes: a.planLimits.maxFileBytes, content: src.content
    }, signal)
  }

  /** a direct (multipart) upload of a small file */
  async uploadDirect (a: Account, keyId: string, input: { space_id: unknown, folder_id?: unknown, client_key?: unknown, name?: unknown, source: UploadSource }, signal?: AbortSignal): Promise<FileRow> {
    const space = await this.getSpace(a, String(input.space_id ?? ''))
    const folder = input.folder_id === undefined || input.folder_id === null || input.folder_id === '' ? null : (await this.folderIn(a, String(input.folder_id), space.id)).id
    const name = checkItemName(input.name ?? input.source.filename ?? 'file', 'file')
    const generic = input.source.mimetype === undefined || input.source.mimetype === '' || input.source.mimetype === 'application/octet-stream'
    return await this.store(a, {
      id: randomUUID(), space, folderId: folder, name, mime: generic ? null : (input.source.mimetype ?? null), clientKey: checkClientKey(input.client_key), createdBy: keyId,
      maxBytes: this.config.cloud.directUploadMaxBytes, content: input.source.content
    }, signal)
  }

  private async store (a: Account, f: {
    id: string, space: SpaceRow, folderId: string | null, name: string, mime: string | null, clientKey: string | null, createdBy: string | null,
    expectSize?: number, expectSha256?: string, maxBytes?: number, content: AsyncIterable<Uint8Array>
  }, signal?: AbortSignal, alsoInTrx?: (trx: Trx) => Promise<void>): Promise<FileRow> {
    const hash = createHash('sha256')
    let size = 0
    const maxBytes = f.maxBytes ?? f.expectSize
    async function * hashed (): AsyncIterable<Uint8Array> {
      for await (const chunk of f.content) {
        size += chunk.byteLength
        if (maxBytes !== undefined && size > maxBytes) {
          throw f.expectSize !== undefined
            ? invalid(`the uploaded object is larger than the ${f.expectSize} bytes declared at initiate`)
            : new CairnError('file_too_large', `a direct upload takes at most ${maxBytes} bytes; use /uploads/initiate for larger files`)
        }
        hash.update(chunk)
        yield chunk
      }
    }
    const now = Date.now()
    let row: FileRow | undefined
    const budget = await this.drive.budgetFor(a)
    await this.drive.putFiles(a, `cloud:${f.space.id}`, (async function * () {
      yield { filename: f.name, mimetype: f.mime ?? undefined, content: hashed() }
    })(), {
      profile: 'unixfs-v1-2025',
      budget,
      signal,
      thumbnails: false,
      onCommit: async (trx, entries) => {
        const e = entries[0]
        if (f.expectSize !== undefined && size !== f.expectSize) throw invalid(`uploaded ${size} bytes but ${f.expectSize} were declared at initiate`)
        const sha = hash.copy().digest('hex')
        if (f.expectSha256 !== undefined && sha !== f.expectSha256) throw invalid('sha256 does not match the uploaded bytes')
        // the folder may have gone to Trash while the bytes streamed
        if (f.folderId !== null) await this.folderIn(a, f.folderId, f.space.id, trx)
        // a client_key names the newest file uploaded with it
        if (f.clientKey !== null) {
          await trx.updateTable('cloud_files').set({ client_key: null }).where('account_id', '=', a.id).where('client_key', '=', f.clientKey).execute()
        }
        row = {
          id: f.id, entry_id: e.id, account_id: a.id, space_id: f.space.id, folder_id: f.folderId, client_key: f.clientKey,
          name: f.name, mime: e.mimetype, size: e.size, sha256: sha, cid: e.cid ?? '', scan_status: 'pending', scan_detail: null,
          status: 'draft', source_app: f.space.app, created_by: f.createdBy, created_at: now, updated_at: now, deleted_at: null, trashed_with: null
        }
        try {
          await trx.insertInto('cloud_files').values(row).execute()
        } catch (err) {
          // the same upload completed twice at once: the drive commit retries and finds it
          if (isUniqueViolation(err)) throw new CairnError('conflict', 'completed concurrently')
          throw err
        }
        await alsoInTrx?.(trx)
      }
    })
    if (row === undefined) throw new Error('upload stored no file')
    await this.jobs.enqueue(SCAN_JOB, { accountId: a.id, fileId: row.id }, { accountId: a.id, maxAttempts: 3, backoffMs: 2000 })
    return row
  }

  /** the scan job: pending → clean (status ready) or infected (quarantined); error after its last attempt */
  async runScan (p: { accountId: string, fileId: string }, attempt: { last: boolean, signal?: AbortSignal }): Promise<{ scan_status: string, signature?: string }> {
    const f = await this.db.selectFrom('cloud_files').selectAll().where('account_id', '=', p.accountId).where('id', '=', p.fileId).executeTakeFirst()
    if (f === undefined) return { scan_status: 'gone' }
    if (f.scan_status !== 'pending') return { scan_status: f.scan_status }
    let status: string
    let detail: string | null
    try {
      const v = await this.scanner.scan(this.content.readFile(parseCid(f.cid), 0, f.size, attempt.signal), attempt.signal)
      status = v.verdict === 'clean' ? 'clean' : 'infected'
      detail = v.signature ?? null
    } catch (err) {
      if (!attempt.last) throw err
      status = 'error'
      detail = (err as Error).message.slice(0, 500)
    }
    await this.db.updateTable('cloud_files').set({ scan_status: status, scan_detail: detail, status: status === 'clean' ? 'ready' : 'quarantined', updated_at: Date.now() })
      .where('id', '=', f.id).where('scan_status', '=', 'pending').execute()
    return { scan_status: status, ...(detail !== null ? { signature: detail } : {}) }
  }

  // ---------------------------------------------------------------- shares

  linksLimit (a: Account): number {
    return this.config.cloud.linksLimit[a.plan as PlanName] ?? -1
  }

  /** live expiring links: the ones the cap counts */
  private async linksUsed (db: Db | Trx, accountId: string): Promise<number> {
    const r = await db.selectFrom('cloud_shares').select(eb => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId).where('revoked_at', 'is', null).where('expires_at', 'is not', null).where('expires_at', '>', Date.now())
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async createShare (a: Account, input: { file_id: unknown, expires_in_days?: unknown, permission?: unknown }): Promise<{ share: ShareRow, token: string }> {
    const days = input.expires_in_days
    if (days !== undefined && days !== null && (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > this.config.cloud.maxLinkDays)) {
      throw new CairnError('failed_precondition', `expires_in_days must be null (permanent) or an integer from 1 to ${this.config.cloud.maxLinkDays}`)
    }
    const perm = input.permission ?? (days == null ? 'view' : 'download')
    if (perm !== 'view' && perm !== 'download') throw new CairnError('failed_precondition', 'permission must be "view" (inline) or "download" (attachment)')
    const token = randomBytes(32).toString('base64url')
    const now = Date.now()
    return await this.db.transaction().execute(async trx => {
      await lockAccount(trx, a.id) // the cap is counted and taken in one step
      const f = await this.getFile(a, String(input.file_id ?? ''), {}, trx)
      if (f.scan_status !== 'clean') throw notClean(f.scan_status)
      if (days != null) {
        const limit = this.linksLimit(a)
        if (limit >= 0 && await this.linksUsed(trx, a.id) >= limit) {
          throw new CairnError('quota_exceeded', `the plan's ${limit} live expiring links are in use; revoke one first`, { links_limit: limit })
        }
      }
      const share: ShareRow = {
        id: randomUUID(), account_id: a.id, file_id: f.id, token_hash: hashToken(token), permission: perm,
        expires_at: days == null ? null : now + Number(days) * 86_400_000, created_at: now, revoked_at: null
      }
      await trx.insertInto('cloud_shares').values(share).execute()
      return { share, token }
    })
  }

  async listShares (a: Account, q: { fileId?: string, limit: number, cursor?: string }): Promise<Page<ShareRow>> {
    const c = decodeCursor(q.cursor)
    let sel = this.db.selectFrom('cloud_shares').selectAll().where('account_id', '=', a.id).where('revoked_at', 'is', null)
    if (q.fileId !== undefined) sel = sel.where('file_id', '=', (await this.getFile(a, q.fileId, { trashed: true })).id)
    if (c !== undefined) sel = sel.where(eb => eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]))
    return page(await sel.orderBy('created_at').orderBy('id').limit(q.limit + 1).execute(), q.limit)
  }

  async revokeShare (a: Account, id: string): Promise<ShareRow> {
    const s = await this.db.selectFrom('cloud_shares').selectAll().where('account_id', '=', a.id).where('id', '=', idOr404(id, 'share')).executeTakeFirst()
    if (s === undefined || s.revoked_at !== null) throw notFound('share not found')
    const now = Date.now()
    await this.db.updateTable('cloud_shares').set({ revoked_at: now }).where('id', '=', s.id).execute()
    return { ...s, revoked_at: now }
  }

  /** what /s/<token> serves, judged by this server's clock */
  async openShare (token: string): Promise<{ share: ShareRow, file: FileRow } | 'not_found' | 'expired' | { notClean: string }> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return 'not_found'
    const s = await this.db.selectFrom('cloud_shares').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst()
    if (s === undefined || s.revoked_at !== null) return 'not_found'
    if (s.expires_at !== null && s.expires_at <= Date.now()) return 'expired'
    const f = await this.db.selectFrom('cloud_files').selectAll().where('id', '=', s.file_id).where('account_id', '=', s.account_id).executeTakeFirst()
    if (f === undefined || f.deleted_at !== null) return 'not_found'
    if (f.scan_status !== 'clean') return { notClean: f.scan_status }
    return { share: s, file: f }
  }

  /** a short-lived signed URL for a clean file's bytes on the files origin (download: attachment, preview: inline) */
  async fileUrl (a: Account, id: string, disposition: FileUrlDisposition): Promise<{ url: string, expires_at: number }> {
    const f = await this.getFile(a, id)
    if (f.scan_status !== 'clean') throw notClean(f.scan_status, 'servable')
    const expiresAt = (Math.floor(Date.now() / 1000) + this.config.cloud.fileUrlSeconds) * 1000
    return { url: await this.fileUrls.url(f.id, disposition, expiresAt), expires_at: expiresAt }
  }

  /** what a signed file URL serves (its signature and expiry already checked) */
  async openFileUrl (fileId: string): Promise<FileRow | 'not_found' | { notClean: string }> {
    if (!UUID.test(fileId)) return 'not_found'
    const f = await this.db.selectFrom('cloud_files').selectAll().where('id', '=', fileId).executeTakeFirst()
    if (f === undefined || f.deleted_at !== null) return 'not_found'
    if (f.scan_status !== 'clean') return { notClean: f.scan_status }
    return f
  }

  readFile (f: FileRow, range?: { start: number, end: number }, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return this.content.readFile(parseCid(f.cid), range?.start ?? 0, range?.end ?? f.size, signal)
  }

  // ---------------------------------------------------------------- quota

  async quota (a: Account): Promise<{ bytes_used: number, bytes_limit: number, links_used: number, links_limit: number, by_app: Array<{ app: string, bytes: number, files: number }> }> {
    const byApp = await this.db.selectFrom('cloud_files').innerJoin('cloud_spaces', 'cloud_spaces.id', 'cloud_files.space_id')
      .select(eb => ['cloud_spaces.app', eb.fn.sum<number>('cloud_files.size').as('bytes'), eb.fn.countAll<number>().as('files')])
      .where('cloud_files.account_id', '=', a.id).groupBy('cloud_spaces.app').orderBy('cloud_spaces.app').execute()
    return {
      bytes_used: await this.drive.usage(a.id),
      bytes_limit: a.capacityBytes,
      links_used: await this.linksUsed(this.db, a.id),
      links_limit: this.linksLimit(a),
      by_app: byApp.map(r => ({ app: r.app, bytes: Number(r.bytes ?? 0), files: Number(r.files) }))
    }
  }

  /** drop staged bytes of uploads that expired without completing */
  async sweepExpiredUploads (): Promise<number> {
    const cutoff = Date.now() - 60_000
    const rows = await this.db.selectFrom('cloud_uploads').select(['id', 'staging_key', 'staging']).where('completed_at', 'is', null).where('expires_at', '<', cutoff).limit(500).execute()
    for (const r of rows) {
      if (r.staging === this.staging.kind) await this.staging.delete(r.staging_key).catch(() => {})
      await this.db.deleteFrom('cloud_uploads').where('id', '=', r.id).execute()
    }
    return rows.length
  }

}

export function notClean (status: string, what = 'shareable'): CairnError {
  return new CairnError('conflict', `File is not ${what} yet (scan_status='${status}'); must be 'clean'.`, { scan_status: status })
}

function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function checkSpaceName (name: unknown): string {
  if (typeof name !== 'string') throw invalid('name is required')
  const n = name.trim()
  if (n.length === 0 || n.length > 200) throw invalid('space name must be 1 to 200 characters')
  return n
}

function checkApp (app: unknown): string {
  if (typeof app !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(app)) throw invalid('app must be 1 to 64 lowercase letters, digits, ".", "_" or "-"')
  return app
}

function isMissing (err: unknown): boolean {
  const e = err as { code?: string, name?: string, $metadata?: { httpStatusCode?: number } }
  return e.code === 'ENOENT' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404 || (err instanceof CairnError && err.code === 'not_found')
}
