/**
 * The Flux dialect: the identity and file calls of a Flux node (/id, /apps, /ioutils,
 * /backup). Authentication is the zelidauth header of a wallet session; answers use the Flux
 * envelope with matching HTTP statuses. Each prefix is its own encapsulated scope, so its
 * lenient body parsing, error envelope and 404 do not touch other dialects.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CairnError, RateLimitedError } from '../../core/errors.js'
import { authorize, walletOf, type Level } from './auth.js'
import { lenientBodies } from './body.js'
import type { FluxDeps } from './context.js'
import { errorBody, fluxErrorHandler } from './envelope.js'
import { idRoutes } from './routes/id.js'
import { keyRoutes } from './routes/keys.js'
import { fluxshareRoutes } from './routes/fluxshare.js'
import { volumeRoutes } from './routes/volumes.js'
import { ioutilsRoutes } from './routes/ioutils.js'
import { backupRoutes } from './routes/backup.js'

export const FLUX_PREFIXES = ['/id', '/apps', '/ioutils', '/backup'] as const
type Prefix = typeof FLUX_PREFIXES[number]

export type FluxRoutes = (app: FastifyInstance, deps: FluxDeps) => void

const ROUTES: Record<Prefix, FluxRoutes[]> = {
  '/id': [idRoutes, keyRoutes],
  '/apps': [fluxshareRoutes, volumeRoutes],
  '/ioutils': [ioutilsRoutes],
  '/backup': [backupRoutes]
}

export async function fluxDialect (app: FastifyInstance, deps: FluxDeps): Promise<void> {
  for (const prefix of FLUX_PREFIXES) {
    await app.register(async scope => {
      lenientBodies(scope)
      scope.decorateRequest('wallet', undefined)
      scope.setErrorHandler(fluxErrorHandler)
      scope.setNotFoundHandler((req, reply) => {
        void reply.code(404).send(errorBody(404, `Unknown endpoint: ${req.method} ${req.url.split('?')[0]}`))
      })
      // before the body is read: an upload without a session is refused up front
      scope.addHook('onRequest', async (req: FastifyRequest) => {
        const level = (req.routeOptions.config as { level?: Level }).level ?? 'user'
        await authorize(deps.core, req, level)
        const w = walletOf(req)
        if (w === undefined || prefix === '/id') return
        // file calls: an inactive subscription is 402, and the plan's request rates apply
        if (!w.account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
        const kind = req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'put'
        const limits = w.account.planLimits
        const d = await deps.core.rateLimiter.hit(`flux:${kind}:${w.session.zelid}:${req.ip}`, kind === 'put' ? limits.putPerSecond : limits.readPerSecond, 1000)
        if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
      })
      for (const r of ROUTES[prefix]) r(scope, deps)
    }, { prefix })
  }
}
