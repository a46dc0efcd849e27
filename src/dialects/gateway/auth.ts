/**
 * Gateway authentication: `X-API-Key: ak_...` (any of the account's keys works, whichever
 * dialect issued it; `Authorization: Bearer` is accepted too). Missing or unknown key: 401.
 * A key that was valid once (revoked by a renewal, or expired): 403, as is a suspended account.
 */
import type { FastifyRequest } from 'fastify'
import type { Principal } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { CairnError, isCairnError } from '../../core/errors.js'

export function presentedKey (req: FastifyRequest): string | undefined {
  const h = req.headers['x-api-key']
  if (typeof h === 'string' && h.trim().length > 0) return h.trim()
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  return m?.[1]
}

export async function authenticate (core: Core, req: FastifyRequest): Promise<Principal> {
  const key = presentedKey(req)
  if (key === undefined) throw new CairnError('unauthenticated', 'Missing API key: send it in the X-API-Key header')
  let principal: Principal
  try {
    principal = await core.accounts.authenticate(key)
  } catch (err) {
    if (isCairnError(err) && err.code === 'unauthenticated') {
      if (err.details.reason === 'revoked' || err.details.reason === 'expired') throw new CairnError('forbidden', 'API key has been invalidated; renew it')
      throw new CairnError('unauthenticated', 'Invalid API key')
    }
    throw err
  }
  if (!principal.account.active) throw new CairnError('forbidden', 'Account suspended')
  return principal
}

/** The authenticated principal, set by the dialect's onRequest hook. */
export function principalOf (req: FastifyRequest): Principal {
  const p = (req as FastifyRequest & { principal?: Principal }).principal
  if (p === undefined) throw new CairnError('unauthenticated', 'Missing API key: send it in the X-API-Key header')
  return p
}
