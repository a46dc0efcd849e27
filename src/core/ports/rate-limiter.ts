/** Rate-limit counters. In-process by default; a shared store (Redis) makes limits hold across nodes. */
export interface RateDecision {
  allowed: boolean
  /** when allowed is false: how long until a request would be allowed */
  retryAfterMs: number
}

export interface RateLimiter {
  hit: (key: string, limit: number, windowMs: number) => Promise<RateDecision>
  /** for a shared store: resolves when it answers (the health endpoint asks) */
  ping?: () => Promise<void>
  close: () => Promise<void>
}
