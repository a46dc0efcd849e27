/**
 * Session routes: create (X-API-KEY), join (X-API-KEY + sessionId [+ password]), the current
 * session, leave, and delete (host only).
 */
import type { FastifyInstance } from 'fastify'
import { type BucketsDeps, keyOf, sessionOf } from '../context.js'
import { credentialsView, memberView, rulesView } from './views.js'
import { errorResponses } from './schemas.js'

const identity = {
  type: ['object', 'null'],
  properties: { name: { type: ['string', 'null'], maxLength: 100 }, chainAddress: { type: ['string', 'null'], maxLength: 100 } }
} as const

const rules = {
  type: ['object', 'null'],
  properties: {
    userCapacity: { type: ['integer', 'null'], minimum: 1 },
    expiryDurationInSeconds: { type: ['integer', 'null'], minimum: 1 },
    password: { type: ['string', 'null'], maxLength: 200 },
    allowOnlyWhitelistedAddresses: { type: ['boolean', 'null'] },
    whiteListAddresses: { type: ['array', 'null'] },
    maxFiles: { type: ['integer', 'null'], minimum: 1, description: 'Cairn addition: the most files the bucket may hold' },
    maxTotalMegaBytes: { type: ['integer', 'null'], minimum: 1, description: 'Cairn addition: the most MB (MiB) all uploads of the session may hold' }
  }
} as const

const credentials = {
  type: 'object',
  properties: {
    sessionId: { type: 'string' },
    expiresIn: { type: 'integer', description: 'seconds until the session expires' },
    credentials: { type: 'object', properties: { token: { type: 'string' }, id: { type: 'string' }, pseudonym: { type: 'string' }, role: { type: 'string' } } },
    rules: { type: 'object', additionalProperties: true },
    users: { type: 'array', items: { type: 'object', additionalProperties: true } }
  }
} as const

interface CreateBody {
  identity?: { name?: string | null, chainAddress?: string | null } | null
  rules?: { userCapacity?: number | null, expiryDurationInSeconds?: number | null, password?: string | null, allowOnlyWhitelistedAddresses?: boolean | null, maxFiles?: number | null, maxTotalMegaBytes?: number | null } | null
  password?: string | null
}

export function sessionRoutes (app: FastifyInstance, { core }: BucketsDeps): void {
  app.post<{ Body: CreateBody | undefined }>('/session', {
    config: { auth: 'key' },
    schema: {
      summary: 'Create an upload session (X-API-KEY: an account\'s API key); answers the session token (Authorization: Bearer) and the rules',
      body: { type: ['object', 'null'], properties: { identity, rules, password: { type: ['string', 'null'], description: 'deprecated: rules.password' }, whiteListAddresses: { type: ['array', 'null'] } } },
      response: { 200: credentials, ...errorResponses }
    }
  }, async req => {
    const body = req.body ?? {}
    if (body.rules?.allowOnlyWhitelistedAddresses === true) {
      // wallet whitelists need the wallet-proof flow, which Cairn does not have: refuse rather than ignore
      const { CairnError } = await import('../../../core/errors.js')
      throw new CairnError('invalid_argument', 'allowOnlyWhitelistedAddresses is not supported')
    }
    const { session, member, token } = await core.sessions.create(keyOf(req).account, {
      rules: { ...body.rules, password: body.rules?.password ?? body.password },
      identity: body.identity ?? undefined
    })
    return credentialsView(session, member, token)
  })

  app.post<{ Body: { sessionId?: string, password?: string | null, identity?: CreateBody['identity'] } | undefined }>('/session/join', {
    config: { auth: 'key' },
    schema: {
      summary: 'Join a session by id (and password) with an API key (X-API-KEY); answers this member\'s own session token',
      body: { type: 'object', properties: { sessionId: { type: 'string' }, password: { type: ['string', 'null'] }, identity }, required: ['sessionId'] },
      response: { 200: credentials, ...errorResponses }
    }
  }, async req => {
    const body = req.body ?? {}
    const { session, member, token, members } = await core.sessions.join(keyOf(req).account, {
      sessionId: body.sessionId, password: body.password, identity: body.identity ?? undefined
    })
    return { ...credentialsView(session, member, token), users: members.map(memberView) }
  })

  app.get('/session/current', {
    config: { auth: 'session' },
    schema: { summary: 'The session of this token: rules and members', response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses } }
  }, async req => {
    const p = sessionOf(req)
    const rules = rulesView(p.session)
    return {
      id: p.session.id,
      creatorId: (await core.sessions.members(p.session.id)).find(m => m.role === 'Host')?.id ?? null,
      ...rules,
      users: (await core.sessions.members(p.session.id)).map(memberView),
      you: memberView(p.member)
    }
  })

  app.post('/session/disconnect', {
    config: { auth: 'session' },
    schema: { summary: 'Leave the session: this token stops working' }
  }, async (req, reply) => {
    await core.sessions.leave(sessionOf(req).member.id)
    return await reply.code(200).send()
  })

  app.delete('/session/current', {
    config: { auth: 'session' },
    schema: { summary: 'End the session (host only): every token stops working; finished files stay the account\'s, unfinished uploads are swept' }
  }, async (req, reply) => {
    await core.sessions.end(sessionOf(req))
    return await reply.code(200).send()
  })
}
