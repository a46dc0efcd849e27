/**
 * Additions for browsers and scripts: log in with email and password for a short-lived
 * session key (`POST /users/login`), end it (`POST /users/logout`), and manage the
 * account's own keys (`/users/keys`). The secret of a key is in its creation answer only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ApiKeyInfo } from '../../../core/accounts.js'
import { invalid, RateLimitedError } from '../../../core/errors.js'
import { GATEWAY_KEY_PREFIX, normalizeEmail } from '../../../core/self-service.js'
import { principalOf } from '../auth.js'
import type { GatewayDeps } from '../context.js'
import { iso } from '../views.js'
import { authErrors, errorBody, messageOnly } from './schemas.js'

const TEN_MINUTES = 10 * 60_000
const MAX_KEY_TTL_SECONDS = 10 * 366 * 86_400

const keyRecord = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string', description: 'the first characters of the key, to tell keys apart' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: ['string', 'null'], format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
    current: { type: 'boolean', description: 'the key this request was made with' }
  }
} as const

function keyView (k: ApiKeyInfo, currentId?: string): Record<string, unknown> {
  return { id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, created_at: iso(k.createdAt), expires_at: iso(k.expiresAt), last_used_at: iso(k.lastUsedAt), current: k.id === currentId }
}

function seconds (v: unknown, name: string, max: number): number | undefined {
  if (v === undefined || v === null) return undefined
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 60 || n > max) throw invalid(`${name} must be a number of seconds from 60 to ${max}`)
  return n
}

export function sessionRoutes (app: FastifyInstance, { core }: GatewayDeps): void {
  const limit = core.config.gateway.accountCallsPer10Min

  app.post('/users/login', {
    config: { public: true, rate: 'account' },
    schema: {
      summary: 'Log in with email and password: a new session key (ak_...) that expires, shown only this once',
      description: 'expires_in: seconds, 60 to 604800 (default 43200, 12 hours). Counted per client IP and per email like renew. Revoke it with POST /users/logout.',
      security: [],
      body: {
        type: 'object',
        properties: {
          email: { type: 'string' },
          password: { type: 'string' },
          expires_in: { type: ['integer', 'string'], description: 'seconds the key lives (default 43200)' },
          name: { type: 'string', description: 'the key\'s name in listings (default "web session")' }
        },
        required: ['email', 'password']
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            message: { type: 'string' },
            data: { type: 'object', properties: { email: { type: 'string' }, api_key: { type: 'string' }, key_id: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } } }
          }
        },
        400: errorBody,
        401: { ...errorBody, description: 'Invalid email or password' },
        429: errorBody
      }
    }
  }, async (req: FastifyRequest) => {
    const b = (req.body ?? {}) as { email?: unknown, password?: unknown, expires_in?: unknown, name?: unknown }
    const email = normalizeEmail(b.email)
    // per email as well as per IP: nobody guesses one account's password from many addresses
    if (limit > 0) {
      const d = await core.rateLimiter.hit(`gateway:login:${email}`, limit, TEN_MINUTES)
      if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
    }
    if (b.name !== undefined && typeof b.name !== 'string') throw invalid('name must be a string')
    const ttl = seconds(b.expires_in, 'expires_in', 7 * 86_400)
    const s = await core.selfService.login({ email, password: b.password, ttlMs: ttl === undefined ? undefined : ttl * 1000, name: b.name as string | undefined })
    return { status: 200, message: 'Logged in', data: { email: s.account.email, api_key: s.key, key_id: s.keyId, expires_at: iso(s.expiresAt) } }
  })

  app.post('/users/logout', {
    config: { rate: 'call' },
    schema: { summary: 'Revoke the key this request is made with (a session key from /users/login, or any other)', response: { 200: messageOnly, ...authErrors } }
  }, async req => {
    const p = principalOf(req)
    await core.accounts.revokeKey(p.keyId, p.account.id)
    return { status: 200, message: 'Logged out' }
  })

  app.get('/users/keys', {
    config: { rate: 'call' },
    schema: { summary: 'The account\'s live keys (never their secrets)', response: { 200: { type: 'object', properties: { status: { type: 'integer' }, data: { type: 'array', items: keyRecord } } }, ...authErrors } }
  }, async req => {
    const p = principalOf(req)
    const now = Date.now()
    const keys = (await core.accounts.listKeys(p.account.id)).filter(k => k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now))
    return { status: 200, data: keys.map(k => keyView(k, p.keyId)) }
  })

  app.post('/users/keys', {
    config: { rate: 'call' },
    schema: {
      summary: 'Create a key: {name, scopes?, expires_in?}; its secret is in this answer only',
      description: 'scopes: ["*"] (every call of every dialect) is the only scope keys of an account have today. expires_in: seconds; none: the key does not expire. An account has at most 10 live keys.',
      body: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          scopes: { type: 'array', items: { type: 'string' } },
          expires_in: { type: ['integer', 'string', 'null'] }
        },
        required: ['name']
      },
      response: {
        201: { type: 'object', properties: { status: { type: 'integer' }, message: { type: 'string' }, data: { ...keyRecord, properties: { ...keyRecord.properties, api_key: { type: 'string' } } } } },
        400: errorBody,
        409: { ...errorBody, description: 'The account has its most keys' },
        ...authErrors
      }
    }
  }, async (req, reply) => {
    const p = principalOf(req)
    const b = (req.body ?? {}) as { name?: unknown, scopes?: unknown, expires_in?: unknown }
    if (typeof b.name !== 'string') throw invalid('name must be a string')
    const scopes = b.scopes ?? ['*']
    if (!Array.isArray(scopes) || scopes.length !== 1 || scopes[0] !== '*') throw invalid('scopes must be ["*"]: keys of an account can do everything it can (finer scopes are not supported yet)')
    const ttl = seconds(b.expires_in, 'expires_in', MAX_KEY_TTL_SECONDS)
    const { key, info } = await core.accounts.createKey(p.account.id, { name: b.name, scopes: ['*'], prefix: GATEWAY_KEY_PREFIX, expiresAt: ttl === undefined ? null : Date.now() + ttl * 1000 })
    return await reply.code(201).send({ status: 201, message: 'API key created', data: { ...keyView(info, p.keyId), api_key: key } })
  })

  app.delete('/users/keys/:id', {
    config: { rate: 'call' },
    schema: {
      summary: 'Revoke one of the account\'s keys (it stops working at once)',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      response: { 200: messageOnly, 400: errorBody, 404: errorBody, ...authErrors }
    }
  }, async req => {
    const p = principalOf(req)
    const id = (req.params as { id: string }).id
    if (!/^[0-9a-f-]{36}$/.test(id)) throw invalid('Invalid key id')
    await core.accounts.revokeKey(id, p.account.id)
    return { status: 200, message: 'API key revoked', data: { id } }
  })
}
