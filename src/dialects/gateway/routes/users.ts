import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimitedError } from '../../../core/errors.js'
import { normalizeEmail } from '../../../core/self-service.js'
import { principalOf } from '../auth.js'
import type { GatewayDeps } from '../context.js'
import { iso } from '../views.js'
import { authErrors, errorBody } from './schemas.js'

const TEN_MINUTES = 10 * 60_000

const credentials = {
  type: 'object',
  properties: {
    email: { type: 'string', description: 'a valid address; it is where renewal codes go' },
    password: { type: 'string', description: `at least 8 characters, mixing two of: lowercase, uppercase, digits, symbols` }
  },
  required: ['email', 'password']
} as const

const publicErrors = { 400: errorBody, 429: errorBody } as const

export function userRoutes (app: FastifyInstance, { core }: GatewayDeps): void {
  const limit = core.config.gateway.accountCallsPer10Min
  /** per email as well as per client IP: nobody can flood one inbox or guess one account's code from many addresses */
  const perEmail = async (req: FastifyRequest, what: string): Promise<string> => {
    const email = normalizeEmail((req.body as { email?: unknown } | undefined)?.email)
    if (limit > 0) {
      const d = await core.rateLimiter.hit(`gateway:${what}:${email}`, limit, TEN_MINUTES)
      if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
    }
    return email
  }

  app.post('/users/register', {
    config: { public: true, rate: 'account' },
    schema: {
      summary: 'Create an account; answers its API key, shown only this once',
      security: [],
      body: credentials,
      response: {
        201: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            message: { type: 'string' },
            data: { type: 'object', properties: { email: { type: 'string' }, api_key: { type: 'string' }, created_at: { type: 'string', format: 'date-time' } } }
          }
        },
        409: { ...errorBody, description: 'An account with this email already exists' },
        ...publicErrors
      }
    }
  }, async (req, reply) => {
    const b = (req.body ?? {}) as { email?: unknown, password?: unknown }
    const { account, key } = await core.selfService.register({ email: b.email, password: b.password })
    return await reply.code(201).send({
      status: 201,
      message: 'User registered successfully',
      data: { email: account.email, api_key: key, created_at: iso(account.createdAt) }
    })
  })

  app.post('/users/renew/challenge', {
    config: { public: true, rate: 'account' },
    schema: {
      summary: 'Email a 6-digit key-renewal code (valid 15 minutes, single use); the answer is the same whether or not the email has an account',
      security: [],
      body: { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] },
      response: { 200: { type: 'object', properties: { status: { type: 'integer' }, message: { type: 'string' } } }, ...publicErrors }
    }
  }, async req => {
    const email = await perEmail(req, 'challenge')
    await core.selfService.requestRenewal(email)
    return { status: 200, message: 'Verification code sent to email' }
  })

  app.post('/users/renew', {
    config: { public: true, rate: 'account' },
    schema: {
      summary: 'Trade the emailed code for a new API key; the old key stops working at once',
      security: [],
      body: {
        type: 'object',
        properties: { email: { type: 'string' }, verification_code: { type: ['string', 'integer'], description: 'the 6 digits from the email' } },
        required: ['email', 'verification_code']
      },
      response: {
        200: {
          type: 'object',
          properties: { status: { type: 'integer' }, message: { type: 'string' }, data: { type: 'object', properties: { api_key: { type: 'string' } } } }
        },
        401: { ...errorBody, description: 'Invalid or expired verification code (also for an email without an account)' },
        ...publicErrors
      }
    }
  }, async req => {
    const email = await perEmail(req, 'renew')
    const { key } = await core.selfService.renew({ email, code: (req.body as { verification_code?: unknown }).verification_code })
    return { status: 200, message: 'API key renewed successfully', data: { api_key: key } }
  })

  const statusData = {
    type: 'object',
    properties: {
      email: { type: ['string', 'null'] },
      created_at: { type: 'string', format: 'date-time' },
      file_count: { type: 'integer' },
      total_size_bytes: { type: 'integer' },
      plan: { type: 'string' },
      capacity_bytes: { type: 'integer' },
      key_status: { type: 'string', description: 'the presented key: active (others are refused with 401/403)' }
    }
  } as const
  const status = async (req: FastifyRequest): Promise<unknown> => {
    const { account } = principalOf(req)
    return {
      status: 200,
      data: {
        email: account.email,
        created_at: iso(account.createdAt),
        file_count: await core.drive.fileCount(account.id),
        total_size_bytes: await core.drive.usage(account.id),
        plan: account.plan,
        capacity_bytes: account.capacityBytes,
        key_status: 'active'
      }
    }
  }
  const statusSchema = (summary: string): Record<string, unknown> => ({
    summary,
    response: { 200: { type: 'object', properties: { status: { type: 'integer' }, data: statusData } }, ...authErrors }
  })
  app.get('/users/status', { config: { rate: 'call' }, schema: statusSchema('The account: email, created_at, file_count, total_size_bytes') }, status)
  // the service's code also answers POST, with the key's status
  app.post('/users/status', { config: { rate: 'call' }, schema: statusSchema('Same as GET (the key status of the presented key)') }, status)
}
