/** The job queue behaviour suite on Redis (the store for deployments of many nodes). */
import { randomUUID } from 'node:crypto'
import { LeasedJobQueue } from '../../src/adapters/jobs/leased-queue.js'
import { RedisJobStore } from '../../src/adapters/jobs/redis-job-queue.js'
import { serviceOrSkip } from '../helpers/services.js'
import { jobQueueSuite } from './job-queue-suite.js'

const url = serviceOrSkip('CAIRN_TEST_REDIS_URL', 'Redis job queue')
if (url !== undefined) {
  jobQueueSuite('Redis', async () => {
    const prefix = `cairn-test:${randomUUID()}:jobs:`
    const stores: RedisJobStore[] = []
    const store = (): RedisJobStore => { const s = new RedisJobStore(url, prefix); stores.push(s); return s }
    const admin = store()
    return {
      // each queue its own connection, as each process of a deployment has
      queue: (opts = {}) => new LeasedJobQueue(store(), { pollMs: 20, leaseMs: opts.leaseMs ?? 2000, concurrency: opts.concurrency ?? 2 }),
      simulateCrashedClaim: async (id, attempts) => {
        const kind = await admin.redis.hget(`${prefix}job:${id}`, 'kind')
        const created = await admin.redis.hget(`${prefix}job:${id}`, 'created_at')
        const lapsed = Date.now() - 1
        await admin.redis.multi()
          .hset(`${prefix}job:${id}`, 'state', 'STARTED', 'attempts', attempts, 'lease_owner', 'a-worker-that-died', 'lease_until', lapsed, 'started_at', Date.now() - 1000)
          .zrem(`${prefix}ready:${String(kind)}`, id).zadd(`${prefix}leased:${String(kind)}`, lapsed, id)
          .zrem(`${prefix}state:PENDING`, id).zadd(`${prefix}state:STARTED`, Number(created), id)
          .exec()
      },
      account: async () => randomUUID(),
      close: async () => {
        const keys = await admin.redis.keys(`${prefix}*`)
        if (keys.length > 0) await admin.redis.del(...keys)
        for (const s of stores) await s.close()
      }
    }
  })
}
