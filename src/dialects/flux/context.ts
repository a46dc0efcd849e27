import type { FastifyRequest } from 'fastify'
import type { Core } from '../../core/core.js'
import type { Metrics } from '../../http/metrics.js'
import { RateLimitedError } from '../../core/errors.js'

export interface FluxDeps {
  core: Core
  metrics: Metrics
}

/** count one event per client IP; past `limit` a minute, 429 */
export async function limitPerIp (core: Core, req: FastifyRequest, what: string, limit: number): Promise<void> {
  const d = await core.rateLimiter.hit(`flux:${what}:${req.ip}`, limit, 60_000)
  if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
}
