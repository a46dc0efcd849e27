/**
 * migrate-store: copy a deployment's metadata and content to other stores (the embedded
 * SQLite file to PostgreSQL, the data dir's packs to an S3 bucket, or both), then prove the
 * copy by re-reading it: every block of every pack re-hashed against its CID from the
 * target (fsck), and every root CID resolved through the target.
 *
 * Safe to re-run after an interruption, and cheap: packs already in the target with their
 * full size are skipped (each keeps its key, so the metadata needs no rewriting), and the
 * metadata is copied in one target transaction (all of it or none), replacing what an
 * earlier run of this command put there. A target database that holds anything else, or
 * that changed since the last run (row counts differ: a server has used it), is refused. The source is only read. Run it with the server stopped (or at least with no
 * writes), so that the copy is of one moment.
 */
import { sql } from 'kysely'
import { CID } from 'multiformats/cid'
import type { Db, MetadataStore } from '../adapters/metadata/open.js'
import { ContentStore } from './content/content-store.js'
import { CairnError } from './errors.js'
import { fsck, type FsckProblem } from './fsck.js'
import type { BlobStore } from './ports/blob-store.js'

export interface MigrateTarget {
  /** where metadata goes; undefined: it stays where it is */
  metadata: MetadataStore | undefined
  /** where packs go; undefined: they stay where they are */
  blobs: BlobStore | undefined
}

export interface MigrateReport {
  tables: Record<string, number>
  packsCopied: number
  packsSkipped: number
  bytesCopied: number
  verified: { packs: number, blocks: number, bytes: number, roots: number }
  problems: Array<FsckProblem | { cid: string, problem: 'root_unreadable', detail: string }>
}

const MARKER = 'migrated_by_migrate_store'
const COPY_CONCURRENCY = 4

export async function migrateStore (
  source: { metadata: MetadataStore, blobs: BlobStore },
  target: MigrateTarget,
  log: (line: string) => void = () => {}
): Promise<MigrateReport> {
  if (target.metadata === undefined && target.blobs === undefined) throw new CairnError('invalid_argument', 'nothing to migrate to: give a target database, a target bucket, or both')
  const report: MigrateReport = { tables: {}, packsCopied: 0, packsSkipped: 0, bytesCopied: 0, verified: { packs: 0, blocks: 0, bytes: 0, roots: 0 }, problems: [] }

  // content first: metadata in the target must never name a pack the target lacks
  if (target.blobs !== undefined) await copyPacks(source.metadata.db, source.blobs, target.blobs, report, log)
  if (target.metadata !== undefined) await copyMetadata(source.metadata, target.metadata.db, report, log)

  const db = (target.metadata ?? source.metadata).db
  const blobs = target.blobs ?? source.blobs
  log('verifying: re-hashing every block from the target')
  const checked = await fsck({ db, blobs }, n => { if (n % 100 === 0) log(`  ${n} packs checked`) })
  report.verified = { packs: checked.packs, blocks: checked.blocks, bytes: checked.bytes, roots: 0 }
  report.problems.push(...checked.problems)
  log('verifying: resolving every root CID through the target')
  const content = new ContentStore(db, blobs)
  try {
    for (const row of await db.selectFrom('contents').select('cid').execute()) {
      try {
        const entry = await content.resolve(CID.parse(row.cid))
        if (!entry.cid.equals(CID.parse(row.cid))) throw new Error(`resolved to ${entry.cid.toString()}`)
        report.verified.roots++
      } catch (err) {
        report.problems.push({ cid: row.cid, problem: 'root_unreadable', detail: (err as Error).message })
      }
    }
  } finally {
    await content.close()
  }
  return report
}

async function copyPacks (db: Db, from: BlobStore, to: BlobStore, report: MigrateReport, log: (line: string) => void): Promise<void> {
  const packs = await db.selectFrom('packs').select(['blob_key', 'size']).orderBy('created_at').execute()
  const present = new Map<string, number>()
  for await (const b of to.list()) present.set(b.key, b.size)
  log(`packs: ${packs.length} in the source, ${present.size} objects already in the target`)
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < packs.length) {
      const p = packs[next++]
      if (present.get(p.blob_key) === p.size) {
        report.packsSkipped++
      } else {
        await copyPack(from, to, p.blob_key, p.size)
        report.packsCopied++
        report.bytesCopied += p.size
      }
      if (++done % 100 === 0) log(`  ${done}/${packs.length} packs`)
    }
  }
  await Promise.all(Array.from({ length: COPY_CONCURRENCY }, worker))
  log(`packs: ${report.packsCopied} copied (${report.bytesCopied} bytes), ${report.packsSkipped} already there`)
}

async function copyPack (from: BlobStore, to: BlobStore, key: string, size: number): Promise<void> {
  const sink = await to.createPack(0, { key })
  try {
    for await (const chunk of from.stream(key)) await sink.append(chunk)
    if (sink.size !== size) throw new CairnError('unavailable', `pack ${key} is ${sink.size} bytes in the source, the index says ${size}`)
    await sink.complete(new Uint8Array(0))
  } catch (err) {
    await sink.abort()
    throw err
  }
}

/** Source tables in an order where every table comes after those it references. */
async function tablesInOrder (source: MetadataStore): Promise<string[]> {
  if (source.dialect !== 'sqlite') throw new CairnError('invalid_argument', 'metadata can be moved only from the embedded SQLite store (CAIRN_DATABASE_URL must be unset)')
  const names = (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' ORDER BY name`.execute(source.db)).rows.map(r => r.name)
  const deps = new Map<string, Set<string>>()
  for (const n of names) {
    const fks = (await sql<{ table: string }>`SELECT "table" FROM pragma_foreign_key_list(${n})`.execute(source.db)).rows
    deps.set(n, new Set(fks.map(f => f.table).filter(t => t !== n)))
  }
  const out: string[] = []
  const seen = new Set<string>()
  const visit = (n: string): void => {
    if (seen.has(n)) return
    seen.add(n)
    for (const d of deps.get(n) ?? []) visit(d)
    out.push(n)
  }
  names.forEach(visit)
  return out
}

async function copyMetadata (source: MetadataStore, target: Db, report: MigrateReport, log: (line: string) => void): Promise<void> {
  const tables = await tablesInOrder(source)
  const targetTables = new Set((await target.introspection.getTables()).map(t => t.name))
  const missing = tables.filter(t => !targetTables.has(t))
  if (missing.length > 0) throw new CairnError('invalid_argument', `the target database lacks tables ${missing.join(', ')}: is it running an older Cairn?`)
  const src = source.db as unknown as Db & { selectFrom: (t: string) => any }
  await target.transaction().execute(async trx => {
    const t = trx as any
    const counts = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {}
      for (const name of tables) {
        const r = await t.selectFrom(name).select(sql<number>`count(*)`.as('n')).executeTakeFirst()
        out[name] = Number(r?.n ?? 0)
      }
      return out
    }
    const marker = await trx.selectFrom('meta').select('value').where('key', '=', MARKER).executeTakeFirst()
    const now = await counts()
    if (marker === undefined) {
      const used = Object.entries(now).find(([, n]) => n > 0)
      if (used !== undefined) throw new CairnError('conflict', `the target database already holds data (table ${used[0]}): migrate-store fills only an empty database, or one it filled before`)
    } else {
      // what the last run left (its counts, marker row aside): anything else means a server
      // has used the target since, and replacing its metadata would lose those writes
      const left = (JSON.parse(marker.value) as { counts: Record<string, number> }).counts
      const changed = tables.filter(n => (now[n] ?? 0) - (n === 'meta' ? 1 : 0) !== (left[n] ?? 0))
      if (changed.length > 0) throw new CairnError('conflict', `the target database changed since migrate-store filled it (tables ${changed.join(', ')}): a server has used it; refusing to overwrite`)
    }
    // a re-run replaces what the earlier run copied
    for (const name of [...tables].reverse()) await t.deleteFrom(name).execute()
    for (const name of tables) {
      let batch: Array<Record<string, unknown>> = []
      let rows = 0
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        await t.insertInto(name).values(batch).execute()
        rows += batch.length
        batch = []
      }
      let perBatch = 0
      for await (const row of src.selectFrom(name).selectAll().stream(1000) as AsyncIterable<Record<string, unknown>>) {
        // PostgreSQL takes at most 65535 parameters per statement
        perBatch ||= Math.max(1, Math.min(1000, Math.floor(30_000 / Math.max(1, Object.keys(row).length))))
        batch.push(row)
        if (batch.length >= perBatch) await flush()
      }
      await flush()
      report.tables[name] = rows
      log(`table ${name}: ${rows} rows`)
    }
    const value = JSON.stringify({ at: Date.now(), counts: report.tables })
    await trx.insertInto('meta').values({ key: MARKER, value }).onConflict(oc => oc.column('key').doUpdateSet({ value })).execute()
  })
}
