/**
 * The RateLimiter port's behaviour suite: the in-process limiter always, Redis when
 * CAIRN_TEST_REDIS_URL names one. Windows are short and waits generous, so the suite asserts
 * counts and order, never timings.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { MemoryRateLimiter } from '../../src/adapters/memory-rate-limiter.js'
import { RedisRateLimiter } from '../../src/adapters/redis-rate-limiter.js'
import { CairnError } from '../../src/core/errors.js'
import type { RateLimiter } from '../../src/core/ports/rate-limiter.js'
import { serviceOrSkip } from '../helpers/services.js'

interface Harness {
  /** two limiters sharing one store: two nodes of a deployment (the same object in-process) */
  a: RateLimiter
  b: RateLimiter
  shared: boolean
}

async function hits (l: RateLimiter, key: string, n: number, limit: number, windowMs: number): Promise<number> {
  let allowed = 0
  for (let i = 0; i < n; i++) if ((await l.hit(key, limit, windowMs)).allowed) allowed++
  return allowed
}

function behaviour (name: string, make: () => Harness): void {
  describe(`RateLimiter: ${name}`, () => {
    const h = make()
    after(async () => { await h.a.close(); if (h.b !== h.a) await h.b.close() })

    test('allows up to the limit in a window, then refuses with a wait no longer than the window', async () => {
      const key = randomUUID()
      assert.equal(await hits(h.a, key, 10, 10, 60_000), 10)
      const d = await h.a.hit(key, 10, 60_000)
      assert.equal(d.allowed, false)
      assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 60_000, `retryAfterMs ${d.retryAfterMs}`)
    })

    test('keys are independent', async () => {
      const k1 = randomUUID()
      const k2 = randomUUID()
      assert.equal(await hits(h.a, k1, 5, 3, 60_000), 3)
      assert.equal(await hits(h.a, k2, 5, 3, 60_000), 3)
    })

    test('refused requests are not counted', async () => {
      const key = randomUUID()
      assert.equal(await hits(h.a, key, 50, 5, 300), 5)
      // two whole windows later nothing of the burst remains, refused hits included
      await sleep(700)
      assert.equal(await hits(h.a, key, 5, 5, 300), 5)
    })

    test('a burst over many concurrent requests is counted exactly once each', async () => {
      const key = randomUUID()
      const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => await (i % 2 === 0 ? h.a : h.b).hit(key, 50, 60_000)))
      assert.equal(results.filter(r => r.allowed).length, 50)
    })

    if (h.shared) {
      test('two nodes share one count', async () => {
        const key = randomUUID()
        assert.equal(await hits(h.a, key, 6, 6, 60_000), 6)
        assert.equal((await h.b.hit(key, 6, 60_000)).allowed, false)
      })
    }
  })
}

behaviour('in-process', () => {
  const l = new MemoryRateLimiter()
  return { a: l, b: l, shared: false }
})

const redisUrl = serviceOrSkip('CAIRN_TEST_REDIS_URL', 'Redis rate limiter')
if (redisUrl !== undefined) {
  const prefix = `cairn-test:${randomUUID()}:`
  behaviour('Redis', () => ({ a: new RedisRateLimiter(redisUrl, prefix), b: new RedisRateLimiter(redisUrl, prefix), shared: true }))

  test('RateLimiter: Redis unreachable is a retryable unavailable error, not a hang', async () => {
    const l = new RedisRateLimiter('redis://127.0.0.1:1', prefix)
    try {
      await assert.rejects(l.hit('k', 1, 1000), (err: unknown) => err instanceof CairnError && err.code === 'unavailable')
    } finally {
      await l.close()
    }
  })
}
