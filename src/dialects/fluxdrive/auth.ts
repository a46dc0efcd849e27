/**
 * FluxDrive authentication: HTTP Basic `ZELID:API_KEY_SECRET`, or the `zelidauth` header of
 * a wallet session (see the Flux dialect). The key must belong to the
 * account of that ZelID; any mismatch is the same 401, so a caller learns nothing about
 * which half was wrong. `Authorization: Bearer <key>` (as Kubo's API.Authorizations take
 * it) authenticates by the key alone, so an account without a ZelID (registered by email)
 * can use /api/v0 too, e.g. `putfolder` from the CLI. An inactive subscription is 402 for
 * every call.
 */
import type { FastifyRequest } from 'fastify'
import type { Principal } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { CairnError } from '../../core/errors.js'
import { parseZelidauth } from '../flux/auth.js'

export function parseBasic (header: string | undefined): { user: string, secret: string } | undefined {
  if (header === undefined) return undefined
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header)
  if (m === null) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

export async function authenticate (core: Core, req: FastifyRequest): Promise<Principal> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  if (bearer !== null) {
    const principal = await core.accounts.authenticate(bearer[1])
    if (!principal.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    return principal
  }
  const creds = parseBasic(req.headers.authorization)
  if (creds === undefined) {
    // a wallet user logged in through /id/verifylogin may send their zelidauth header instead
    const wallet = req.headers.authorization === undefined ? parseZelidauth(req.headers.zelidauth) : undefined
    if (wallet === undefined) throw new CairnError('unauthenticated', 'Invalid credentials')
    let principal: Principal
    try {
      principal = await core.wallet.principal(wallet)
    } catch {
      throw new CairnError('unauthenticated', 'Invalid credentials')
    }
    if (!principal.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    return principal
  }
  const principal = await core.accounts.authenticate(creds.secret)
  if (principal.account.zelid !== creds.user) throw new CairnError('unauthenticated', 'Invalid credentials')
  if (!principal.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
  return principal
}
