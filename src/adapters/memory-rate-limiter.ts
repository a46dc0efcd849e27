/**
 * In-process sliding-window counter: the count of the current window plus the previous
 * window's count weighted by how much of it still overlaps. Smooth at window edges, O(1)
 * memory per active key; idle keys are dropped.
 */
import type { RateDecision, RateLimiter } from '../core/ports/rate-limiter.js'

interface Counter { window: number, windowMs: number, current: number, previous: number }

export class MemoryRateLimiter implements RateLimiter {
  private readonly counters = new Map<string, Counter>()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => { this.prune() }, 10_000)
    this.timer.unref()
  }

  async hit (key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const t = this.now()
    const window = Math.floor(t / windowMs)
    let c = this.counters.get(key)
    if (c === undefined) {
      c = { window, windowMs, current: 0, previous: 0 }
      this.counters.set(key, c)
    } else if (c.window !== window) {
      c.previous = c.window === window - 1 ? c.current : 0
      c.current = 0
      c.window = window
    }
    const into = (t % windowMs) / windowMs
    const estimate = c.previous * (1 - into) + c.current
    if (estimate + 1 > limit) {
      // time until enough of the previous window has slid out, or the next window starts
      const needed = estimate + 1 - limit
      const wait = c.previous > 0 ? Math.min(windowMs * (1 - into), (needed / c.previous) * windowMs) : windowMs * (1 - into)
      return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(wait)) }
    }
    c.current++
    return { allowed: true, retryAfterMs: 0 }
  }

  private prune (): void {
    const t = this.now()
    for (const [k, c] of this.counters) {
      // idle once its last window and the one after have passed (nothing of it still counts)
      if (c.current === 0 && c.previous === 0) this.counters.delete(k)
      else if (t >= (c.window + 2) * c.windowMs) this.counters.delete(k)
    }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    this.counters.clear()
  }
}
