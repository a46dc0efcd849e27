/** The embedded (metadata-store) job queue as the behaviour suite drives it. */
import { randomUUID } from 'node:crypto'
import { DbJobQueue } from '../../src/adapters/jobs/db-job-queue.js'
import type { MetadataStore } from '../../src/adapters/metadata/open.js'
import type { QueueHarness } from './job-queue-suite.js'

export function dbHarness (store: MetadataStore, cleanup: () => Promise<void>): QueueHarness {
  const { db } = store
  return {
    queue: (opts = {}) => new DbJobQueue(db, { pollMs: 20, leaseMs: opts.leaseMs ?? 2000, concurrency: opts.concurrency ?? 2 }),
    simulateCrashedClaim: async (id, attempts) => {
      await db.updateTable('jobs').set({ state: 'STARTED', attempts, lease_owner: 'a-worker-that-died', lease_until: Date.now() - 1, started_at: Date.now() - 1000 })
        .where('id', '=', id).execute()
    },
    account: async () => {
      const id = randomUUID()
      await db.insertInto('accounts').values({ id, zelid: null, email: null, plan: 'STARTER', capacity_bytes: null, active: 1, role: 'user', created_at: Date.now() }).execute()
      return id
    },
    close: async () => { await store.close(); await cleanup() }
  }
}

