/**
 * The IPFS Gateway dialect (`/api/v1`): self-service accounts (email + password, keys renewed
 * by emailed code), files by CIDv1, pins, and tasks on the job queue. `X-API-Key` auth, the
 * `{ status, error, message }` envelope, and the per-key hourly limits its FAQ publishes.
 * Routes translate; the core does the work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimitedError } from '../../core/errors.js'
import { authenticate } from './auth.js'
import type { GatewayDeps, GatewayRouteConfig, RateClass } from './context.js'
import { gatewayErrorHandler, sendError } from './errors.js'
import { fileRoutes } from './routes/files.js'
import { browseRoutes } from './routes/browse.js'
import { sessionRoutes } from './routes/sessions.js'
import { taskRoutes } from './routes/tasks.js'
import { userRoutes } from './routes/users.js'

export { GATEWAY_PREFIX } from './prefix.js'

const HOUR = 3_600_000

export async function gatewayDialect (app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const { core } = deps
  const limits = core.config.gateway
  const rates: Record<RateClass, { limit: number, windowMs: number }> = {
    account: { limit: limits.accountCallsPer10Min, windowMs: 10 * 60_000 },
    upload: { limit: limits.uploadsPerHour, windowMs: HOUR },
    retrieve: { limit: limits.retrievalsPerHour, windowMs: HOUR },
    call: { limit: limits.callsPerHour, windowMs: HOUR }
  }
  app.decorateRequest('principal', undefined)
  app.setErrorHandler(gatewayErrorHandler)
  app.setNotFoundHandler((req, reply) => {
    void sendError(reply, 404, `Unknown endpoint: ${req.method} ${req.url.split('?')[0]}`)
  })

  const limit = async (cls: RateClass, who: string, session = false): Promise<void> => {
    const { windowMs } = rates[cls]
    // a browser's session key (POST /users/login) browses with many small calls: its own budget
    const limit = session && cls === 'call' ? limits.sessionCallsPerHour : rates[cls].limit
    if (limit <= 0) return
    const d = await core.rateLimiter.hit(`gateway:${cls}:${who}`, limit, windowMs)
    if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
  }

  // before the body is read: an unauthenticated or rate-limited upload is refused up front
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.is404) return
    const config = req.routeOptions.config as GatewayRouteConfig
    const cls = config.rate ?? 'call'
    if (config.public === true) {
      // each public call has its own budget per client IP (register does not use up renew's)
      await limit(cls, `${req.routeOptions.url ?? ''}:${req.ip}`)
      return
    }
    const principal = await authenticate(core, req)
    ;(req as FastifyRequest & { principal?: unknown }).principal = principal
    await limit(cls, principal.keyId, principal.session)
  })

  userRoutes(app, deps)
  sessionRoutes(app, deps)
  browseRoutes(app, deps)
  fileRoutes(app, deps)
  taskRoutes(app, deps)
}
