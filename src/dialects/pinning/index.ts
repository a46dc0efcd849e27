/**
 * The IPFS Pinning Service API v1.0.0 (`/pins`): Bearer auth with any of the account's API
 * keys, the spec's PinStatus/PinResults bodies and `{error:{reason,details}}` failures.
 * Routes translate; the core's pins (src/core/pins.ts) do the work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Principal } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { CairnError, invalid, isCairnError, RateLimitedError } from '../../core/errors.js'
import { parseMetaFilter, PIN_STATUSES, TEXT_MATCHES, type Pin, type PinRequest, type PinStatus, type TextMatch } from '../../core/pins.js'
import { pinningErrorHandler, sendFailure } from './errors.js'

export const PINNING_PREFIX = '/pins'
const FAILED_AUTH_PER_MINUTE = 300
const MAX_CID_FILTER = 10

export interface PinningDeps { core: Core }

function principalOf (req: FastifyRequest): Principal {
  const p = (req as FastifyRequest & { principal?: Principal }).principal
  if (p === undefined) throw new CairnError('unauthenticated', 'Access token is missing or invalid')
  return p
}

/** `http://host:port` → `/ip4/host/tcp/port/http` (the files origin serves the trustless gateway). */
export function originMultiaddr (origin: string): string {
  const u = new URL(origin)
  const scheme = u.protocol === 'https:' ? 'https' : 'http'
  const port = u.port !== '' ? u.port : scheme === 'https' ? '443' : '80'
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const proto = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns'
  return `/${proto}/${host}/tcp/${port}/${scheme}`
}

function list (v: unknown): string[] | undefined {
  if (v === undefined) return undefined
  const parts = (Array.isArray(v) ? v : [v]).flatMap(x => String(x).split(',')).map(s => s.trim()).filter(s => s !== '')
  return parts
}

function timestamp (v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const s = String(v)
  // RFC 3339 date-time
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw invalid(`${name} must be an RFC 3339 date-time such as 2020-07-27T17:32:28Z`)
  }
  return Date.parse(s)
}

export async function pinningDialect (app: FastifyInstance, { core }: PinningDeps): Promise<void> {
  const delegates = core.config.pins.delegates.length > 0 ? core.config.pins.delegates : [originMultiaddr(core.config.filesOrigin)]
  const render = (p: Pin): Record<string, unknown> => ({
    requestid: p.id,
    status: p.status,
    created: new Date(p.createdAt).toISOString(),
    pin: {
      cid: p.cid,
      ...(p.name !== undefined ? { name: p.name } : {}),
      origins: p.origins,
      ...(p.meta !== undefined ? { meta: p.meta } : {})
    },
    delegates,
    info: p.reason !== undefined ? { status_details: p.reason } : {}
  })

  app.decorateRequest('principal', undefined)
  app.setErrorHandler(pinningErrorHandler)
  // some clients send Content-Type: application/json with the empty body of a DELETE
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body)
    if (text.trim() === '') { done(null, undefined); return }
    try {
      done(null, JSON.parse(text))
    } catch {
      done(Object.assign(new Error('Malformed JSON body'), { statusCode: 400 }), undefined)
    }
  })
  app.setNotFoundHandler((req, reply) => {
    void sendFailure(reply, 404, 'NOT_FOUND', `Unknown endpoint: ${req.method} ${req.url.split('?')[0]}`)
  })

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
    let principal: Principal
    try {
      if (m === null) throw new CairnError('unauthenticated', 'Access token is missing or invalid: send Authorization: Bearer <API key>')
      principal = await core.accounts.authenticate(m[1])
    } catch (err) {
      if (isCairnError(err) && err.code === 'unauthenticated') {
        const d = await core.rateLimiter.hit(`pins:authfail:${req.ip}`, FAILED_AUTH_PER_MINUTE, 60_000)
        if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
        throw new CairnError('unauthenticated', 'Access token is missing or invalid')
      }
      throw err
    }
    if (!principal.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    ;(req as FastifyRequest & { principal?: unknown }).principal = principal
    const write = req.method !== 'GET' && req.method !== 'HEAD'
    const limits = principal.account.planLimits
    const d = await core.rateLimiter.hit(`pins:${write ? 'put' : 'read'}:${principal.account.id}`, write ? limits.putPerSecond : limits.readPerSecond, 1000)
    if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
  })

  const pinBody = {
    type: 'object',
    required: ['cid'],
    properties: {
      cid: { type: 'string' },
      name: { type: 'string' },
      origins: { type: 'array', items: { type: 'string' } },
      meta: { type: 'object', additionalProperties: { type: 'string' } }
    }
  }

  app.get('/', {
    schema: { summary: 'List pin objects (only pinned ones unless status says otherwise), newest first' }
  }, async req => {
    const { account } = principalOf(req)
    const q = req.query as Record<string, unknown>
    const cids = list(q.cid)
    if (cids !== undefined && (cids.length === 0 || cids.length > MAX_CID_FILTER)) throw invalid(`cid takes 1 to ${MAX_CID_FILTER} CIDs, comma-separated`)
    const statuses = list(q.status)
    if (statuses !== undefined && (statuses.length === 0 || statuses.some(s => !PIN_STATUSES.includes(s as PinStatus)))) throw invalid('status must be a comma-separated list of queued, pinning, pinned, failed')
    const match = q.match === undefined ? undefined : String(q.match)
    if (match !== undefined && !TEXT_MATCHES.includes(match as TextMatch)) throw invalid('match must be exact, iexact, partial or ipartial')
    const name = q.name === undefined ? undefined : String(q.name)
    if (name !== undefined && [...name].length > 255) throw invalid('name is at most 255 characters')
    let limit = 10
    if (q.limit !== undefined) {
      limit = Number(q.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit must be an integer from 1 to 1000')
    }
    const filtered = ['cid', 'name', 'before', 'after', 'meta'].some(k => q[k] !== undefined)
    const out = await core.pins.list(account.id, {
      cids,
      name,
      match: match as TextMatch | undefined,
      // "when no filter is provided, only successful pins are returned" (getPins): with a
      // cid, name, before, after or meta filter and no status, every status matches
      statuses: (statuses ?? (filtered ? [...PIN_STATUSES] : ['pinned'])) as PinStatus[],
      before: timestamp(q.before, 'before'),
      after: timestamp(q.after, 'after'),
      limit,
      meta: q.meta === undefined ? undefined : parseMetaFilter(String(q.meta))
    })
    return { count: out.count, results: out.results.map(render) }
  })

  app.post('/', {
    schema: { summary: 'Add a pin object: 202 pinned at once when the content is stored here, else queued and fetched in the background', body: pinBody }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const pin = await core.pins.add(account, req.body as PinRequest)
    return await reply.code(202).send(render(pin))
  })

  app.get('/:requestid', { schema: { summary: 'Get a pin object and its status' } }, async req => {
    const { account } = principalOf(req)
    return render(await core.pins.get(account.id, (req.params as { requestid: string }).requestid))
  })

  app.post('/:requestid', {
    schema: { summary: 'Replace a pin object (a new one is made before the old is removed; a new requestid)', body: pinBody }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const pin = await core.pins.replace(account, (req.params as { requestid: string }).requestid, req.body as PinRequest)
    return await reply.code(202).send(render(pin))
  })

  app.delete('/:requestid', { schema: { summary: 'Remove a pin object' } }, async (req, reply) => {
    const { account } = principalOf(req)
    await core.pins.remove(account.id, (req.params as { requestid: string }).requestid)
    return await reply.code(202).send()
  })
}
