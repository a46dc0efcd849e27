/**
 * /id/apikeys: a logged-in wallet user's own API keys, the API_KEY_SECRET of FluxDrive's
 * Basic auth (ZELID:API_KEY_SECRET). The secret is in the creation answer only.
 */
import type { FastifyInstance } from 'fastify'
import type { ApiKeyInfo } from '../../../core/accounts.js'
import { invalid } from '../../../core/errors.js'
import { bodyObject } from '../args.js'
import { requireWallet } from '../auth.js'
import type { FluxDeps } from '../context.js'
import { message, success } from '../envelope.js'

function view (k: ApiKeyInfo): Record<string, unknown> {
  return { id: k.id, name: k.name, prefix: k.prefix, createdAt: k.createdAt, expiresAt: k.expiresAt, lastUsedAt: k.lastUsedAt, revoked: k.revokedAt !== null }
}

/** expiresAt (ms since epoch or an ISO date) or expiresIn (seconds from now); none: never */
function expiry (b: Record<string, unknown>): number | null {
  if (b.expiresIn !== undefined) {
    const s = Number(b.expiresIn)
    if (!Number.isSafeInteger(s) || s <= 0) throw invalid('expiresIn must be a positive number of seconds')
    return Date.now() + s * 1000
  }
  if (b.expiresAt === undefined || b.expiresAt === null) return null
  const t = typeof b.expiresAt === 'number' || /^\d+$/.test(String(b.expiresAt)) ? Number(b.expiresAt) : Date.parse(String(b.expiresAt))
  if (!Number.isSafeInteger(t)) throw invalid('expiresAt must be milliseconds since the epoch or an ISO date')
  return t
}

export function keyRoutes (app: FastifyInstance, { core }: FluxDeps): void {
  const user = { config: { level: 'user' as const } }
  app.get('/apikeys', { ...user, schema: { summary: 'Your API keys (never their secrets)' } }, async req => {
    const w = requireWallet(req)
    const keys = await core.accounts.listKeys(w.account.id)
    return success(keys.filter(k => k.revokedAt === null).map(view))
  })

  app.post('/apikeys', { ...user, schema: { summary: 'Create an API key: {name?, expiresAt? | expiresIn?}; the secret is shown once' } }, async req => {
    const w = requireWallet(req)
    const b = bodyObject(req)
    if (b.name !== undefined && typeof b.name !== 'string') throw invalid('name must be a string')
    const { key, info } = await core.accounts.createKey(w.account.id, { name: b.name as string | undefined, expiresAt: expiry(b) })
    return success({ ...view(info), key, zelid: w.account.zelid })
  })

  app.delete('/apikeys/:id', { ...user, schema: { summary: 'Revoke one of your API keys' } }, async req => {
    const w = requireWallet(req)
    const id = (req.params as { id: string }).id
    if (!/^[0-9a-f-]{36}$/.test(id)) throw invalid('Invalid key id')
    await core.accounts.revokeKey(id, w.account.id)
    return message('API key revoked')
  })
}
