/**
 * Fluxshare: an account's space of shareable files ('fluxshare'). A share is a path and a
 * token of 32 bytes from the CSPRNG (the original derives it from the path, the time and
 * Math.random); the token alone opens that one file or folder, read-only, until it is
 * unshared, the path is removed, or it is renamed away.
 */
import { randomBytes } from 'node:crypto'
import type { Db } from '../adapters/metadata/open.js'
import { notFound } from './errors.js'

export const FLUXSHARE_SPACE = 'fluxshare'

export class Fluxshare {
  constructor (private readonly db: Db) {}

  /** the token of a path, made on first share (sharing again gives the same token) */
  async share (accountId: string, path: string): Promise<string> {
    const existing = await this.db.selectFrom('flux_shares').select('token').where('account_id', '=', accountId).where('path', '=', path).executeTakeFirst()
    if (existing !== undefined) return existing.token
    const token = randomBytes(32).toString('hex')
    await this.db.insertInto('flux_shares').values({ token, account_id: accountId, path, created_at: Date.now() })
      .onConflict(oc => oc.columns(['account_id', 'path']).doNothing()).execute()
    return (await this.db.selectFrom('flux_shares').select('token').where('account_id', '=', accountId).where('path', '=', path).executeTakeFirstOrThrow()).token
  }

  async unshare (accountId: string, path: string): Promise<void> {
    await this.db.deleteFrom('flux_shares').where('account_id', '=', accountId).where('path', '=', path).execute()
  }

  /** drop the shares of a path and of everything below it */
  async unshareTree (accountId: string, path: string): Promise<void> {
    const rows = await this.db.selectFrom('flux_shares').select(['token', 'path']).where('account_id', '=', accountId).execute()
    const gone = rows.filter(r => r.path === path || r.path.startsWith(path + '/')).map(r => r.token)
    if (gone.length > 0) await this.db.deleteFrom('flux_shares').where('token', 'in', gone).execute()
  }

  async list (accountId: string): Promise<Array<{ path: string, token: string }>> {
    const rows = await this.db.selectFrom('flux_shares').select(['path', 'token']).where('account_id', '=', accountId).orderBy('path').execute()
    return rows
  }

  /** the account and path a token opens, or not_found */
  async byToken (token: string): Promise<{ accountId: string, path: string }> {
    if (!/^[0-9a-f]{64}$/.test(token)) throw notFound('Invalid token')
    const r = await this.db.selectFrom('flux_shares').select(['account_id', 'path']).where('token', '=', token).executeTakeFirst()
    if (r === undefined) throw notFound('Invalid token')
    return { accountId: r.account_id, path: r.path }
  }
}
