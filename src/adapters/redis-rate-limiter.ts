/**
 * Rate-limit counters in Redis, so that a limit holds across every API node of a deployment.
 * The same sliding-window estimate as the in-process limiter (the current window's count
 * plus the previous window's, weighted by how much of it still overlaps), computed in one
 * Lua script so that check-and-count is atomic, on Redis's clock so that nodes whose clocks
 * differ still share windows. One small hash per key, expiring when idle.
 */
import { Redis } from 'ioredis'
import { CairnError } from '../core/errors.js'
import type { RateDecision, RateLimiter } from '../core/ports/rate-limiter.js'

const SLIDING_WINDOW = `
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = math.floor(now / window_ms)
local h = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local hw = tonumber(h[1])
local c = tonumber(h[2]) or 0
local p = tonumber(h[3]) or 0
if hw == nil then
  c = 0
  p = 0
elseif hw ~= w then
  if hw == w - 1 then p = c else p = 0 end
  c = 0
end
local into = (now % window_ms) / window_ms
local estimate = p * (1 - into) + c
if estimate + 1 > limit then
  local wait = window_ms * (1 - into)
  if p > 0 then
    local slide = ((estimate + 1 - limit) / p) * window_ms
    if slide < wait then wait = slide end
  end
  redis.call('HSET', KEYS[1], 'w', w, 'c', c, 'p', p)
  redis.call('PEXPIRE', KEYS[1], window_ms * 2)
  return math.max(1, math.ceil(wait))
end
redis.call('HSET', KEYS[1], 'w', w, 'c', c + 1, 'p', p)
redis.call('PEXPIRE', KEYS[1], window_ms * 2)
return 0
`

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis

  /** `prefix` namespaces the keys, so that several deployments (or test runs) share one Redis */
  constructor (url: string, private readonly prefix = 'cairn:rl:') {
    this.redis = new Redis(url, {
      lazyConnect: false,
      // a request must not hang on a dead Redis: fail it, and reconnect in the background
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 5000
    })
    this.redis.defineCommand('cairnSlidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW })
    // errors surface on the commands that fail; without a listener ioredis would log each retry
    this.redis.on('error', () => {})
  }

  async hit (key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const cmd = (this.redis as unknown as { cairnSlidingWindow: (k: string, l: number, w: number) => Promise<number> }).cairnSlidingWindow
    let wait: number
    try {
      wait = await cmd.call(this.redis, this.prefix + key, limit, Math.max(1, Math.round(windowMs)))
    } catch (err) {
      // fail closed with a retryable error rather than letting requests through uncounted
      throw new CairnError('unavailable', 'Rate-limit store unavailable', { cause: (err as Error).message })
    }
    return wait === 0 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: wait }
  }

  /** whether Redis answers (for the health endpoint) */
  async ping (): Promise<void> {
    await this.redis.ping()
  }

  async close (): Promise<void> {
    await this.redis.quit().catch(() => { this.redis.disconnect() })
  }
}
