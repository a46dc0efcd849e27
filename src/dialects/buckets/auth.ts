/**
 * Credentials of the Upload API: an account's API key in `X-API-KEY` (to create or join a
 * session; `Authorization: Bearer <API key>` works too), and the session token that answers,
 * sent as `Authorization: Bearer <token>` on every other call.
 */
import type { FastifyRequest } from 'fastify'
import type { Principal } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { CairnError } from '../../core/errors.js'
import type { SessionPrincipal } from '../../core/upload-sessions.js'

export function bearerOf (req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  return m === null ? undefined : m[1]
}

export function isSessionToken (token: string): boolean { return token.startsWith('cairns_') }

/** The account behind `X-API-KEY` (or a Bearer API key). */
export async function apiKeyPrincipal (core: Core, req: FastifyRequest): Promise<Principal> {
  const header = req.headers['x-api-key']
  const key = typeof header === 'string' && header !== '' ? header : bearerOf(req)
  if (key === undefined || isSessionToken(key)) throw new CairnError('unauthenticated', 'An API key is required (X-API-KEY)')
  const p = await core.accounts.authenticate(key)
  if (!p.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
  return p
}

/** The session member behind `Authorization: Bearer <session token>`. */
export async function sessionPrincipal (core: Core, req: FastifyRequest): Promise<SessionPrincipal> {
  const token = bearerOf(req)
  if (token === undefined) throw new CairnError('unauthenticated', 'A session token is required (Authorization: Bearer)')
  return await core.sessions.authenticate(token)
}
