/**
 * A file received in pieces, each a part pack of UnixFS leaves (a /buckets part, a tus
 * segment; see docs/architecture.md "Packs"), stored as one file entry: over the pieces'
 * leaves when they line up as a one-shot import's leaves would (nothing read again), else by
 * reading the pieces back and importing their bytes from scratch. The CID is the same either
 * way.
 */
import { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import type { Account } from './accounts.js'
import type { ContentStore } from './content/content-store.js'
import type { LeafRecord } from './content/ingest.js'
import { PROFILE_LEAVES } from './content/leaf-import.js'
import type { ImportProfile } from './content/profiles.js'
import type { Drive, Entry } from './drive.js'
import { CairnError } from './errors.js'

/** one piece, as its row records it */
export interface StoredPart {
  size: number
  /** its part pack; null: a piece kept elsewhere (readOther) */
  pack_id: string | null
  /** its leaves in order, CIDs joined by ',' */
  leaves: string | null
}

/** the profile pieces are chunked with, unless an upload asks for CIDv1 (tus metadata) */
export const PIECE_PROFILE: ImportProfile = 'unixfs-v0-2015'

/**
 * The leaves of the whole file in order, when the pieces line up as a one-shot import's
 * leaves would: every piece chunked with `profile`'s leaves (`chunkedWith`), none empty,
 * every piece before the last a whole number of chunks, and at least two leaves (a single
 * leaf is its own file node).
 */
export async function leavesInOrder (db: Db, parts: StoredPart[], profile: ImportProfile, chunkedWith: ImportProfile): Promise<LeafRecord[] | undefined> {
  if (profile !== chunkedWith) return undefined
  const chunk = PROFILE_LEAVES[profile].chunkSize
  const lined = parts.every((x, i) => x.pack_id !== null && x.leaves !== null && Number(x.size) > 0 && (i === parts.length - 1 || Number(x.size) % chunk === 0))
  if (!lined) return undefined
  const out: LeafRecord[] = []
  for (const x of parts) {
    const blocks = await db.selectFrom('blocks').select(['cid', 'length']).where('pack_id', '=', x.pack_id as string).execute()
    const lengths = new Map(blocks.map(b => [b.cid, Number(b.length)]))
    const cids = (x.leaves as string).split(',')
    const size = Number(x.size)
    for (let i = 0; i < cids.length; i++) {
      const blockLength = lengths.get(cids[i])
      if (blockLength === undefined) throw new CairnError('unavailable', 'a stored part\'s leaf is missing; the operator should run cairn fsck')
      out.push({ cid: CID.parse(cids[i]), blockLength, dataLength: Math.min(chunk, size - i * chunk) })
    }
  }
  return out.length >= 2 ? out : undefined
}

export interface PartsTarget {
  account: Account
  spaceName: string
  folderPath?: string
  filename: string
  mimetype?: string
  /** what putFiles would take from the account's budget (the from-scratch path meters with it) */
  budget: () => ReturnType<Drive['budgetFor']>
}

/**
 * Store `parts` (in order) as one file entry of `target`. Part packs the file does not own
 * afterwards (it was imported from scratch, or was stored already) are the caller's to forget.
 * `readOther` reads a piece that has no pack (a /buckets part file of an older release).
 */
export async function storeParts (deps: { db: Db, drive: Drive, content: ContentStore }, target: PartsTarget, parts: StoredPart[],
  opts: { profile: ImportProfile, chunkedWith: ImportProfile, signal?: AbortSignal, readOther?: (index: number) => AsyncIterable<Uint8Array> }): Promise<Entry> {
  const { db, drive, content } = deps
  const leaves = await leavesInOrder(db, parts, opts.profile, opts.chunkedWith)
  if (leaves !== undefined) {
    const file = await content.importParents(leaves, parts.map(x => x.pack_id as string), { profile: opts.profile, signal: opts.signal })
    return await drive.putImported(target.account, target.spaceName, {
      filename: target.filename, mimetype: target.mimetype, file, head: content.leafData(parts[0].pack_id as string, [leaves[0].cid], opts.signal)
    }, { folderPath: target.folderPath, profile: opts.profile })
  }
  const signal = opts.signal
  async function * bytes (): AsyncIterable<Uint8Array> {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      if (part.pack_id !== null && part.leaves !== null) {
        yield * content.leafData(part.pack_id, part.leaves.split(',').map(c => CID.parse(c)), signal)
      } else if (opts.readOther !== undefined) {
        yield * opts.readOther(i)
      } else {
        throw new CairnError('unavailable', 'a stored part is missing')
      }
    }
  }
  const [entry] = await drive.putFiles(target.account, target.spaceName, (async function * () {
    yield { filename: target.filename, mimetype: target.mimetype, content: bytes() }
  })(), { folderPath: target.folderPath, profile: opts.profile, budget: await target.budget(), signal, countBytesIn: false })
  return entry
}
