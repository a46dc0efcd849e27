/**
 * The Upload API dialect (QuickSync's QS Framework, seed 003): upload sessions (`/session`)
 * and their buckets (`/buckets`), mounted at the root as the seed writes the paths and under
 * `/v1` as the service's base URL has them. Routes translate; the core does the work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError } from '../../core/errors.js'
import { apiKeyPrincipal, sessionPrincipal } from './auth.js'
import { type AuthKind, type BucketsDeps, setKey, setSession } from './context.js'
import { bucketsErrorHandler } from './errors.js'
import { sessionRoutes } from './routes/session.js'
import { bucketRoutes } from './routes/buckets.js'
import { partRoute } from './routes/part.js'
import { signedDownloadRoute } from './routes/signed.js'

/** the service's own base path; the routes are also served without it */
export const UPLOAD_API_V1_PREFIX = '/v1'
/** failed authentications allowed per client IP and minute before 429 */
const FAILED_AUTH_PER_MINUTE = 300

export async function bucketsDialect (app: FastifyInstance, deps: BucketsDeps): Promise<void> {
  const { core } = deps
  app.setErrorHandler(bucketsErrorHandler)

  // before the body is read: a part from an unknown token is refused without reading it
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const kind = (req.routeOptions.config as { auth?: AuthKind }).auth
    if (kind === undefined || kind === 'none') return
    try {
      if (kind === 'key') setKey(req, await apiKeyPrincipal(core, req))
      else setSession(req, await sessionPrincipal(core, req))
    } catch (err) {
      if (isCairnError(err) && err.code === 'unauthenticated') {
        const d = await core.rateLimiter.hit(`buckets:authfail:${req.ip}`, FAILED_AUTH_PER_MINUTE, 60_000)
        if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
      }
      throw err
    }
  })

  sessionRoutes(app, deps)
  bucketRoutes(app, deps)
  signedDownloadRoute(app, deps)
  // the part upload takes any body as raw bytes: its own scope, with its own body parsers
  await app.register(async scope => { partRoute(scope, deps) })
}
