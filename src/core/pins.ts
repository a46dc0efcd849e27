/**
 * Pins: the IPFS Pinning Service API's pin requests, owned by an account.
 *
 * A pin is a row of `pins` (its name, meta, origins and status). The content a `pinned` pin
 * keeps alive is held the way every other reference is: an entry of the account's
 * `ipfs-pins` space, named by the CID, pinned. The collector, the gateway's `pinned` policy
 * and the usage counter therefore treat a pin like any file: the account pays for the bytes
 * once per CID, however many pins name it, and the entry goes when the last pinned pin of
 * that CID does.
 *
 * Content already stored (a DAG root of any account) is `pinned` at once. Anything else is
 * fetched by a job (`pin.fetch`): from the local store when the CID is inside a stored DAG,
 * then from the pin's origins, then from the configured upstream gateways, as a CAR verified
 * block by block and imported as a pack of its own. A pin that nothing could supply within
 * CAIRN_PIN_TIMEOUT_SECONDS of its creation is `failed`, with the reasons.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import type { Database } from '../adapters/metadata/schema.js'
import type { PinsConfig } from '../config.js'
import type { Account, Accounts } from './accounts.js'
import { cidForms } from './content/cids.js'
import type { ContentStore } from './content/content-store.js'
import type { Drive } from './drive.js'
import { CairnError, invalid, isCairnError, notFound } from './errors.js'
import type { Gateway } from './gateway.js'
import type { ContentFetcher } from './ports/content-fetcher.js'
import type { JobContext, JobQueue } from './ports/job-queue.js'

/** the space whose entries hold what pins keep alive */
export const PIN_SPACE = 'ipfs-pins'
export const PIN_FETCH_JOB = 'pin.fetch'

export type PinStatus = 'queued' | 'pinning' | 'pinned' | 'failed'
export const PIN_STATUSES: readonly PinStatus[] = ['queued', 'pinning', 'pinned', 'failed']
export type TextMatch = 'exact' | 'iexact' | 'partial' | 'ipartial'
export const TEXT_MATCHES: readonly TextMatch[] = ['exact', 'iexact', 'partial', 'ipartial']

export const MAX_ORIGINS = 20
export const MAX_META_KEYS = 1000
export const MAX_NAME_LENGTH = 255

export interface PinRequest {
  cid: string
  name?: string
  origins?: string[]
  meta?: Record<string, string>
}

export interface Pin {
  id: string
  cid: string
  name: string | undefined
  origins: string[]
  meta: Record<string, string> | undefined
  status: PinStatus
  /** why it failed, or what it is doing */
  reason: string | undefined
  createdAt: number
}

export interface PinQuery {
  cids?: string[]
  name?: string
  match?: TextMatch
  statuses?: PinStatus[]
  before?: number
  after?: number
  limit: number
  meta?: Record<string, string>
}

/** What Kubo's pin/ls shows of the /pins pins. */
export interface PinnedCid { cid: string, name: string | undefined }

type PinRow = Database['pins']

function toPin (r: PinRow): Pin {
  return {
    id: r.id,
    cid: r.cid,
    name: r.name ?? undefined,
    origins: JSON.parse(r.origins) as string[],
    meta: r.meta === null ? undefined : JSON.parse(r.meta) as Record<string, string>,
    status: r.status as PinStatus,
    reason: r.reason ?? undefined,
    createdAt: Number(r.created_at)
  }
}

export interface PinsDeps {
  db: Db
  drive: Drive
  content: ContentStore
  gateway: Gateway
  accounts: Accounts
  jobs: JobQueue
  fetcher: ContentFetcher & { checkOrigin?: (base: string) => Promise<void> }
  config: PinsConfig
}

export class Pins {
  constructor (private readonly deps: PinsDeps) {
    deps.jobs.handle(PIN_FETCH_JOB, async (payload: { pinId: string }, ctx: JobContext) => await this.fetch(payload.pinId, ctx))
  }

  /** Check a pin request (the spec's Pin object) and normalise it. */
  static validate (req: PinRequest): Required<Pick<PinRequest, 'cid' | 'origins'>> & PinRequest {
    let cid: CID
    try {
      if (typeof req.cid !== 'string' || req.cid.length === 0 || req.cid.length > 512) throw new Error('bad')
      cid = CID.parse(req.cid)
    } catch {
      throw invalid(`Invalid CID: ${String(req.cid).slice(0, 100)}`)
    }
    if (req.name !== undefined && (typeof req.name !== 'string' || [...req.name].length > MAX_NAME_LENGTH)) throw invalid(`name must be a string of at most ${MAX_NAME_LENGTH} characters`)
    const origins = req.origins ?? []
    if (!Array.isArray(origins) || origins.length > MAX_ORIGINS || origins.some(o => typeof o !== 'string' || o.length > 1000)) throw invalid(`origins must be at most ${MAX_ORIGINS} multiaddr strings`)
    if (new Set(origins).size !== origins.length) throw invalid('origins must be unique')
    if (req.meta !== undefined) checkStringMap(req.meta, 'meta')
    return { cid: cid.toString(), name: req.name, origins, meta: req.meta }
  }

  /** Add a pin: `pinned` at once when the content is stored, else queued for a fetch. */
  async add (account: Account, req: PinRequest): Promise<Pin> {
    const p = Pins.validate(req)
    const now = Date.now()
    const row: PinRow = {
      id: randomUUID(),
      account_id: account.id,
      cid: p.cid,
      name: p.name ?? null,
      meta: p.meta === undefined ? null : JSON.stringify(p.meta),
      origins: JSON.stringify(p.origins),
      status: 'queued',
      reason: null,
      created_at: now,
      updated_at: now
    }
    await this.deps.db.insertInto('pins').values(row).execute()
    try {
      if (await this.deps.drive.referenceStored(account, PIN_SPACE, CID.parse(p.cid))) {
        await this.setStatus(row.id, 'pinned', null)
        return toPin({ ...row, status: 'pinned' })
      }
      await this.deps.jobs.enqueue(PIN_FETCH_JOB, { pinId: row.id }, { accountId: account.id, maxAttempts: 5, backoffMs: 1000 })
    } catch (err) {
      // nothing half-made: a pin that could not be recorded or queued is not kept
      await this.deps.db.deleteFrom('pins').where('id', '=', row.id).execute()
      throw err
    }
    return toPin(row)
  }

  async get (accountId: string, id: string): Promise<Pin> {
    const r = await this.deps.db.selectFrom('pins').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst()
    if (r === undefined) throw notFound('The specified pin was not found')
    return toPin(r)
  }

  /** Newest first; `count` is every pin that matches, `results` at most `limit` of them. */
  async list (accountId: string, q: PinQuery): Promise<{ count: number, results: Pin[] }> {
    let query = this.deps.db.selectFrom('pins').where('account_id', '=', accountId)
    if (q.cids !== undefined && q.cids.length > 0) {
      const forms = q.cids.flatMap(c => { try { return cidForms(CID.parse(c)) } catch { throw invalid(`Invalid CID: ${c.slice(0, 100)}`) } })
      query = query.where('cid', 'in', forms)
    }
    if (q.name !== undefined) {
      const match = q.match ?? 'exact'
      const esc = q.name.replace(/[\\%_]/g, c => '\\' + c)
      if (match === 'exact') query = query.where('name', '=', q.name)
      else if (match === 'iexact') query = query.where(eb => eb(eb.fn('lower', ['name']), 'like', sql<string>`${esc.toLowerCase()} escape '\\'`))
      else if (match === 'ipartial') query = query.where(eb => eb(eb.fn('lower', ['name']), 'like', sql<string>`${'%' + esc.toLowerCase() + '%'} escape '\\'`))
      // partial is case-sensitive, which SQLite's LIKE is not: replace() is, on both engines
      else if (q.name === '') query = query.where('name', 'is not', null)
      else query = query.where(sql<boolean>`replace(name, ${q.name}, '') <> name`)
    }
    if (q.statuses !== undefined && q.statuses.length > 0) query = query.where('status', 'in', q.statuses)
    if (q.before !== undefined) query = query.where('created_at', '<', q.before)
    if (q.after !== undefined) query = query.where('created_at', '>', q.after)
    if (q.meta !== undefined && Object.keys(q.meta).length > 0) {
      // meta is JSON text: narrow by the serialised pairs, then check exactly below
      for (const [k, v] of Object.entries(q.meta)) {
        const pair = JSON.stringify({ [k]: v }).slice(1, -1)
        query = query.where('meta', 'like', sql<string>`${'%' + pair.replace(/[\\%_]/g, c => '\\' + c) + '%'} escape '\\'`)
      }
      const rows = (await query.selectAll().orderBy('created_at', 'desc').orderBy('id').execute())
        .filter(r => metaMatches(r.meta, q.meta as Record<string, string>))
      return { count: rows.length, results: rows.slice(0, q.limit).map(toPin) }
    }
    const count = Number((await query.select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
    const rows = await query.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(q.limit).execute()
    return { count, results: rows.map(toPin) }
  }

  /**
   * Replace a pin: the new pin is made first and the old one removed after, so content both
   * name is never released in between (the spec's reason for replace). A new requestid.
   */
  async replace (account: Account, id: string, req: PinRequest): Promise<Pin> {
    await this.get(account.id, id)
    Pins.validate(req)
    const made = await this.add(account, req)
    await this.remove(account.id, id)
    return made
  }

  async remove (accountId: string, id: string): Promise<void> {
    const pin = await this.get(accountId, id)
    const del = await this.deps.db.deleteFrom('pins').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst()
    if (Number(del.numDeletedRows) === 0) throw notFound('The specified pin was not found')
    await this.releaseIfLast(accountId, pin.cid)
    const job = await this.deps.jobs.list({ accountId, kind: PIN_FETCH_JOB, limit: 1000 })
    for (const j of job) if ((j.payload as { pinId?: string }).pinId === id && (j.state === 'PENDING' || j.state === 'STARTED')) await this.deps.jobs.cancel(j.id)
  }

  /** Every CID the account's pinned pins keep (Kubo's pin/ls shows them). */
  async pinnedCids (accountId: string): Promise<PinnedCid[]> {
    const rows = await this.deps.db.selectFrom('pins').select(['cid', 'name']).where('account_id', '=', accountId).where('status', '=', 'pinned').orderBy('created_at').execute()
    return rows.map(r => ({ cid: r.cid, name: r.name ?? undefined }))
  }

  /** The entry holding `cid` goes when no pinned pin of the account names it any more. */
  private async releaseIfLast (accountId: string, cid: string): Promise<void> {
    const forms = cidForms(CID.parse(cid))
    const others = await this.deps.db.selectFrom('pins').select('id').where('account_id', '=', accountId)
      .where('cid', 'in', forms).where('status', 'in', ['pinned', 'queued', 'pinning']).executeTakeFirst()
    if (others !== undefined) return
    try {
      await this.deps.drive.removeByCid(accountId, PIN_SPACE, CID.parse(cid))
    } catch (err) {
      if (!(isCairnError(err) && err.code === 'not_found')) throw err
    }
  }

  private async setStatus (id: string, status: PinStatus, reason: string | null): Promise<void> {
    await this.deps.db.updateTable('pins').set({ status, reason, updated_at: Date.now() }).where('id', '=', id).execute()
  }

  /** The fetch job: idempotent (a pin already settled, or deleted, is left as it is). */
  private async fetch (pinId: string, ctx: JobContext): Promise<unknown> {
    const row = await this.deps.db.selectFrom('pins').selectAll().where('id', '=', pinId).executeTakeFirst()
    if (row === undefined || row.status === 'pinned' || row.status === 'failed') return { skipped: row?.status ?? 'deleted' }
    const account = await this.deps.accounts.get(row.account_id)
    const cid = CID.parse(row.cid)
    const deadline = Number(row.created_at) + this.deps.config.timeoutSeconds * 1000
    await this.setStatus(pinId, 'pinning', null)
    const origins = (JSON.parse(row.origins) as string[]).map(o => this.deps.fetcher.originUrl(o)).filter((u): u is string => u !== undefined)
    const reasons = new Map<string, string>()
    let pause = 500
    for (;;) {
      if (ctx.signal.aborted) throw new CairnError('aborted', 'the queue stopped')
      const left = deadline - Date.now()
      if (left <= 0) break
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(left)])
      try {
        if (await this.tryAll(account, cid, origins, reasons, signal)) {
          if (await this.deps.db.selectFrom('pins').select('id').where('id', '=', pinId).executeTakeFirst() === undefined) {
            await this.releaseIfLast(row.account_id, row.cid) // deleted while it was fetched
            return { deleted: true }
          }
          await this.setStatus(pinId, 'pinned', null)
          return { pinned: row.cid }
        }
      } catch (err) {
        if (isCairnError(err) && (err.code === 'quota_exceeded' || err.code === 'file_too_large')) {
          await this.setStatus(pinId, 'failed', `storage capacity exceeded: ${err.message}`)
          return { failed: err.message }
        }
        throw err
      }
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), undefined, { signal: ctx.signal }).catch(() => {})
      pause = Math.min(pause * 2, 10_000)
    }
    const why = [...reasons].map(([src, r]) => `${src}: ${r}`).join('; ')
    const reason = `not found within ${this.deps.config.timeoutSeconds} s` + (why === '' ? ' (no origin or upstream gateway to fetch from)' : ` (${why})`)
    if (await this.deps.db.selectFrom('pins').select('id').where('id', '=', pinId).executeTakeFirst() !== undefined) {
      await this.setStatus(pinId, 'failed', reason.slice(0, 2000))
      await this.releaseIfLast(row.account_id, row.cid) // a pin of the same CID may have gone meanwhile
    }
    return { failed: reason }
  }

  /** One round over every source; true once the content is stored and referenced. */
  private async tryAll (account: Account, cid: CID, origins: string[], reasons: Map<string, string>, signal: AbortSignal): Promise<boolean> {
    const { drive, content, gateway, fetcher } = this.deps
    if (await drive.referenceStored(account, PIN_SPACE, cid)) return true
    const budget = await drive.budgetFor(account)
    // inside a DAG stored here (a file of a folder): a pack of its own, copied from the local one
    if (await content.isStored(cid)) {
      try {
        await drive.importCar(account, PIN_SPACE, await gateway.exportCar(cid, signal), { pinRoots: true, budget, signal })
        return true
      } catch (err) {
        if (isCairnError(err) && (err.code === 'quota_exceeded' || err.code === 'file_too_large')) throw err
        reasons.set('local store', messageOf(err))
      }
    }
    const sources = [...origins.map(u => ({ url: u, origin: true })), ...this.deps.config.upstreams.map(u => ({ url: u, origin: false }))]
    for (const s of sources) {
      if (signal.aborted) return false
      try {
        if (s.origin) await fetcher.checkOrigin?.(s.url)
        await drive.importCar(account, PIN_SPACE, fetcher.car(s.url, cid, signal, { followRedirects: !s.origin }), { pinRoots: true, budget: await drive.budgetFor(account), signal })
        return true
      } catch (err) {
        if (isCairnError(err) && (err.code === 'quota_exceeded' || err.code === 'file_too_large')) throw err
        reasons.set(s.url, messageOf(err))
      }
    }
    return false
  }
}

function messageOf (err: unknown): string {
  const e = err as { message?: string, cause?: { message?: string } }
  const m = e.cause?.message !== undefined ? `${e.message ?? ''} (${e.cause.message})` : (e.message ?? String(err))
  return m.slice(0, 300)
}

function checkStringMap (m: unknown, what: string): void {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`${what} must be an object of strings`)
  const entries = Object.entries(m)
  if (entries.length > MAX_META_KEYS) throw invalid(`${what} may have at most ${MAX_META_KEYS} keys`)
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw invalid(`${what}.${k} must be a string`)
    if (k.length > 255 || v.length > 65536) throw invalid(`${what} keys are at most 255 and values 65536 characters`)
  }
}

function metaMatches (stored: string | null, want: Record<string, string>): boolean {
  if (stored === null) return false
  const m = JSON.parse(stored) as Record<string, string>
  return Object.entries(want).every(([k, v]) => m[k] === v)
}

/** Parse the list filter `meta` (a JSON object of strings). */
export function parseMetaFilter (s: string): Record<string, string> {
  let v: unknown
  try { v = JSON.parse(s) } catch { throw invalid('meta must be a JSON object of strings') }
  checkStringMap(v, 'meta')
  return v as Record<string, string>
}
