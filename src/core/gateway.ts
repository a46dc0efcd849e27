/**
 * The IPFS gateway's core: which CIDs it may serve (the configured policy, and signed URLs),
 * resolving `<cid>/<path>` while keeping the blocks that prove the path, and the blocks of
 * CAR answers. No HTTP here: the gateway dialect (src/dialects/ipfs-gateway) renders it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { exporter, walkPath, type UnixFSEntry } from 'ipfs-unixfs-exporter'
import { sql } from 'kysely'
import { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import type { GatewayPolicy } from '../config.js'
import { isIdentity } from './content/blocks.js'
import { carStream } from './content/car-out.js'
import { cidForms } from './content/cids.js'
import type { ContentStore, ReadableBlocks } from './content/content-store.js'
import { walkDag, type Block, type DagScope, type EntityBytes } from './content/dag-walk.js'
import { mhKey } from './content/hex.js'
import { LruMap } from './content/block-cache.js'
import { preparedQuery } from '../adapters/metadata/prepared.js'
import { CairnError, invalid, notFound } from './errors.js'

export interface Resolved {
  /** the CID the request named */
  root: CID
  /** the CID at the end of the path */
  terminus: CID
  /** one CID per path segment, from the root to the terminus (X-Ipfs-Roots) */
  roots: CID[]
  /** blocks read to walk the path, in order, before the terminus (a CAR sends them first) */
  pathBlocks: Block[]
  get: (cid: CID) => Promise<Uint8Array>
  blockstore: ReadableBlocks
}

export interface SignedUrl { path: string, exp: number, sig: string, url: string }

const SIGNING_KEY_META = 'gateway_signing_key'
/** the longest a signed URL may live: a year */
export const MAX_SIGNED_TTL_SECONDS = 366 * 24 * 3600

/**
 * The policy `pinned`, asked on every request (never cached: removed content is 404 at once).
 * FluidCloud's files are private, quarantined until scanned and served only through their
 * links: their entries do not make content public here (the same bytes pinned by someone
 * else still are).
 */
const REFERENCED_ENTRY = preparedQuery(2, (db, forms) => db.selectFrom('entries').select('id')
  .where(eb => eb.or([eb('cid', 'in', forms), eb('thumbnail_cid', 'in', forms)]))
  .where(eb => eb.not(eb.exists(eb.selectFrom('cloud_files').select('cloud_files.id').whereRef('cloud_files.entry_id', '=', 'entries.id'))))
  .limit(sql.lit(1)))

/** a file inside a referenced directory, or any block of a referenced DAG: its pack's root is referenced */
const REFERENCED_PACK = preparedQuery(1, (db, [mh]) => db.selectFrom('blocks')
  .innerJoin('packs', 'packs.id', 'blocks.pack_id')
  .innerJoin('contents', 'contents.cid', 'packs.root_cid')
  .select('contents.cid')
  .where('blocks.mh', '=', mh).where('contents.released_at', 'is', null)
  .where(eb => eb.exists(eb.selectFrom('entries').select('entries.id')
    .where(e2 => e2.or([e2('entries.cid', '=', e2.ref('contents.cid')), e2('entries.thumbnail_cid', '=', e2.ref('contents.cid'))]))
    .where(e2 => e2.not(e2.exists(e2.selectFrom('cloud_files').select('cloud_files.id').whereRef('cloud_files.entry_id', '=', 'entries.id'))))))
  .limit(sql.lit(1)))

export class Gateway {
  private key: Promise<Buffer> | undefined
  /** the spellings of a CID the policy query looks for (computing them encodes the CID twice) */
  private readonly forms = new LruMap<string, string[]>(10_000)

  constructor (
    private readonly db: Db,
    private readonly content: ContentStore,
    readonly opts: { policy: GatewayPolicy, signingKey: string | undefined, filesOrigin: string }
  ) {}

  /**
   * Throws unless the policy lets the gateway serve `cid`'s DAG: `all` serves whatever is
   * stored; `pinned` what some account references (an entry, a thumbnail, or a block of a
   * referenced DAG); `signed` only with a valid, unexpired signature. Identity CIDs (the
   * trustless probe bafkqaaa) hold their own bytes and are always served.
   */
  async authorize (cid: CID, signature: { exp?: string, sig?: string }): Promise<void> {
    if (isIdentity(cid)) return
    if (this.opts.policy === 'signed') {
      await this.verify(cid, signature)
      if (!(await this.content.isStored(cid))) throw notFound(`${cid.toString()} is not stored here`)
      return
    }
    if (this.opts.policy === 'all') {
      if (!(await this.content.isStored(cid))) throw notFound(`${cid.toString()} is not stored here`)
      return
    }
    if (!(await this.referenced(cid))) throw notFound(`${cid.toString()} is not pinned here`)
  }

  private async referenced (cid: CID): Promise<boolean> {
    const k = cid.toString()
    let forms = this.forms.get(k)
    if (forms === undefined) {
      const all = cidForms(cid)
      // the prepared query takes two spellings: one that has only one names it twice
      forms = [all[0], all[1] ?? all[0]]
      this.forms.set(k, forms)
    }
    if ((await REFERENCED_ENTRY.rows(this.db, forms)).length > 0) return true
    return (await REFERENCED_PACK.rows(this.db, [mhKey(cid)])).length > 0
  }

  private async signingKey (): Promise<Buffer> {
    this.key ??= (async () => {
      if (this.opts.signingKey !== undefined) return Buffer.from(this.opts.signingKey, 'utf8')
      await this.db.insertInto('meta').values({ key: SIGNING_KEY_META, value: randomBytes(32).toString('hex') })
        .onConflict(oc => oc.column('key').doNothing()).execute()
      const row = await this.db.selectFrom('meta').select('value').where('key', '=', SIGNING_KEY_META).executeTakeFirstOrThrow()
      return Buffer.from(row.value, 'hex')
    })()
    try {
      return await this.key
    } catch (err) {
      this.key = undefined
      throw err
    }
  }

  /** HMAC-SHA256 over the CID (in its v1 form, so a Qm and a bafy link sign alike) and the expiry. */
  private async mac (cid: CID, exp: number): Promise<Buffer> {
    const canonical = cid.version === 0 ? cid.toV1().toString() : cid.toString()
    return createHmac('sha256', await this.signingKey()).update(`cairn-gateway-v1\n${canonical}\n${exp}`).digest()
  }

  /**
   * A URL on the files origin that serves `cid` (and every path below it) until now + ttl,
   * whatever the policy. Anyone holding it can read the content until then.
   */
  async sign (cid: CID, ttlSeconds: number, now = Date.now()): Promise<SignedUrl> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_SIGNED_TTL_SECONDS) {
      throw invalid(`ttl must be between 1 and ${MAX_SIGNED_TTL_SECONDS} seconds`)
    }
    const exp = Math.floor(now / 1000) + ttlSeconds
    const sig = (await this.mac(cid, exp)).toString('base64url')
    const path = `/ipfs/${cid.toString()}`
    return { path, exp, sig, url: `${this.opts.filesOrigin}${path}?exp=${exp}&sig=${sig}` }
  }

  async verify (cid: CID, s: { exp?: string, sig?: string }, now = Date.now()): Promise<void> {
    if (s.exp === undefined || s.sig === undefined) throw new CairnError('forbidden', 'this gateway serves signed URLs only')
    if (!/^\d{1,12}$/.test(s.exp)) throw new CairnError('forbidden', 'invalid signature')
    const exp = Number(s.exp)
    const expected = await this.mac(cid, exp)
    const given = Buffer.from(s.sig, 'base64url')
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) throw new CairnError('forbidden', 'invalid signature')
    if (exp * 1000 < now) throw new CairnError('forbidden', 'this signed URL has expired')
  }

  /**
   * Walk `path` from `root`, reading only the blocks the walk needs (HAMT shards included),
   * and keep them: a CAR answer sends them before the terminus's DAG.
   */
  async resolve (root: CID, path: string[], signal?: AbortSignal): Promise<Resolved> {
    const blockstore = await this.content.blockstoreFor(root, signal)
    const read: Block[] = []
    const seen = new Set<string>()
    const get = async (cid: CID): Promise<Uint8Array> => {
      for await (const b of blockstore.get(cid)) return b
      throw new CairnError('unavailable', `block ${cid.toString()} is missing`)
    }
    const recording = {
      async * get (cid: CID) {
        const bytes = await get(cid)
        const k = cid.toString()
        if (!seen.has(k)) { seen.add(k); read.push({ cid, bytes }) }
        yield bytes
      }
    }
    const roots: CID[] = []
    const escaped = path.map(s => s.replace(/\//g, '\\/'))
    let remainder: string[] = []
    try {
      for await (const step of walkPath([root.toString(), ...escaped].join('/'), recording, { signal })) {
        roots.push(step.cid)
        remainder = step.remainder
      }
    } catch (err) {
      throw translate(err, root, path)
    }
    // the walk consumed the rest inside a dag-cbor/dag-json document without reaching a link:
    // the path names a value inside a block, which has no CID of its own to serve
    if (remainder.length > 0) throw notFound(`"${remainder.join('/')}" is inside the document ${roots[roots.length - 1].toString()}, not a link to another block`)
    const terminus = roots[roots.length - 1] ?? root
    // the terminus's own block goes with its DAG, not with the path
    const pathBlocks = path.length === 0 ? [] : read.filter(b => !b.cid.equals(terminus))
    return { root, terminus, roots, pathBlocks, get, blockstore }
  }

  /** The UnixFS (or IPLD) entry at a resolved terminus. */
  async entry (r: Resolved, signal?: AbortSignal): Promise<UnixFSEntry> {
    try {
      return await exporter(r.terminus, r.blockstore, { signal })
    } catch (err) {
      throw translate(err, r.root, [])
    }
  }

  /**
   * A CAR answer: the request's root in the header, then the blocks proving the path, then
   * the terminus's DAG as scope, entity-bytes and dups shape it (depth-first).
   */
  car (r: Resolved, opts: { scope: DagScope, entityBytes?: EntityBytes, dups: boolean, signal?: AbortSignal }): AsyncIterable<Uint8Array> {
    const sent = new Set<string>()
    async function * blocks (): AsyncGenerator<Block> {
      for (const b of r.pathBlocks) {
        if (isIdentity(b.cid)) continue
        if (!opts.dups) sent.add(b.cid.toString())
        yield b
      }
      for await (const b of walkDag(r.get, r.terminus, opts)) {
        if (!opts.dups) {
          const k = b.cid.toString()
          if (sent.has(k)) continue
        }
        yield b
      }
    }
    return carStream([r.root], blocks())
  }

  /** The whole DAG under a stored CID as a CAR (the export of `cairn car export` and dag/export). */
  async exportCar (cid: CID, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const r = await this.resolve(cid, [], signal)
    return this.car(r, { scope: 'all', dups: false, signal })
  }
}

function translate (err: unknown, root: CID, path: string[]): unknown {
  const name = (err as { name?: string }).name
  if (name === 'NotFoundError' || name === 'BadPathError') {
    return notFound(`no link named "${path.join('/')}" under ${root.toString()}`)
  }
  if (name === 'NoResolverError' || name === 'NotUnixFSError') {
    return new CairnError('unsupported_media', `${root.toString()}: ${(err as Error).message}`)
  }
  return err
}

/** Parse the `{cid}` of a gateway path (CIDv0 or CIDv1, any base multiformats knows). */
export function parseGatewayCid (s: string): CID {
  try {
    if (s.length === 0 || s.length > 512) throw new Error('length')
    return CID.parse(s)
  } catch {
    throw invalid(`invalid CID: ${s.length > 100 ? s.slice(0, 100) + '…' : s}`)
  }
}
