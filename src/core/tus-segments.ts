/**
 * A tus upload's bytes as segments: part packs of UnixFS leaves (as /buckets parts are),
 * each covering [start, start + size) of the upload, recorded in order once durable
 * (table tus_segments). The upload's durable offset is where its recorded segments end.
 * Finished, the segments are stored as one file by part-packs.ts: over their leaves when
 * they line up (every segment but the last is whole chunks: the tus writer cuts them so), so
 * nothing is read again. The writer that cuts segments from PATCH bodies is the dialect's
 * (src/dialects/tus/writer.ts).
 */
import type { Db } from '../adapters/metadata/open.js'
import { relaxedTransaction } from '../adapters/metadata/relaxed.js'
import type { ContentStore } from './content/content-store.js'
import type { LeavesResult } from './content/ingest.js'
import type { ImportProfile } from './content/profiles.js'
import type { Drive, Entry } from './drive.js'
import { storeParts, type PartsTarget, type StoredPart } from './part-packs.js'

export class TusSegments {
  constructor (private readonly deps: { db: Db, dialect: 'sqlite' | 'postgres', drive: Drive, content: ContentStore }) {}

  /** Import `source` as a segment's pack of leaves (durable, not recorded yet). */
  async importSegment (source: AsyncIterable<Uint8Array>, profile: ImportProfile, signal?: AbortSignal): Promise<LeavesResult> {
    return await this.deps.content.importLeaves(source, { profile, signal })
  }

  /**
   * Record a durable segment of upload `uploadId` starting at `start`. The commit survives a
   * crash, not necessarily a power loss (relaxed.ts): the upload then resumes a little earlier.
   */
  async record (uploadId: string, start: number, r: LeavesResult): Promise<void> {
    const { db, content } = this.deps
    try {
      await relaxedTransaction(db, this.deps.dialect, async trx => {
        const packId = await content.recordPartPack(trx, r)
        await trx.insertInto('tus_segments').values({
          upload_id: uploadId, start, size: r.size, pack_id: packId, leaves: r.leaves.map(l => l.cid.toString()).join(','), created_at: Date.now()
        }).execute()
      })
    } catch (err) {
      await content.discard(r)
      throw err
    }
  }

  /** Forget an unrecorded segment's pack (its writer gave up on it). */
  async discard (r: LeavesResult): Promise<void> { await this.deps.content.discard(r) }

  /** The upload's segments from offset 0 on, without a gap. */
  async segments (uploadId: string): Promise<Array<StoredPart & { start: number }>> {
    const rows = await this.deps.db.selectFrom('tus_segments').select(['start', 'size', 'pack_id', 'leaves'])
      .where('upload_id', '=', uploadId).orderBy('start').execute()
    const out: Array<StoredPart & { start: number }> = []
    let at = 0
    for (const r of rows) {
      if (Number(r.start) !== at) break
      out.push({ start: at, size: Number(r.size), pack_id: r.pack_id, leaves: r.leaves })
      at += Number(r.size)
    }
    return out
  }

  /** Where the upload's recorded segments end: the offset it resumes at after a restart. */
  async durableOffset (uploadId: string): Promise<number> {
    return (await this.segments(uploadId)).reduce((n, s) => n + s.size, 0)
  }

  /**
   * Store the upload's segments as one file entry (see part-packs.ts), then forget them:
   * their packs are the file's, or are deleted (imported from scratch, or stored already).
   */
  async store (uploadId: string, target: PartsTarget, opts: { profile: ImportProfile, signal?: AbortSignal }): Promise<Entry> {
    const parts = await this.segments(uploadId)
    const entry = await storeParts(this.deps, target, parts, { profile: opts.profile, chunkedWith: opts.profile, signal: opts.signal })
    await this.drop(uploadId)
    return entry
  }

  /** Forget every segment of the upload: rows, and packs no file owns. */
  async drop (uploadId: string): Promise<void> {
    const { db, content } = this.deps
    const keys = await db.transaction().execute(async trx => {
      const rows = await trx.selectFrom('tus_segments').select('pack_id').where('upload_id', '=', uploadId).execute()
      const dropped = await content.forgetPartPacks(trx, rows.map(r => r.pack_id))
      await trx.deleteFrom('tus_segments').where('upload_id', '=', uploadId).execute()
      return dropped
    })
    await content.dropBlobs(keys)
  }

  /** uploads that have segments (for sweeping those whose upload record is gone) */
  async uploadIds (): Promise<string[]> {
    return (await this.deps.db.selectFrom('tus_segments').select('upload_id').distinct().execute()).map(r => r.upload_id)
  }
}
