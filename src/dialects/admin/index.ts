/**
 * The operator API (`/admin/v1`): what the CLI does, over HTTP, for an admin account's key
 * (the bootstrap key printed on first start). `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`; errors as `{ "error": { "code", "message" } }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Core } from '../../core/core.js'
import { CairnError, isCairnError, type ErrorCode } from '../../core/errors.js'
import { accountView, keyView } from '../../core/operator-views.js'
import { parseSize } from '../../core/units.js'
import { parseGatewayCid } from '../../core/gateway.js'

export const ADMIN_PREFIX = '/admin/v1'

const STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401, subscription_inactive: 402, forbidden: 403, not_found: 404, invalid_argument: 400,
  file_too_large: 413, quota_exceeded: 413, rate_limited: 429, conflict: 409, failed_precondition: 422, unsupported_media: 415,
  aborted: 400, unavailable: 503
}

function presentedKey (req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    return m?.[1]
  }
  const h = req.headers['x-api-key']
  return typeof h === 'string' ? h : undefined
}

/** sizes as bytes (number) or as text ("20GB"); null drops an override */
function capacity (v: unknown): number | null | undefined {
  if (v === undefined) return undefined
  if (v === null) return null
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v
  if (typeof v === 'string') {
    try { return parseSize(v) } catch (err) { throw new CairnError('invalid_argument', (err as Error).message) }
  }
  throw new CairnError('invalid_argument', 'capacity must be a size in bytes, a string such as "20GB", or null')
}

const accountBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    plan: { type: 'string' },
    zelid: { type: 'string' },
    email: { type: 'string' },
    capacity: { type: ['integer', 'string', 'null'] },
    active: { type: 'boolean' }
  }
} as const

export async function adminDialect (app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.setErrorHandler((err: Error & { statusCode?: number, code?: string }, req, reply: FastifyReply) => {
    if (isCairnError(err)) {
      void reply.code(STATUS[err.code]).send({ error: { code: err.code, message: err.message } })
    } else if (err.statusCode !== undefined && err.statusCode < 500) {
      void reply.code(err.statusCode).send({ error: { code: 'invalid_argument', message: err.message } })
    } else {
      req.log.error({ err }, 'unhandled error')
      void reply.code(500).send({ error: { code: 'internal', message: 'Internal server error' } })
    }
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `Unknown endpoint: ${req.method} ${req.url.split('?')[0]}` } })
  })
  app.addHook('onRequest', async req => {
    const key = presentedKey(req)
    if (key === undefined) throw new CairnError('unauthenticated', 'an admin API key is required (Authorization: Bearer <key>)')
    const principal = await core.accounts.authenticate(key)
    // another account's key gets the same answer as a path that does not exist
    if (principal.account.role !== 'admin') throw new CairnError('forbidden', 'this key is not an admin key')
  })

  app.get('/accounts', { schema: { summary: 'List accounts with their storage use' } }, async () => {
    const accounts = await core.accounts.list()
    return { accounts: await Promise.all(accounts.map(async a => ({ ...accountView(a), storage_used: await core.drive.usage(a.id) }))) }
  })

  app.post('/accounts', { schema: { summary: 'Create an account and its first API key (shown once)', body: accountBody } }, async (req, reply) => {
    const b = (req.body ?? {}) as { plan?: string, zelid?: string, email?: string, capacity?: unknown, active?: boolean }
    const cap = capacity(b.capacity)
    const a = await core.accounts.create({ plan: b.plan, zelid: b.zelid, email: b.email, capacityBytes: cap ?? undefined, active: b.active })
    const { key, info } = await core.accounts.createKey(a.id, { name: 'default' })
    return await reply.code(201).send({ ...accountView(a), api_key: key, key_id: info.id })
  })

  app.get('/accounts/:id', { schema: { summary: 'One account' } }, async req => {
    const a = await core.accounts.get((req.params as { id: string }).id)
    return { ...accountView(a), storage_used: await core.drive.usage(a.id) }
  })

  app.patch('/accounts/:id', { schema: { summary: 'Change plan, capacity (null: the plan\'s) or subscription state', body: accountBody } }, async req => {
    const b = (req.body ?? {}) as { plan?: string, capacity?: unknown, active?: boolean, zelid?: string, email?: string }
    if (b.zelid !== undefined || b.email !== undefined) throw new CairnError('invalid_argument', 'zelid and email cannot be changed')
    return accountView(await core.accounts.update((req.params as { id: string }).id, { plan: b.plan, active: b.active, capacityBytes: capacity(b.capacity) }))
  })

  app.get('/accounts/:id/keys', { schema: { summary: 'An account\'s keys (never their secrets)' } }, async req => {
    const id = (req.params as { id: string }).id
    await core.accounts.get(id)
    return { keys: (await core.accounts.listKeys(id)).map(keyView) }
  })

  app.post('/accounts/:id/keys', {
    schema: {
      summary: 'Create a key (the secret is in this answer only)',
      body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } } }
    }
  }, async (req, reply) => {
    const b = (req.body ?? {}) as { name?: string, expires_at?: string }
    const { key, info } = await core.accounts.createKey((req.params as { id: string }).id, { name: b.name, expiresAt: b.expires_at === undefined ? null : Date.parse(b.expires_at) })
    return await reply.code(201).send({ ...keyView(info), api_key: key })
  })

  app.delete('/keys/:id', { schema: { summary: 'Revoke a key at once' } }, async (req, reply) => {
    await core.accounts.revokeKey((req.params as { id: string }).id)
    return await reply.code(204).send()
  })

  app.post('/gc', { schema: { summary: 'Free released content whose grace period has passed, now' } }, async () => await core.gc())

  app.post('/gateway/sign', {
    schema: {
      summary: 'A signed, expiring URL of the files origin that serves a CID and every path below it, whatever the gateway policy',
      body: { type: 'object', additionalProperties: false, required: ['cid'], properties: { cid: { type: 'string' }, ttl: { type: 'integer', minimum: 1 } } }
    }
  }, async req => {
    const b = req.body as { cid: string, ttl?: number }
    const signed = await core.gateway.sign(parseGatewayCid(b.cid.replace(/^\/?ipfs\//, '')), b.ttl ?? 3600)
    return { ...signed, expires_at: new Date(signed.exp * 1000).toISOString() }
  })
}
