/**
 * App volumes: Flux addresses a volume by app name and component. Here an app name is
 * claimed by the account that first writes to it (the app owner); its volumes are spaces
 * of that account (`app:<name>:<component>`), its backups another (`app:<name>:backup`,
 * folders local/ and upload/), so every byte is deduplicated content like any other. The
 * owner and the admin may act on an app; anyone else is told it does not exist.
 */
import type { Db } from '../adapters/metadata/open.js'
import type { Account, Accounts } from './accounts.js'
import { isUniqueViolation } from './accounts.js'
import { readTarGz, tarGzOf } from './archives.js'
import type { IngestResult } from './content/ingest.js'
import type { ContentStore } from './content/content-store.js'
import type { ImportProfile } from './content/profiles.js'
import { invalid, notFound } from './errors.js'
import { metered, type ByteBudget } from './limits.js'
import { sniffing } from './mime.js'
import type { SpaceTree, StagedFile, TreeNode } from './space-tree.js'
import { volumeRootCid } from './volume-cid.js'

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
export const BACKUP_FOLDERS = ['local', 'upload', 'remote'] as const
export const FLUX_PROFILE: ImportProfile = 'unixfs-v0-2015'

export function appName (s: string | undefined, what = 'appname'): string {
  if (s === undefined || !NAME_RE.test(s)) throw invalid(`Invalid ${what}: letters, digits, - and _, at most 64`)
  return s.toLowerCase()
}

export const volumeSpace = (app: string, component: string): string => `app:${app}:${component}`
export const backupSpace = (app: string): string => `app:${app}:backup`
export const backupFileName = (component: string): string => `backup_${component}.tar.gz`

export interface Caller { account: Account, privilege: 'admin' | 'user' }
export type Progress = (line: string) => void

export interface BackupResult { path: string, cid: string, size: number, volumeRootCid: string }
export interface RestoreResult { files: number, folders: number, skipped: number, bytes: number, volumeRootCid: string }

export class AppVolumes {
  constructor (
    private readonly db: Db,
    private readonly accounts: Accounts,
    private readonly content: ContentStore,
    readonly tree: SpaceTree
  ) {}

  /**
   * The account that owns `app`. `claim`: an unclaimed name becomes the caller's (writes);
   * otherwise an unclaimed name is not found (reads).
   */
  async owner (app: string, caller: Caller, claim: boolean): Promise<Account> {
    const row = await this.db.selectFrom('flux_apps').selectAll().where('name', '=', app).executeTakeFirst()
    if (row !== undefined) {
      if (row.account_id === caller.account.id) return caller.account
      if (caller.privilege === 'admin') return await this.accounts.get(row.account_id)
      throw notFound('Application not found')
    }
    if (!claim) throw notFound('Application not found')
    try {
      await this.db.insertInto('flux_apps').values({ name: app, account_id: caller.account.id, created_at: Date.now() }).execute()
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      return await this.owner(app, caller, false) // claimed a moment ago by someone
    }
    return caller.account
  }

  /** Import one stream as a staged file (not yet recorded). */
  async stage (path: string[], content: AsyncIterable<Uint8Array>, budget: ByteBudget, signal?: AbortSignal): Promise<StagedFile> {
    const name = path[path.length - 1]
    const sniffed = sniffing(metered(content, budget), undefined, name)
    const file = await this.content.import([{ content: sniffed.stream }], { profile: FLUX_PROFILE, wrapWithDirectory: false, signal })
    return { path, mimetype: await sniffed.type, file }
  }

  /**
   * Write backup/local/backup_<component>.tar.gz: a tar.gz of the volume, streamed into the
   * store as it is made, with the volume's root CID recorded beside it.
   */
  async backup (owner: Account, app: string, component: string, progress: Progress, signal?: AbortSignal): Promise<BackupResult> {
    const space = volumeSpace(app, component)
    if (!await this.tree.exists(owner.id, space)) throw notFound(`No volume for component ${component}`)
    let files = 0
    let bytes = 0
    for await (const { node } of this.tree.walk(owner.id, space, [])) if (node.kind === 'file') { files++; bytes += node.size }
    progress(`Creating backup of component ${component}: ${files} files, ${bytes} bytes`)
    const rootCid = await volumeRootCid(this.db, this.tree.walk(owner.id, space, []))
    const archive = tarGzOf(this.tree.walk(owner.id, space, []), node => this.tree.read(node, signal), signal)
    const budget: ByteBudget = { remaining: owner.capacityBytes, maxFileBytes: owner.planLimits.maxFileBytes, seen: 0 }
    const path = ['local', backupFileName(component)]
    const node = await this.tree.putFile(owner, backupSpace(app), ['local'], path[1], { content: archive, mimetype: 'application/gzip' }, { profile: FLUX_PROFILE, budget, signal })
    await this.db.insertInto('volume_backups').values({
      archive_cid: node.cid as string, account_id: owner.id, app, component, volume_root_cid: rootCid, created_at: Date.now()
    }).onConflict(oc => oc.columns(['account_id', 'archive_cid']).doUpdateSet({ volume_root_cid: rootCid, created_at: Date.now() })).execute()
    progress(`Backup saved: ${path.join('/')} (${node.size} bytes, CID ${node.cid ?? ''}, volume root CID ${rootCid})`)
    return { path: path.join('/'), cid: node.cid as string, size: node.size, volumeRootCid: rootCid }
  }

  /** the volume root CID recorded when an archive was made here, if it was */
  async recordedRoot (accountId: string, archiveCid: string | null): Promise<string | undefined> {
    if (archiveCid === null) return undefined
    const r = await this.db.selectFrom('volume_backups').select('volume_root_cid').where('account_id', '=', accountId).where('archive_cid', '=', archiveCid).executeTakeFirst()
    return r?.volume_root_cid
  }

  /** The archive of a local or uploaded backup of a component. */
  async localArchive (owner: Account, app: string, component: string, from: 'local' | 'upload'): Promise<TreeNode> {
    const node = await this.tree.resolve(owner.id, backupSpace(app), [from, backupFileName(component)])
    if (node === undefined || node.kind !== 'file') throw notFound(`No ${from} backup of component ${component} (backup/${from}/${backupFileName(component)})`)
    return node
  }

  /**
   * Replace the volume with the archive's contents, all or nothing: every file is imported
   * as it streams, then one transaction empties the volume and records the new tree.
   */
  async restore (owner: Account, app: string, component: string, archive: AsyncIterable<Uint8Array>, progress: Progress, signal?: AbortSignal): Promise<RestoreResult> {
    const budget: ByteBudget = { remaining: owner.capacityBytes, maxFileBytes: owner.planLimits.maxFileBytes, seen: 0 }
    const staged: StagedFile[] = []
    const folders: string[][] = []
    const seen = new Set<string>()
    let skipped = 0
    let bytes = 0
    try {
      for await (const item of readTarGz(archive)) {
        signal?.throwIfAborted()
        if (item.kind === 'skipped') {
          skipped++
          progress(`Skipped ${item.name}: ${item.type} entries are not restored`)
          continue
        }
        const key = item.path.join('/')
        if (seen.has(key)) throw invalid(`archive names "${key}" twice`)
        seen.add(key)
        if (item.kind === 'folder') { folders.push(item.path); continue }
        const s = await this.stage(item.path, item.content, budget, signal)
        staged.push(s)
        bytes += s.file.root.size
        progress(`Extracted ${key} (${s.file.root.size} bytes)`)
      }
    } catch (err) {
      await discardAll(this.content, staged.map(s => s.file))
      throw err
    }
    // a file and a folder of one name cannot both be restored
    const fileKeys = new Set(staged.map(f => f.path.join('/')))
    const clash = [...staged.map(f => f.path.slice(0, -1)), ...folders].flatMap(p => p.map((_, i) => p.slice(0, i + 1).join('/'))).find(k => fileKeys.has(k))
    if (clash !== undefined) {
      await discardAll(this.content, staged.map(s => s.file))
      throw invalid(`archive has both a file and a folder named "${clash}"`)
    }
    const space = volumeSpace(app, component)
    await this.tree.commitFiles(owner, space, staged, { replaceAll: true, folders })
    const rootCid = await volumeRootCid(this.db, this.tree.walk(owner.id, space, []))
    progress(`Restored ${staged.length} files and ${folders.length} folders (${bytes} bytes) into component ${component}; volume root CID ${rootCid}`)
    return { files: staged.length, folders: folders.length, skipped, bytes, volumeRootCid: rootCid }
  }
}

async function discardAll (content: ContentStore, imports: IngestResult[]): Promise<void> {
  await Promise.allSettled(imports.map(async r => { await content.discard(r) }))
}
