/**
 * The `zelidauth` header: JSON `{"zelid","signature","loginPhrase"}` or a querystring
 * `zelid=..&signature=..&loginPhrase=..`. Each route says the level it needs; the hook
 * resolves the session (a store lookup on every request, so a logout is seen at once).
 */
import type { FastifyRequest } from 'fastify'
import type { Core } from '../../core/core.js'
import { CairnError } from '../../core/errors.js'
import type { WalletCredentials, WalletPrincipal } from '../../core/wallet-auth.js'
import { UNAUTHORIZED } from './envelope.js'

export type Level = 'public' | 'user' | 'admin'

export function parseZelidauth (header: string | string[] | undefined): WalletCredentials | undefined {
  const raw = Array.isArray(header) ? header[0] : header
  if (raw === undefined || raw.length === 0 || raw.length > 4096) return undefined
  let fields: Record<string, unknown>
  const t = raw.trim()
  if (t.startsWith('{')) {
    try {
      fields = JSON.parse(t) as Record<string, unknown>
    } catch {
      return undefined
    }
  } else {
    fields = Object.fromEntries(new URLSearchParams(t))
  }
  const zelid = fields.zelid
  const loginPhrase = fields.loginPhrase
  let signature = fields.signature
  if (typeof zelid !== 'string' || typeof loginPhrase !== 'string' || typeof signature !== 'string') return undefined
  // a querystring turns an unencoded base64 '+' into a space; base64 has no spaces
  signature = signature.replace(/ /g, '+')
  return { zelid, loginPhrase, signature: signature as string }
}

/** the wallet principal of a request, resolved by the hook when a zelidauth header came */
export function walletOf (req: FastifyRequest): WalletPrincipal | undefined {
  return (req as FastifyRequest & { wallet?: WalletPrincipal }).wallet
}

export function requireWallet (req: FastifyRequest): WalletPrincipal {
  const w = walletOf(req)
  if (w === undefined) throw new CairnError('unauthenticated', UNAUTHORIZED)
  return w
}

/** Resolve the header and enforce the route's level: none 401, too low 403. */
export async function authorize (core: Core, req: FastifyRequest, level: Level): Promise<void> {
  const creds = parseZelidauth(req.headers.zelidauth)
  if (creds !== undefined) {
    try {
      ;(req as FastifyRequest & { wallet?: WalletPrincipal }).wallet = await core.wallet.authenticate(creds)
    } catch (err) {
      // a public route ignores a stale header rather than failing
      if (level !== 'public') throw err
    }
  }
  if (level === 'public') return
  const w = walletOf(req)
  if (w === undefined) throw new CairnError('unauthenticated', UNAUTHORIZED)
  if (level === 'admin' && w.privilege !== 'admin') throw new CairnError('forbidden', UNAUTHORIZED)
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the Flux privilege a route needs (Flux dialect only; the default is 'user') */
    level?: Level
  }
}
