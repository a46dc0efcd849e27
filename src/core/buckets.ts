/**
 * A session's bucket: S3-style multipart uploads (start, parts in any order, complete) whose
 * finished files are entries of the session's folder of the account's files.
 *
 * Each part is imported as it streams: chunked into the UnixFS leaves of Kubo's default
 * profile, hashed and written once, into a pack of its own (content-store importLeaves),
 * durable before the part is acknowledged. Parts of whole chunks laid end to end are exactly
 * the leaves a one-shot import of the file makes, so completing reads no part again: it
 * builds the parents over the parts' leaves (importParents), and the file's pack owns the
 * part packs. Parts that do not line up (a part not a multiple of the chunk size before the
 * last, an empty part, another profile) are read back from their packs and imported from
 * scratch. The session's size rule is enforced on the running total while parts stream and
 * again, exactly, when a part is kept.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Db } from '../adapters/metadata/open.js'
import type { Database } from '../adapters/metadata/schema.js'
import type { LegacyPartFiles } from '../adapters/parts/legacy-part-files.js'
import type { Drive, Entry } from './drive.js'
import { CairnError, invalid, notFound } from './errors.js'
import { fileTooLarge } from './limits.js'
import type { SessionPrincipal, UploadSessions } from './upload-sessions.js'
import type { ImportProfile } from './content/profiles.js'
import type { ContentStore } from './content/content-store.js'
import type { LeafRecord } from './content/ingest.js'
import { PIECE_PROFILE, storeParts, type PartsTarget } from './part-packs.js'

/** S3's limit; a client may send fewer */
export const MAX_PARTS = 10_000
const MB = 1024 * 1024

export interface BucketFile {
  uploadId: string
  fileKey: string
  creatorId: string
  /** 'uploading' | 'completing' | 'completed' */
  status: string
  completed: boolean
  /** opaque, exactly as the client sent it */
  encryptedName: string | null
  totalParts: number
  originalSizeInBytes: number | null
  /** bytes received so far (parts), or the stored file's size once completed */
  size: number
  partsReceived: number
  cid: string | null
  tags: string[]
  createdAt: number
  completedAt: number | null
}

type UploadRow = Database['bucket_uploads']

export interface BucketsDeps {
  db: Db
  drive: Drive
  content: ContentStore
  /** part files of uploads begun before parts were packs (migration 0010): read, then dropped */
  legacyParts: LegacyPartFiles
  sessions: UploadSessions
  /** content bytes received (metrics) */
  onBytesIn?: (n: number) => void
}

/**
 * A part's tag (its ETag): the hex SHA-256 of its leaves' multihashes in order. It names the
 * part's bytes as its leaves do (equal bytes, equal tag; any change, another tag) without
 * hashing the bytes a second time.
 */
function partTag (leaves: LeafRecord[]): string {
  const h = createHash('sha256')
  for (const l of leaves) h.update(l.cid.multihash.bytes)
  return h.digest('hex')
}

function sessionRuleExceeded (maxTotalBytes: number): CairnError {
  return new CairnError('quota_exceeded', `The session allows at most ${Math.floor(maxTotalBytes / MB)} MB in total (maxTotalMegaBytes)`, { rule: 'maxTotalMegaBytes', maxTotalBytes })
}

/** A display name for the drive entry; the exact encryptedName stays in the bucket record. */
function entryName (u: UploadRow): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = (u.encrypted_name ?? '').replace(/[\\/\u0000-\u001f\u007f]/g, '_').slice(0, 255)
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? u.file_key : cleaned
}

export class Buckets {
  /** bytes of parts streaming right now, per session (this process) */
  private readonly inflight = new Map<string, number>()

  constructor (private readonly deps: BucketsDeps) {}

  private get db (): Db { return this.deps.db }

  /** The session's files: uploads in progress and finished files (whose entry still exists), oldest first. */
  async list (p: SessionPrincipal): Promise<BucketFile[]> {
    const rows = await this.db.selectFrom('bucket_uploads').selectAll().where('session_id', '=', p.session.id)
      .orderBy('created_at').orderBy('id').execute()
    const out: BucketFile[] = []
    for (const r of rows) {
      const f = await this.view(p, r)
      if (f !== undefined) out.push(f)
    }
    return out
  }

  /** Start a multipart upload; answers its uploadId and key. */
  async start (p: SessionPrincipal, input: { totalParts?: number | null, encryptedName?: string | null, originalSizeInBytes?: number | null }): Promise<{ uploadId: string, fileKey: string }> {
    const totalParts = input.totalParts ?? 0
    if (!Number.isSafeInteger(totalParts) || totalParts < 0 || totalParts > MAX_PARTS) throw invalid(`totalParts must be an integer from 1 to ${MAX_PARTS}`)
    const size = input.originalSizeInBytes ?? null
    if (size !== null && (!Number.isSafeInteger(size) || size < 0)) throw invalid('originalSizeInBytes must be a non-negative integer')
    if (input.encryptedName != null && (typeof input.encryptedName !== 'string' || input.encryptedName.length > 4096)) throw invalid('encryptedName must be a string of at most 4096 characters')
    if (size !== null && size > p.account.planLimits.maxFileBytes) throw fileTooLarge(p.account.planLimits.maxFileBytes)
    const row: UploadRow = {
      id: randomUUID(),
      file_key: randomBytes(16).toString('hex'),
      session_id: p.session.id,
      account_id: p.account.id,
      creator_id: p.member.id,
      total_parts: totalParts,
      encrypted_name: input.encryptedName ?? null,
      original_size: size,
      status: 'uploading',
      tags: null,
      entry_id: null,
      cid: null,
      size: null,
      created_at: Date.now(),
      completed_at: null
    }
    await this.db.transaction().execute(async trx => {
      await lockSession(trx, p.session.id)
      const files = await trx.selectFrom('bucket_uploads').select(eb => eb.fn.countAll<number>().as('n'))
        .where('session_id', '=', p.session.id).executeTakeFirstOrThrow()
      if (Number(files.n) >= p.session.maxFiles) {
        throw new CairnError('quota_exceeded', `The session allows at most ${p.session.maxFiles} files (maxFiles)`, { rule: 'maxFiles', maxFiles: p.session.maxFiles })
      }
      if (size !== null && await sessionBytes(trx, p.session.id) + size > p.session.maxTotalBytes) throw sessionRuleExceeded(p.session.maxTotalBytes)
      await trx.insertInto('bucket_uploads').values(row).execute()
    })
    return { uploadId: row.id, fileKey: row.file_key }
  }

  /** The open upload named by key and uploadId, both of which must match. */
  private async openUpload (p: SessionPrincipal, key: string | undefined, uploadId: string | undefined): Promise<UploadRow> {
    if (key === undefined || key === '') throw invalid('key is required')
    const r = await this.db.selectFrom('bucket_uploads').selectAll().where('file_key', '=', key).where('session_id', '=', p.session.id).executeTakeFirst()
    if (r === undefined) throw notFound('Upload not found')
    if (uploadId !== undefined && uploadId !== r.id) throw notFound('Upload not found: uploadId does not match key')
    return r
  }

  /**
   * Receive one part, streaming it to the part store. A part sent again replaces the earlier
   * copy. The session's size rule is checked on every chunk against the session's kept parts
   * plus every part streaming now, and exactly once more when the part is kept.
   */
  async putPart (p: SessionPrincipal, ids: { key?: string, uploadId?: string, partNumber?: number }, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ tag: string, partNumber: number, size: number }> {
    if (ids.uploadId === undefined || ids.uploadId === '') throw invalid('uploadId is required')
    const n = ids.partNumber
    if (n === undefined || !Number.isSafeInteger(n) || n < 1) throw invalid('partNumber must be a positive integer')
    const u = await this.openUpload(p, ids.key, ids.uploadId)
    const maxPart = u.total_parts > 0 ? u.total_parts : MAX_PARTS
    if (n > maxPart) throw invalid(`partNumber must be from 1 to ${maxPart} (totalParts)`)
    if (u.status !== 'uploading') throw new CairnError('conflict', u.status === 'completed' ? 'The upload is already completed' : 'The upload is being completed')

    const sessionId = p.session.id
    const max = p.session.maxTotalBytes
    const maxFile = p.account.planLimits.maxFileBytes
    const old = await this.db.selectFrom('bucket_parts').select('size').where('upload_id', '=', u.id).where('part_number', '=', n).executeTakeFirst()
    const keptElsewhere = await sessionBytes(this.db, sessionId) - Number(old?.size ?? 0)
    const uploadElsewhere = await uploadBytes(this.db, u.id) - Number(old?.size ?? 0)
    const inflight = this.inflight
    let mine = 0
    async function * metered (): AsyncIterable<Uint8Array> {
      for await (const chunk of source) {
        mine += chunk.byteLength
        inflight.set(sessionId, (inflight.get(sessionId) ?? 0) + chunk.byteLength)
        if (keptElsewhere + (inflight.get(sessionId) ?? 0) > max) throw sessionRuleExceeded(max)
        if (uploadElsewhere + mine > maxFile) throw fileTooLarge(maxFile)
        yield chunk
      }
    }
    const content = this.deps.content
    const onBytesIn = this.deps.onBytesIn
    let imported
    try {
      imported = await content.importLeaves(metered(), { profile: PIECE_PROFILE, signal })
    } finally {
      const left = (inflight.get(sessionId) ?? 0) - mine
      if (left <= 0) inflight.delete(sessionId)
      else inflight.set(sessionId, left)
    }
    onBytesIn?.(imported.size)
    const tag = partTag(imported.leaves)
    let dropped: string[] = []
    try {
      // keep the part only if the session's rule still holds with it, counted exactly
      await this.db.transaction().execute(async trx => {
        await lockSession(trx, sessionId)
        const cur = await trx.selectFrom('bucket_uploads').select('status').where('id', '=', u.id).executeTakeFirst()
        if (cur === undefined) throw notFound('Upload not found')
        if (cur.status !== 'uploading') throw new CairnError('conflict', 'The upload was completed while this part was sent')
        const prev = await trx.selectFrom('bucket_parts').select(['size', 'pack_id']).where('upload_id', '=', u.id).where('part_number', '=', n).executeTakeFirst()
        if (await sessionBytes(trx, sessionId) - Number(prev?.size ?? 0) + imported.size > max) throw sessionRuleExceeded(max)
        await trx.deleteFrom('bucket_parts').where('upload_id', '=', u.id).where('part_number', '=', n).execute()
        dropped = await content.forgetPartPacks(trx, prev?.pack_id != null ? [prev.pack_id] : [])
        const packId = await content.recordPartPack(trx, imported)
        await trx.insertInto('bucket_parts').values({
          upload_id: u.id, part_number: n, size: imported.size, tag, created_at: Date.now(), pack_id: packId, leaves: imported.leaves.map(l => l.cid.toString()).join(',')
        }).execute()
      })
    } catch (err) {
      await content.discard(imported)
      throw err
    }
    await content.dropBlobs(dropped)
    return { tag, partNumber: n, size: imported.size }
  }

  /**
   * Assemble the parts in order into one file of the session's bucket. Every part from 1 to
   * totalParts (or to the highest part sent, when totalParts was not given) must be there;
   * `tags`, when given, must be the parts' tags in order.
   */
  async complete (p: SessionPrincipal, input: { key?: string, uploadId?: string, tags?: string[] | null }, profile: ImportProfile, signal?: AbortSignal): Promise<BucketFile> {
    const u = await this.openUpload(p, input.key, input.uploadId)
    if (u.status === 'completed') {
      const done = await this.view(p, u)
      if (done !== undefined) return done // a retried completion answers the same file
      throw notFound('Upload not found')
    }
    const claimed = await this.db.updateTable('bucket_uploads').set({ status: 'completing' }).where('id', '=', u.id).where('status', '=', 'uploading').executeTakeFirst()
    if (Number(claimed.numUpdatedRows) === 0) throw new CairnError('conflict', 'The upload is already being completed')
    try {
      const parts = await this.db.selectFrom('bucket_parts').select(['part_number', 'size', 'tag', 'pack_id', 'leaves']).where('upload_id', '=', u.id).orderBy('part_number').execute()
      const have = new Set(parts.map(x => Number(x.part_number)))
      const last = u.total_parts > 0 ? u.total_parts : Math.max(0, ...have)
      if (last === 0) throw invalid('No parts were uploaded', { missingParts: [1] })
      const missing: number[] = []
      for (let i = 1; i <= last; i++) if (!have.has(i)) missing.push(i)
      if (missing.length > 0) {
        const named = missing.length <= 20 ? missing.join(', ') : `${missing.slice(0, 20).join(', ')} and ${missing.length - 20} more`
        throw invalid(`Cannot complete: part${missing.length > 1 ? 's' : ''} ${named} ${missing.length > 1 ? 'are' : 'is'} missing`, { missingParts: missing })
      }
      const used = parts.filter(x => Number(x.part_number) <= last)
      if (input.tags != null && input.tags.length > 0) {
        if (input.tags.length !== used.length) throw invalid(`tags lists ${input.tags.length} parts; the upload has ${used.length}`)
        used.forEach((part, i) => {
          const given = String(input.tags?.[i]).replace(/^W\/|"/g, '')
          if (given !== part.tag) throw invalid(`tag of part ${Number(part.part_number)} does not match the part received`, { part: Number(part.part_number) })
        })
      }
      const total = used.reduce((s, x) => s + Number(x.size), 0)
      if (u.original_size !== null && Number(u.original_size) !== total) {
        throw invalid(`The parts add up to ${total} bytes but originalSizeInBytes is ${Number(u.original_size)}`)
      }
      const entry = await this.assemble(p, u, used, profile, signal)
      // parts beyond totalParts are dropped; their bytes no longer count. Part packs the file
      // does not own (it was stored already, or imported from scratch) go with them.
      const packIds = (await this.db.selectFrom('bucket_parts').select('pack_id').where('upload_id', '=', u.id).execute())
        .flatMap(x => x.pack_id === null ? [] : [x.pack_id])
      const dropped = await this.db.transaction().execute(async trx => {
        await trx.deleteFrom('bucket_parts').where('upload_id', '=', u.id).where('part_number', '>', last).execute()
        await trx.updateTable('bucket_uploads').set({
          status: 'completed', entry_id: entry.id, cid: entry.cid, size: entry.size,
          tags: JSON.stringify(used.map(x => x.tag)), completed_at: Date.now(), total_parts: last
        }).where('id', '=', u.id).execute()
        return await this.deps.content.forgetPartPacks(trx, packIds)
      })
      // the answer need not wait for the unlinks (dropBlobs never fails)
      void this.deps.content.dropBlobs(dropped)
      await this.deps.legacyParts.dropUpload(u.id).catch(() => {})
      const done = await this.db.selectFrom('bucket_uploads').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow()
      const view = await this.view(p, done)
      if (view === undefined) throw notFound('Upload not found')
      return view
    } catch (err) {
      await this.db.updateTable('bucket_uploads').set({ status: 'uploading' }).where('id', '=', u.id).where('status', '=', 'completing').execute()
      throw err
    }
  }

  /** Store the parts, in order, as one file entry of the session's folder (part-packs.ts). */
  private async assemble (p: SessionPrincipal, u: UploadRow, used: Array<Pick<Database['bucket_parts'], 'part_number' | 'size' | 'pack_id' | 'leaves'>>, profile: ImportProfile, signal?: AbortSignal): Promise<Entry> {
    const legacy = this.deps.legacyParts
    return await storeParts(this.deps, this.target(p, entryName(u)), used, {
      profile, chunkedWith: PIECE_PROFILE, signal, readOther: i => legacy.readPart(u.id, Number(used[i].part_number), signal)
    })
  }

  private target (p: SessionPrincipal, filename: string): PartsTarget {
    return { account: p.account, spaceName: p.session.spaceName, folderPath: p.session.folderPath, filename, budget: async () => await this.deps.drive.budgetFor(p.account) }
  }

  /**
   * Store a whole file (a finished tus upload of a session member) in the session's bucket,
   * under the session's rules, and list it like a completed multipart upload. `put` stores
   * it where it is told (the session's folder, under `name`).
   */
  async importWhole (p: SessionPrincipal, input: { name: string | null, size: number }, put: (target: PartsTarget) => Promise<Entry>): Promise<{ file: BucketFile, entry: Entry }> {
    const { uploadId } = await this.start(p, { totalParts: 1, encryptedName: input.name, originalSizeInBytes: input.size })
    const u = await this.db.selectFrom('bucket_uploads').selectAll().where('id', '=', uploadId).executeTakeFirstOrThrow()
    try {
      const entry = await put(this.target(p, entryName(u)))
      await this.db.transaction().execute(async trx => {
        await trx.insertInto('bucket_parts').values({ upload_id: u.id, part_number: 1, size: entry.size, tag: '', created_at: Date.now(), pack_id: null, leaves: null }).execute()
        await trx.updateTable('bucket_uploads').set({ status: 'completed', entry_id: entry.id, cid: entry.cid, size: entry.size, tags: '[]', completed_at: Date.now() })
          .where('id', '=', u.id).execute()
      })
      const done = await this.db.selectFrom('bucket_uploads').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow()
      const file = await this.view(p, done)
      if (file === undefined) throw notFound('Upload not found')
      return { file, entry }
    } catch (err) {
      await this.db.deleteFrom('bucket_uploads').where('id', '=', u.id).execute()
      throw err
    }
  }

  /** A file of the session by its fileId (the key; the uploadId is accepted too). */
  private async find (p: SessionPrincipal, fileId: string): Promise<UploadRow> {
    const r = await this.db.selectFrom('bucket_uploads').selectAll().where('session_id', '=', p.session.id)
      .where(eb => eb.or([eb('file_key', '=', fileId), eb('id', '=', fileId)])).executeTakeFirst()
    if (r === undefined) throw notFound('File not found')
    return r
  }

  async get (p: SessionPrincipal, fileId: string): Promise<BucketFile> {
    const f = await this.view(p, await this.find(p, fileId))
    if (f === undefined) throw notFound('File not found')
    return f
  }

  /** Delete a finished file (its entry) or abandon an unfinished upload (its parts). */
  async remove (p: SessionPrincipal, fileId: string): Promise<void> {
    const r = await this.find(p, fileId)
    if (r.status === 'completing') throw new CairnError('conflict', 'The upload is being completed; try again')
    if (r.status === 'completed' && r.entry_id !== null) {
      await this.deps.drive.removeEntry(p.account.id, r.entry_id).catch(err => {
        if (!(err instanceof CairnError && err.code === 'not_found')) throw err
      })
    }
    await this.dropParts(r.id, async trx => { await trx.deleteFrom('bucket_uploads').where('id', '=', r.id).execute() })
  }

  /** Forget an unfinished upload's parts (their packs, once `also` and the rows are committed). */
  private async dropParts (uploadId: string, also: (trx: Trx) => Promise<void>): Promise<void> {
    const dropped = await this.db.transaction().execute(async trx => {
      const packIds = (await trx.selectFrom('bucket_parts').select('pack_id').where('upload_id', '=', uploadId).execute())
        .flatMap(x => x.pack_id === null ? [] : [x.pack_id])
      const keys = await this.deps.content.forgetPartPacks(trx, packIds)
      await also(trx)
      return keys
    })
    await this.deps.content.dropBlobs(dropped)
    await this.deps.legacyParts.dropUpload(uploadId)
  }

  /** What a signed download URL of this file serves: the owner and the CID, if the file still exists. */
  async downloadTarget (fileKey: string): Promise<{ accountId: string, cid: string, name: string } | undefined> {
    const r = await this.db.selectFrom('bucket_uploads').selectAll().where('file_key', '=', fileKey).where('status', '=', 'completed').executeTakeFirst()
    if (r === undefined || r.entry_id === null || r.cid === null) return undefined
    const entry = await this.deps.drive.entry(r.account_id, r.entry_id)
    if (entry === undefined) return undefined
    return { accountId: r.account_id, cid: r.cid, name: r.encrypted_name ?? r.file_key }
  }

  /**
   * Clean up abandoned uploads: unfinished uploads of sessions that expired or were deleted
   * (their parts and records), and part directories no record names. Finished files stay:
   * they are the account's files.
   */
  async sweep (now = Date.now()): Promise<{ uploadsRemoved: number, orphanPartDirs: number }> {
    let uploadsRemoved = 0
    for (const sessionId of await this.deps.sessions.endedWithOpenUploads(now)) {
      const open = await this.db.selectFrom('bucket_uploads').select('id').where('session_id', '=', sessionId).where('status', '!=', 'completed').execute()
      for (const u of open) {
        await this.dropParts(u.id, async trx => {
          await trx.deleteFrom('bucket_parts').where('upload_id', '=', u.id).execute()
          await trx.deleteFrom('bucket_uploads').where('id', '=', u.id).where('status', '!=', 'completed').execute()
        })
        uploadsRemoved++
      }
    }
    // part packs of completed uploads that their file does not own (a crash between storing
    // the file and forgetting them)
    const stray = await this.db.selectFrom('bucket_parts')
      .innerJoin('bucket_uploads', 'bucket_uploads.id', 'bucket_parts.upload_id')
      .innerJoin('packs', 'packs.id', 'bucket_parts.pack_id')
      .select('packs.id').where('bucket_uploads.status', '=', 'completed').where('packs.part_of', 'is', null).execute()
    if (stray.length > 0) {
      const keys = await this.db.transaction().execute(async trx => await this.deps.content.forgetPartPacks(trx, stray.map(x => x.id)))
      await this.deps.content.dropBlobs(keys)
    }
    let orphanPartDirs = 0
    for (const id of await this.deps.legacyParts.listUploads()) {
      const r = await this.db.selectFrom('bucket_uploads').select('status').where('id', '=', id).executeTakeFirst()
      if (r === undefined || r.status === 'completed') {
        await this.deps.legacyParts.dropUpload(id)
        orphanPartDirs++
      }
    }
    return { uploadsRemoved, orphanPartDirs }
  }

  /** At start-up of the only server: completions cut off by a crash go back to accepting parts. */
  async recover (): Promise<void> {
    await this.db.updateTable('bucket_uploads').set({ status: 'uploading' }).where('status', '=', 'completing').execute()
  }

  private async view (p: SessionPrincipal, r: UploadRow): Promise<BucketFile | undefined> {
    if (r.status === 'completed') {
      // removed through another dialect (e.g. FluxDrive rm): no longer in the bucket
      if (r.entry_id === null || await this.deps.drive.entry(p.account.id, r.entry_id) === undefined) return undefined
    }
    const parts = await this.db.selectFrom('bucket_parts').select(['part_number', 'size', 'tag']).where('upload_id', '=', r.id).orderBy('part_number').execute()
    const received = parts.reduce((s, x) => s + Number(x.size), 0)
    return {
      uploadId: r.id,
      fileKey: r.file_key,
      creatorId: r.creator_id,
      status: r.status,
      completed: r.status === 'completed',
      encryptedName: r.encrypted_name,
      totalParts: Number(r.total_parts),
      originalSizeInBytes: r.original_size === null ? null : Number(r.original_size),
      size: r.status === 'completed' ? Number(r.size) : received,
      partsReceived: parts.length,
      cid: r.cid,
      tags: r.tags !== null ? JSON.parse(r.tags) as string[] : parts.map(x => x.tag),
      createdAt: Number(r.created_at),
      completedAt: r.completed_at === null ? null : Number(r.completed_at)
    }
  }
}

type Q = Pick<Db, 'selectFrom' | 'updateTable'>
type Trx = Transaction<Database>

/** Bytes a session's uploads hold: every kept part of its uploads, finished or not. */
async function sessionBytes (db: Q, sessionId: string): Promise<number> {
  const r = await db.selectFrom('bucket_parts').innerJoin('bucket_uploads', 'bucket_uploads.id', 'bucket_parts.upload_id')
    .select(eb => eb.fn.coalesce(eb.fn.sum<number>('bucket_parts.size'), eb.lit(0)).as('n'))
    .where('bucket_uploads.session_id', '=', sessionId).executeTakeFirstOrThrow()
  return Number(r.n)
}

async function uploadBytes (db: Q, uploadId: string): Promise<number> {
  const r = await db.selectFrom('bucket_parts').select(eb => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('n'))
    .where('upload_id', '=', uploadId).executeTakeFirstOrThrow()
  return Number(r.n)
}

/** The session row's lock: changes to one session's uploads and parts run one at a time. */
async function lockSession (trx: Q, sessionId: string): Promise<void> {
  await trx.updateTable('upload_sessions').set(eb => ({ max_files: eb.ref('max_files') })).where('id', '=', sessionId).execute()
}
