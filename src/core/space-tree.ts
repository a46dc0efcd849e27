/**
 * A space as a file tree addressed by paths (Fluxshare, app volumes): one name per place,
 * folders made on demand, a file replaced when one of the same name is written, folders
 * removed with everything in them. Paths come already checked (strictPath); every change
 * runs in one transaction under the account's row lock, as the drive's do, so the usage
 * counter stays exact and content whose last reference goes is released for collection.
 * There are no symbolic links in a space: a name is a file or a folder.
 */
import { randomUUID } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Db } from '../adapters/metadata/open.js'
import type { Database } from '../adapters/metadata/schema.js'
import type { Account } from './accounts.js'
import { parseCid } from './content/cids.js'
import type { ContentStore } from './content/content-store.js'
import type { IngestResult } from './content/ingest.js'
import type { ImportProfile } from './content/profiles.js'
import { deleteEntryRows, insertEntries, lockAccount, type Drive } from './drive.js'
import { CairnError, notFound } from './errors.js'
import { metered, type ByteBudget } from './limits.js'
import { sniffing } from './mime.js'
import type { Opened } from './reads.js'
import mime from 'mime-types'

type Trx = Transaction<Database>
type Row = Database['entries']

export interface TreeNode {
  id: string
  kind: 'file' | 'folder'
  name: string
  cid: string | null
  /** a file's bytes; for a folder, the sum of the files below it (filled by list) */
  size: number
  mimetype: string | null
  createdAt: number
}

export interface WalkItem { path: string, node: TreeNode }

/** a file staged for a commit: imported, not yet recorded */
export interface StagedFile { path: string[], mimetype: string, file: IngestResult }

const BATCH = 500

function toNode (r: Pick<Row, 'id' | 'kind' | 'name' | 'cid' | 'size' | 'mimetype' | 'created_at'>): TreeNode {
  return { id: r.id, kind: r.kind === 'folder' ? 'folder' : 'file', name: r.name, cid: r.cid, size: Number(r.size), mimetype: r.mimetype, createdAt: r.created_at }
}

export class SpaceTree {
  constructor (private readonly db: Db, private readonly content: ContentStore, private readonly drive: Drive) {}

  private async child (db: Db | Trx, spaceId: string, parent: string, name: string): Promise<Row | undefined> {
    // a folder wins over a file of the same name (only FluxDrive's own spaces could hold both)
    return await db.selectFrom('entries').selectAll().where('space_id', '=', spaceId).where('parent_id', '=', parent)
      .where('name', '=', name).orderBy('kind', 'desc').orderBy('created_at', 'desc').executeTakeFirst()
  }

  /** the id of a space, without making it (reads do not create spaces) */
  private async existingSpace (accountId: string, space: string, db: Db | Trx = this.db): Promise<string | undefined> {
    const r = await db.selectFrom('spaces').select('id').where('account_id', '=', accountId).where('name', '=', space).executeTakeFirst()
    return r?.id
  }

  /** whether anything was ever written to the space */
  async exists (accountId: string, space: string): Promise<boolean> {
    return await this.existingSpace(accountId, space) !== undefined
  }

  /** The node at a path; [] is the root folder (id ''), which every space has. */
  async resolve (accountId: string, space: string, path: string[], db: Db | Trx = this.db): Promise<TreeNode | undefined> {
    const spaceId = await this.existingSpace(accountId, space, db)
    if (spaceId === undefined) return path.length === 0 ? { id: '', kind: 'folder', name: '', cid: null, size: 0, mimetype: null, createdAt: 0 } : undefined
    if (path.length === 0) return { id: '', kind: 'folder', name: '', cid: null, size: 0, mimetype: null, createdAt: 0 }
    let parent = ''
    let row: Row | undefined
    for (let i = 0; i < path.length; i++) {
      row = await this.child(db, spaceId, parent, path[i])
      if (row === undefined) return undefined
      if (i < path.length - 1 && row.kind !== 'folder') return undefined
      parent = row.id
    }
    return row === undefined ? undefined : toNode(row)
  }

  async resolveFile (accountId: string, space: string, path: string[]): Promise<TreeNode> {
    const n = await this.resolve(accountId, space, path)
    if (n === undefined || n.kind !== 'file') throw notFound('File not found')
    return n
  }

  async resolveFolder (accountId: string, space: string, path: string[]): Promise<TreeNode> {
    const n = await this.resolve(accountId, space, path)
    if (n === undefined || n.kind !== 'folder') throw notFound('Folder not found')
    return n
  }

  /** Every entry of a space by parent, for sizes and walks (one query). */
  private async children (accountId: string, space: string): Promise<Map<string, Row[]>> {
    const spaceId = await this.existingSpace(accountId, space)
    if (spaceId === undefined) return new Map()
    const rows = await this.db.selectFrom('entries').selectAll().where('space_id', '=', spaceId).orderBy('name').execute()
    const byParent = new Map<string, Row[]>()
    for (const r of rows) {
      const list = byParent.get(r.parent_id)
      if (list === undefined) byParent.set(r.parent_id, [r])
      else list.push(r)
    }
    return byParent
  }

  /** A folder's entries; a folder's size is the sum of every file below it. */
  async list (accountId: string, space: string, path: string[]): Promise<TreeNode[]> {
    const folder = await this.resolveFolder(accountId, space, path)
    const byParent = await this.children(accountId, space)
    const sizeOf = (id: string): number => (byParent.get(id) ?? []).reduce((n, r) => n + (r.kind === 'folder' ? sizeOf(r.id) : Number(r.size)), 0)
    return (byParent.get(folder.id) ?? []).map(r => ({ ...toNode(r), size: r.kind === 'folder' ? sizeOf(r.id) : Number(r.size) }))
  }

  /** Bytes of all files of the space (a file counted as often as it appears). */
  async usage (accountId: string, space: string): Promise<number> {
    const spaceId = await this.existingSpace(accountId, space)
    if (spaceId === undefined) return 0
    const r = await this.db.selectFrom('entries').select(eb => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.val(0)).as('n'))
      .where('space_id', '=', spaceId).where('kind', '!=', 'folder').executeTakeFirstOrThrow()
    return Number(r.n)
  }

  /** Files and folders below a folder, depth first, paths relative to it, folders first. */
  async * walk (accountId: string, space: string, path: string[]): AsyncIterable<WalkItem> {
    const folder = await this.resolveFolder(accountId, space, path)
    const byParent = await this.children(accountId, space)
    function * visit (id: string, prefix: string): Iterable<WalkItem> {
      for (const r of byParent.get(id) ?? []) {
        const p = prefix === '' ? r.name : `${prefix}/${r.name}`
        if (r.kind === 'folder') {
          yield { path: p, node: toNode(r) }
          yield * visit(r.id, p)
        } else if (r.kind === 'file' && r.cid !== null) {
          yield { path: p, node: toNode(r) }
        }
      }
    }
    yield * visit(folder.id, '')
  }

  /** The bytes of a file node, streamed. */
  read (node: TreeNode, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    if (node.cid === null) throw notFound('File not found')
    return this.content.readFile(parseCid(node.cid), 0, node.size, signal)
  }

  /** A file node opened for sending (ranged reads). */
  open (node: TreeNode, signal?: AbortSignal): Extract<Opened, { kind: 'file' }> {
    if (node.cid === null) throw notFound('File not found')
    const cid = parseCid(node.cid)
    return {
      kind: 'file',
      cid,
      name: node.name,
      mimetype: node.mimetype ?? (mime.lookup(node.name) || 'application/octet-stream'),
      size: node.size,
      read: range => this.content.readFile(cid, range?.start ?? 0, range?.end ?? node.size, signal)
    }
  }

  /** Make a folder and any missing parents; a file in the way is a conflict. */
  async mkdir (accountId: string, space: string, path: string[]): Promise<void> {
    if (path.length === 0) return
    const spaceId = await this.drive.space(accountId, space)
    await this.db.transaction().execute(async trx => { await this.folderAt(trx, accountId, spaceId, path) })
  }

  /** The folder id at a path, made with its parents as needed; a file in the way is a conflict. */
  private async folderAt (trx: Trx, accountId: string, spaceId: string, path: string[]): Promise<string> {
    let parent = ''
    for (let i = 0; i < path.length; i++) {
      const existing = await this.child(trx, spaceId, parent, path[i])
      if (existing === undefined) break
      if (existing.kind !== 'folder') throw new CairnError('conflict', `"${path.slice(0, i + 1).join('/')}" is a file`)
      parent = existing.id
    }
    return await this.drive.ensureFolder(trx, accountId, spaceId, path)
  }

  /**
   * Store one file at folder/name from a stream: imported first, then one transaction that
   * makes the folder if needed, replaces a file of that name, and adds the entry.
   */
  async putFile (account: Account, space: string, folder: string[], name: string, source: { content: AsyncIterable<Uint8Array>, mimetype?: string }, opts: { profile: ImportProfile, budget: ByteBudget, signal?: AbortSignal }): Promise<TreeNode> {
    const sniffed = sniffing(metered(source.content, opts.budget), source.mimetype, name)
    const file = await this.content.import([{ content: sniffed.stream }], { profile: opts.profile, wrapWithDirectory: false, signal: opts.signal })
    const staged: StagedFile = { path: [...folder, name], mimetype: await sniffed.type, file }
    const [node] = await this.commitFiles(account, space, [staged], { replaceAll: false })
    return node
  }

  /**
   * Record staged imports as files at their paths, all or nothing. replaceAll empties the
   * space first (a restore); otherwise a file of the same name is replaced and a folder of
   * the same name is a conflict.
   */
  async commitFiles (account: Account, space: string, files: StagedFile[], opts: { replaceAll: boolean, folders?: string[][] }): Promise<TreeNode[]> {
    const spaceId = await this.drive.space(account.id, space)
    return await this.drive.commit(account, files.map(f => f.file), async trx => {
      if (opts.replaceAll) {
        const all = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid']).where('space_id', '=', spaceId).execute()
        await this.deleteRows(trx, account.id, all)
      }
      for (const f of opts.folders ?? []) await this.folderAt(trx, account.id, spaceId, f)
      const rows: Row[] = []
      for (const [i, f] of files.entries()) {
        const parent = await this.folderAt(trx, account.id, spaceId, f.path.slice(0, -1))
        const name = f.path[f.path.length - 1]
        const existing = await this.child(trx, spaceId, parent, name)
        if (existing !== undefined && existing.kind === 'folder') throw new CairnError('conflict', `"${f.path.join('/')}" is a folder`)
        if (existing !== undefined) {
          const same = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid'])
            .where('space_id', '=', spaceId).where('parent_id', '=', parent).where('name', '=', name).where('kind', '!=', 'folder').execute()
          await this.deleteRows(trx, account.id, same)
        }
        rows.push({
          id: randomUUID(), space_id: spaceId, account_id: account.id, parent_id: parent, kind: 'file', name,
          cid: f.file.root.cid.toString(), size: f.file.root.size, mimetype: f.mimetype, thumbnail_cid: null, pinned: 1,
          created_at: Date.now() + i
        })
      }
      for (let i = 0; i < rows.length; i += BATCH) await insertEntries(trx, account.id, rows.slice(i, i + BATCH))
      return rows.map(toNode)
    })
  }

  private async deleteRows (trx: Trx, accountId: string, rows: Array<{ id: string, cid: string | null, size: number, thumbnail_cid: string | null }>): Promise<void> {
    await deleteEntryRows(trx, accountId, rows)
  }


  /** Remove a file, or a folder with everything below it. `kind` insists on one of them. */
  async remove (accountId: string, space: string, path: string[], kind?: 'file' | 'folder'): Promise<void> {
    if (path.length === 0) throw new CairnError('invalid_argument', 'The root cannot be removed')
    const node = await this.resolve(accountId, space, path)
    if (node === undefined || (kind !== undefined && node.kind !== kind)) throw notFound(kind === 'folder' ? 'Folder not found' : kind === 'file' ? 'File not found' : 'Not found')
    const spaceId = await this.existingSpace(accountId, space)
    if (spaceId === undefined) throw notFound()
    await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const ids = [node.id]
      const doomed = new Map<string, { id: string, cid: string | null, size: number, thumbnail_cid: string | null }>()
      while (ids.length > 0) {
        const batch = ids.splice(0, BATCH)
        const rows = await trx.selectFrom('entries').select(['id', 'cid', 'size', 'thumbnail_cid', 'kind'])
          .where('space_id', '=', spaceId).where(eb => eb.or([eb('id', 'in', batch), eb('parent_id', 'in', batch)])).execute()
        for (const r of rows) {
          if (doomed.has(r.id)) continue
          doomed.set(r.id, r)
          if (r.kind === 'folder' && !batch.includes(r.id)) ids.push(r.id)
        }
      }
      await this.deleteRows(trx, accountId, [...doomed.values()])
    })
  }

  /**
   * Move or rename: `to` is the full new path. Its parent folder must exist, the name must be
   * free (never silently overwritten), and a folder cannot move into itself.
   */
  async move (accountId: string, space: string, from: string[], to: string[]): Promise<void> {
    if (from.length === 0 || to.length === 0) throw new CairnError('invalid_argument', 'The root cannot be renamed')
    if (to.length > from.length && from.every((s, i) => to[i] === s)) throw new CairnError('invalid_argument', 'A folder cannot move into itself')
    const spaceId = await this.existingSpace(accountId, space)
    if (spaceId === undefined) throw notFound('Not found')
    await this.db.transaction().execute(async trx => {
      await lockAccount(trx, accountId)
      const node = await this.resolve(accountId, space, from, trx as unknown as Db)
      if (node === undefined) throw notFound('Not found')
      const parent = await this.resolve(accountId, space, to.slice(0, -1), trx as unknown as Db)
      if (parent === undefined || parent.kind !== 'folder') throw notFound('Destination folder not found')
      const name = to[to.length - 1]
      const taken = await this.child(trx, spaceId, parent.id, name)
      if (taken !== undefined && taken.id !== node.id) throw new CairnError('conflict', `"${to.join('/')}" already exists`)
      try {
        await trx.updateTable('entries').set({ parent_id: parent.id, name }).where('id', '=', node.id).execute()
      } catch (err) {
        throw new CairnError('conflict', `"${to.join('/')}" already exists`, { cause: String(err) })
      }
    })
  }
}
