/**
 * fsck: re-hash every stored block against its CID, check each pack's CAR header names its
 * root, and report blocks or packs that are missing. Reads exactly what serving reads.
 * It also checks every account's usage counter against its entries. It only reports;
 * `cairn fsck --repair-usage` is the explicit way to reset a counter.
 */
import { createHash } from 'node:crypto'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import { usageMismatches } from './drive.js'
import type { BlobStore } from './ports/blob-store.js'

export interface FsckProblem {
  /** the pack's blob key (pack and block problems) */
  pack?: string
  cid?: string
  /** the account (usage_mismatch) */
  account?: string
  problem: 'pack_missing' | 'block_missing' | 'hash_mismatch' | 'bad_header' | 'unsupported_hash' | 'usage_mismatch'
  detail?: string
}

export interface FsckReport {
  packs: number
  blocks: number
  bytes: number
  /** accounts whose usage counter was checked */
  accounts: number
  problems: FsckProblem[]
}

async function header (blobs: BlobStore, key: string): Promise<CID[]> {
  // the header is at the start; a small prefix is enough to parse it
  const it = await CarBlockIterator.fromIterable(blobs.stream(key, { start: 0, end: 4096 }))
  return await it.getRoots()
}

export async function fsck (deps: { db: Db, blobs: BlobStore }, onProgress?: (packsDone: number) => void): Promise<FsckReport> {
  const { db, blobs } = deps
  const report: FsckReport = { packs: 0, blocks: 0, bytes: 0, accounts: 0, problems: [] }
  const usage = await usageMismatches(db)
  report.accounts = usage.accounts
  for (const m of usage.mismatches) {
    report.problems.push({ account: m.accountId, problem: 'usage_mismatch', detail: `usage counter says ${m.counter} bytes, entries say ${m.entries}` })
  }
  const packs = await db.selectFrom('packs').select(['id', 'blob_key', 'root_cid', 'part_of']).orderBy('created_at').execute()
  for (const p of packs) {
    report.packs++
    try {
      const roots = await header(blobs, p.blob_key).catch(err => {
        if ((err as { code?: string }).code === 'not_found') throw err
        return undefined
      })
      const root = CID.parse(p.root_cid)
      // an upload's pack names one root; a pack made from an imported CAR keeps all the CAR's
      // roots; a part pack names its first leaf, and once a file owns it, root_cid is the file's
      if (roots === undefined || roots.length === 0 || (p.part_of === null && !roots.some(r => r.multihash.bytes.length === root.multihash.bytes.length && r.multihash.bytes.every((b, i) => b === root.multihash.bytes[i])))) {
        report.problems.push({ pack: p.blob_key, problem: 'bad_header', detail: `header does not name root ${p.root_cid}` })
      }
    } catch {
      report.problems.push({ pack: p.blob_key, problem: 'pack_missing' })
      continue
    }
    const blocks = await db.selectFrom('blocks').select(['cid', 'offset', 'length']).where('pack_id', '=', p.id).orderBy('offset').execute()
    for (const b of blocks) {
      report.blocks++
      const cid = CID.parse(b.cid)
      if (cid.multihash.code !== 0x12) {
        report.problems.push({ pack: p.blob_key, cid: b.cid, problem: 'unsupported_hash' })
        continue
      }
      let bytes: Uint8Array
      try {
        bytes = await blobs.read(p.blob_key, b.offset, b.length)
      } catch (err) {
        report.problems.push({ pack: p.blob_key, cid: b.cid, problem: 'block_missing', detail: (err as Error).message })
        continue
      }
      report.bytes += bytes.byteLength
      const digest = createHash('sha256').update(bytes).digest()
      if (!digest.equals(Buffer.from(cid.multihash.digest))) {
        report.problems.push({ pack: p.blob_key, cid: b.cid, problem: 'hash_mismatch' })
      }
    }
    onProgress?.(report.packs)
  }
  return report
}
