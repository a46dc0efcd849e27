/**
 * The embedded job queue: jobs are rows of the metadata store's `jobs` table (SQLite or
 * PostgreSQL), run by the shared worker loop (leased-queue.ts) inside the server process.
 *
 * A claim is one conditional UPDATE (state and lease as read) so two workers, in one process
 * or several sharing PostgreSQL, never both win a job; no dialect-specific locking is needed.
 */
import type { Db } from '../metadata/open.js'
import type { JobState, ListOptions } from '../../core/ports/job-queue.js'
import { LeasedJobQueue, type JobRecord, type JobStore, type LeasedQueueOptions } from './leased-queue.js'

export type DbJobQueueOptions = LeasedQueueOptions

export class DbJobStore implements JobStore {
  constructor (private readonly db: Db) {}

  async insert (job: JobRecord): Promise<void> {
    await this.db.insertInto('jobs').values(job).execute()
  }

  async get (id: string, accountId?: string): Promise<JobRecord | undefined> {
    let q = this.db.selectFrom('jobs').selectAll().where('id', '=', id)
    if (accountId !== undefined) q = q.where('account_id', '=', accountId)
    return await q.executeTakeFirst()
  }

  async revoke (id: string, now: number): Promise<void> {
    await this.db.updateTable('jobs')
      .set({ state: 'REVOKED', completed_at: now, lease_owner: null, lease_until: null })
      .where('id', '=', id).where('state', 'in', ['PENDING', 'STARTED']).execute()
  }

  async reset (id: string, from: JobState, now: number): Promise<boolean> {
    const r = await this.db.updateTable('jobs')
      .set({ state: 'PENDING', attempts: 0, run_after: now, error: null, result: null, started_at: null, completed_at: null })
      .where('id', '=', id).where('state', '=', from).executeTakeFirst()
    return Number(r.numUpdatedRows) === 1
  }

  async list (opts: ListOptions & { limit: number }): Promise<JobRecord[]> {
    let q = this.db.selectFrom('jobs').selectAll()
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId)
    if (opts.state !== undefined) q = q.where('state', '=', opts.state)
    if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind)
    return await q.orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).execute()
  }

  async claim (kinds: string[], owner: string, now: number, leaseMs: number): Promise<JobRecord | undefined> {
    for (let tries = 0; tries < 5; tries++) {
      const candidates = await this.db.selectFrom('jobs').selectAll()
        .where('kind', 'in', kinds)
        .where(eb => eb.or([
          eb.and([eb('state', '=', 'PENDING'), eb('run_after', '<=', now)]),
          eb.and([eb('state', '=', 'STARTED'), eb('lease_until', '<', now)])
        ]))
        .orderBy('run_after').orderBy('created_at').limit(5).execute()
      if (candidates.length === 0) return undefined
      for (const c of candidates) {
        if (c.state === 'STARTED' && c.attempts >= c.max_attempts) {
          // its last attempt's worker died: that attempt failed
          await this.db.updateTable('jobs')
            .set({ state: 'FAILURE', error: c.error ?? 'the worker running the last attempt stopped', completed_at: now, lease_owner: null, lease_until: null })
            .where('id', '=', c.id).where('state', '=', 'STARTED').where('lease_until', '=', c.lease_until).execute()
          continue
        }
        const claimed = { state: 'STARTED', attempts: c.attempts + 1, lease_owner: owner, lease_until: now + leaseMs, started_at: now }
        let q = this.db.updateTable('jobs').set(claimed)
          .where('id', '=', c.id).where('state', '=', c.state).where('attempts', '=', c.attempts)
        q = c.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', c.lease_until)
        const r = await q.executeTakeFirst()
        if (Number(r.numUpdatedRows) === 1) return { ...c, ...claimed }
      }
    }
    return undefined
  }

  async renew (id: string, owner: string, leaseUntil: number): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ lease_until: leaseUntil })
      .where('id', '=', id).where('state', '=', 'STARTED').where('lease_owner', '=', owner).executeTakeFirst()
    return Number(r.numUpdatedRows) === 1
  }

  async finish (id: string, owner: string, patch: Partial<JobRecord>): Promise<void> {
    await this.db.updateTable('jobs').set(patch)
      .where('id', '=', id).where('state', '=', 'STARTED').where('lease_owner', '=', owner).execute()
  }

  async backoffOf (id: string): Promise<number> {
    const row = await this.db.selectFrom('jobs').select('backoff_ms').where('id', '=', id).executeTakeFirst()
    return Number(row?.backoff_ms ?? 1000)
  }
}

export class DbJobQueue extends LeasedJobQueue {
  constructor (db: Db, opts: DbJobQueueOptions = {}) {
    super(new DbJobStore(db), opts)
  }
}
