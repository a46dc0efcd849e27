/**
 * Share links of an account's files (the gateway's files, the web app's "share"): a 256-bit
 * random token, stored as its SHA-256, opens one CID on the files origin (`/share/<token>`)
 * until the link is revoked, expires (this server's clock), or the account no longer has a
 * file with that CID. The token is in the creation answer only. An account holds at most
 * MAX_SHARE_LINKS live links.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import type { Db } from '../adapters/metadata/open.js'
import { cidForms } from './content/cids.js'
import { CairnError, invalid, notFound } from './errors.js'

export const MAX_SHARE_LINKS = 1000
export const SHARE_LINK_PATH = '/share'
/** the longest an expiring link may live: a year */
export const MAX_SHARE_TTL_SECONDS = 366 * 86_400

export interface ShareLink { id: string, cid: string, name: string, createdAt: number, expiresAt: number | null, prefix: string }

const hash = (token: string): string => createHash('sha256').update(token).digest('hex')

export class ShareLinks {
  constructor (private readonly db: Db, private readonly filesOrigin: string) {}

  url (token: string): string { return `${this.filesOrigin}${SHARE_LINK_PATH}/${token}` }

  /** a link to the account's file of this CID (any entry of the account naming it) */
  async create (accountId: string, cid: CID, opts: { ttlSeconds?: number } = {}): Promise<ShareLink & { token: string, url: string }> {
    const ttl = opts.ttlSeconds
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 60 || ttl > MAX_SHARE_TTL_SECONDS)) throw invalid(`expires_in must be from 60 to ${MAX_SHARE_TTL_SECONDS} seconds`)
    const entry = await this.db.selectFrom('entries').select(['cid', 'name']).where('account_id', '=', accountId)
      .where('cid', 'in', cidForms(cid)).where('kind', '!=', 'folder').orderBy('created_at', 'desc').executeTakeFirst()
    if (entry === undefined || entry.cid === null) throw notFound('File not found')
    const now = Date.now()
    if (await this.count(accountId, now) >= MAX_SHARE_LINKS) throw new CairnError('conflict', `An account may have at most ${MAX_SHARE_LINKS} share links; revoke one first`)
    const token = randomBytes(32).toString('base64url')
    const link: ShareLink = { id: randomUUID(), cid: entry.cid, name: entry.name, createdAt: now, expiresAt: ttl === undefined ? null : now + ttl * 1000, prefix: token.slice(0, 6) }
    await this.db.insertInto('share_links').values({ id: link.id, account_id: accountId, token_hash: hash(token), cid: link.cid, name: link.name, created_at: now, expires_at: link.expiresAt }).execute()
    return { ...link, token, url: this.url(token) }
  }

  /** live links, newest first; expired ones are dropped as they are met */
  async list (accountId: string, opts: { cid?: CID } = {}): Promise<ShareLink[]> {
    const now = Date.now()
    await this.db.deleteFrom('share_links').where('account_id', '=', accountId).where('expires_at', '<=', now).execute()
    let q = this.db.selectFrom('share_links').selectAll().where('account_id', '=', accountId)
    if (opts.cid !== undefined) q = q.where('cid', 'in', cidForms(opts.cid))
    const rows = await q.orderBy('created_at', 'desc').limit(MAX_SHARE_LINKS).execute()
    return rows.map(r => ({ id: r.id, cid: r.cid, name: r.name, createdAt: r.created_at, expiresAt: r.expires_at, prefix: '' }))
  }

  async count (accountId: string, now = Date.now()): Promise<number> {
    const r = await this.db.selectFrom('share_links').select(eb => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId)
      .where(eb => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async revoke (accountId: string, id: string): Promise<void> {
    const r = await this.db.deleteFrom('share_links').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst()
    if (Number(r.numDeletedRows) === 0) throw notFound('Share link not found')
  }

  /** the account and CID a token opens, or why not */
  async open (token: string): Promise<{ accountId: string, cid: string, name: string, expiresAt: number | null } | 'not_found' | 'expired'> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return 'not_found'
    const r = await this.db.selectFrom('share_links').selectAll().where('token_hash', '=', hash(token)).executeTakeFirst()
    if (r === undefined) return 'not_found'
    if (r.expires_at !== null && r.expires_at <= Date.now()) return 'expired'
    return { accountId: r.account_id, cid: r.cid, name: r.name, expiresAt: r.expires_at }
  }
}
