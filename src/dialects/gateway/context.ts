import type { Core } from '../../core/core.js'
import type { Metrics } from '../../http/metrics.js'

export interface GatewayDeps {
  core: Core
  metrics: Metrics
}

/** per-route rate class: `account` (public user calls, per client IP), or per key */
export type RateClass = 'account' | 'upload' | 'retrieve' | 'call'

export interface GatewayRouteConfig {
  /** no API key needed (register, renew/challenge, renew) */
  public?: boolean
  rate?: RateClass
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** gateway routes: no API key needed */
    public?: boolean
    /** the rate class of a route (each dialect reads its own values) */
    rate?: string
  }
}
