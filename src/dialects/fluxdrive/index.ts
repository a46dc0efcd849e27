/**
 * The FluxDrive dialect (`/api/v0`): Basic auth with ZELID:API_KEY_SECRET, per ZELID+IP
 * rate limits, `{ "error": ... }` bodies. Routes translate; the core does the work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError } from '../../core/errors.js'
import { authenticate } from './auth.js'
import type { FluxdriveDeps } from './context.js'
import { fluxdriveErrorHandler } from './errors.js'
import { catRoutes } from './routes/cat.js'
import { dagRoutes } from './routes/dag.js'
import { lsRoute } from './routes/ls.js'
import { putRoute } from './routes/put.js'
import { putfolderRoute } from './routes/putfolder.js'
import { rmRoute } from './routes/rm.js'
import { statusRoute } from './routes/status.js'
import { thumbRoute } from './routes/thumb.js'
import { kuboRoutes } from './routes/kubo.js'

export const FLUXDRIVE_PREFIX = '/api/v0'
/** failed authentications allowed per client IP and minute before 429 */
const FAILED_AUTH_PER_MINUTE = 300

export async function fluxdriveDialect (app: FastifyInstance, deps: FluxdriveDeps): Promise<void> {
  const { core } = deps
  app.decorateRequest('principal', undefined)
  app.setErrorHandler(fluxdriveErrorHandler)
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `Unknown endpoint: ${req.method} ${req.url.split('?')[0]}` })
  })

  // before the body is read: an unauthenticated or rate-limited upload is refused up front
  app.addHook('onRequest', async (req: FastifyRequest) => {
    let principal
    try {
      principal = await authenticate(core, req)
    } catch (err) {
      // failed attempts cost a key lookup each: cap them per client IP
      if (isCairnError(err) && err.code === 'unauthenticated') {
        const d = await core.rateLimiter.hit(`fluxdrive:authfail:${req.ip}`, FAILED_AUTH_PER_MINUTE, 60_000)
        if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
      }
      throw err
    }
    ;(req as FastifyRequest & { principal?: unknown }).principal = principal
    const kind = (req.routeOptions.config as { rate?: 'put' | 'read' }).rate ?? 'read'
    const limits = principal.account.planLimits
    const limit = kind === 'put' ? limits.putPerSecond : limits.readPerSecond
    const decision = await core.rateLimiter.hit(`fluxdrive:${kind}:${principal.account.zelid ?? ''}:${req.ip}`, limit, 1000)
    if (!decision.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)))
  })

  statusRoute(app, deps)
  lsRoute(app, deps)
  putRoute(app, deps)
  putfolderRoute(app, deps)
  catRoutes(app, deps)
  rmRoute(app, deps)
  thumbRoute(app, deps)
  dagRoutes(app, deps)
  kuboRoutes(app, deps)
}
