/**
 * The garbage collector. Content whose last reference went away (released_at set) is freed
 * once the grace period has passed and nothing references it again.
 *
 * Leftovers of uploads that never committed (a crash between writing a pack and recording
 * it) are not the collector's: a pack of a request still streaming its later files looks
 * the same, however old. They are swept at start-up (sweepLeftovers), when nothing is in
 * flight.
 *
 * Safety against a concurrent upload of the same content: an upload that re-references a
 * root clears released_at in its own transaction, and the collector deletes only rows whose
 * released_at is still set and old, re-checked inside its transaction.
 */
import type { Db } from '../adapters/metadata/open.js'
import type { ContentStore } from './content/content-store.js'
import type { BlobStore } from './ports/blob-store.js'

export interface GcReport {
  contentsFreed: number
  packsDeleted: number
  bytesFreed: number
}

export async function collectGarbage (deps: { db: Db, blobs: BlobStore, content: ContentStore }, graceMs: number): Promise<GcReport> {
  const { db, blobs, content } = deps
  const cutoff = Date.now() - graceMs
  const report: GcReport = { contentsFreed: 0, packsDeleted: 0, bytesFreed: 0 }

  const candidates = await db.selectFrom('contents').select(['cid', 'pack_id'])
    .where('released_at', 'is not', null).where('released_at', '<=', cutoff).execute()
  for (const c of candidates) {
    const freed = await db.transaction().execute(async trx => {
      // only a pinned entry keeps content: unpinned ones stay listed, their content goes
      const referenced = await trx.selectFrom('entries').select('id').where('pinned', '=', 1)
        .where(eb => eb.or([eb('cid', '=', c.cid), eb('thumbnail_cid', '=', c.cid)])).executeTakeFirst()
      if (referenced !== undefined) {
        await trx.updateTable('contents').set({ released_at: null }).where('cid', '=', c.cid).execute()
        return undefined
      }
      const del = await trx.deleteFrom('contents').where('cid', '=', c.cid)
        .where('released_at', 'is not', null).where('released_at', '<=', cutoff).executeTakeFirst()
      if (Number(del.numDeletedRows) === 0) return undefined
      const others = await trx.selectFrom('contents').select('cid').where('pack_id', '=', c.pack_id).executeTakeFirst()
      if (others !== undefined) return { packs: undefined }
      // the pack, and the part packs it owns (a file sent in parts keeps its leaves there)
      const packs = await trx.selectFrom('packs').select(['id', 'blob_key', 'size'])
        .where(eb => eb.or([eb('id', '=', c.pack_id), eb('part_of', '=', c.pack_id)])).execute()
      const ids = packs.map(p => p.id)
      if (ids.length > 0) {
        await trx.deleteFrom('blocks').where('pack_id', 'in', ids).execute()
        await trx.deleteFrom('packs').where('id', 'in', ids).execute()
      }
      return { packs }
    })
    if (freed === undefined) continue
    report.contentsFreed++
    for (const pack of freed.packs ?? []) {
      content.forgetPack(pack.id)
      await blobs.delete(pack.blob_key)
      report.packsDeleted++
      report.bytesFreed += pack.size
    }
  }

  return report
}

/**
 * Remove what uploads that never committed left behind: completed packs with no pack row
 * (the process died between making the pack durable and committing it) and incomplete
 * pack files. Only leftovers older than `minAgeMs` are touched; at start-up of the only
 * server of a data dir nothing is in flight and 0 is right.
 */
export interface LeftoverReport { orphanPacksDeleted: number, incompleteSwept: number, bytesFreed: number }

export async function sweepLeftovers (deps: { db: Db, blobs: BlobStore }, minAgeMs: number): Promise<LeftoverReport> {
  const { db, blobs } = deps
  const cutoff = Date.now() - minAgeMs
  const out = { orphanPacksDeleted: 0, incompleteSwept: 0, bytesFreed: 0 }
  const known = new Set((await db.selectFrom('packs').select('blob_key').execute()).map(r => r.blob_key))
  for await (const b of blobs.list()) {
    if (known.has(b.key) || b.modifiedAt > cutoff) continue
    // re-check: a commit may have landed since the listing started
    if (await db.selectFrom('packs').select('id').where('blob_key', '=', b.key).executeTakeFirst() !== undefined) continue
    await blobs.delete(b.key)
    out.orphanPacksDeleted++
    out.bytesFreed += b.size
  }
  out.incompleteSwept = await blobs.sweepIncomplete(minAgeMs)
  return out
}
