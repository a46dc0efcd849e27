/**
 * The embedded job queue: jobs are rows of the metadata store's `jobs` table (SQLite or
 * PostgreSQL), run by a worker loop inside the server process.
 *
 * A claim is one conditional UPDATE (state and lease as read) so two workers, in one process
 * or several sharing PostgreSQL, never both win a job; no dialect-specific locking is needed.
 * The worker renews its lease while the handler runs; a job STARTED by a worker that died
 * is claimed again once its lease has lapsed (a new attempt).
 */
import { randomUUID } from 'node:crypto'
import type { Db } from '../metadata/open.js'
import type { JobsTable } from '../metadata/schema.js'
import {
  FINAL_STATES, PermanentJobError, type EnqueueOptions, type Job, type JobHandler, type JobQueue, type JobState, type ListOptions
} from '../../core/ports/job-queue.js'

export interface DbJobQueueOptions {
  /** how long a claim holds without renewal (ms); renewed every third of it */
  leaseMs?: number
  /** jobs run at once by this process's worker */
  concurrency?: number
  /** how often an idle worker looks for due jobs (ms); an enqueue in this process wakes it at once */
  pollMs?: number
  /** where handler failures are reported (they are also stored on the job) */
  onError?: (err: unknown, job?: Job) => void
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_ERROR = 2000

function parseJson (s: string | null): unknown {
  if (s === null) return null
  try { return JSON.parse(s) } catch { return null }
}

function toJob (r: JobsTable): Job {
  return {
    id: r.id,
    accountId: r.account_id,
    kind: r.kind,
    payload: parseJson(r.payload),
    state: r.state as JobState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    runAfter: Number(r.run_after),
    result: parseJson(r.result),
    error: r.error,
    createdAt: Number(r.created_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at)
  }
}

function message (err: unknown): string {
  const m = err instanceof Error ? err.message : String(err)
  return m.length > MAX_ERROR ? m.slice(0, MAX_ERROR) + '…' : m
}

export class DbJobQueue implements JobQueue {
  private readonly handlers = new Map<string, JobHandler>()
  private readonly running = new Map<string, { controller: AbortController, done: Promise<void> }>()
  private readonly owner = randomUUID()
  private readonly leaseMs: number
  private readonly concurrency: number
  private readonly pollMs: number
  private started = false
  private stopping = false
  private timer: NodeJS.Timeout | undefined
  private looking: Promise<void> | undefined
  private again = false

  constructor (private readonly db: Db, private readonly opts: DbJobQueueOptions = {}) {
    this.leaseMs = opts.leaseMs ?? 30_000
    this.concurrency = opts.concurrency ?? 2
    this.pollMs = opts.pollMs ?? 1000
  }

  handle (kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for job kind "${kind}" is already registered`)
    this.handlers.set(kind, handler)
  }

  async enqueue (kind: string, payload: unknown, opts: EnqueueOptions = {}): Promise<Job> {
    const maxAttempts = opts.maxAttempts ?? 3
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('maxAttempts must be an integer >= 1')
    const now = Date.now()
    const row: JobsTable = {
      id: randomUUID(),
      account_id: opts.accountId ?? null,
      kind,
      payload: JSON.stringify(payload ?? null),
      state: 'PENDING',
      attempts: 0,
      max_attempts: maxAttempts,
      backoff_ms: Math.max(0, opts.backoffMs ?? 1000),
      run_after: now + Math.max(0, opts.delayMs ?? 0),
      lease_owner: null,
      lease_until: null,
      result: null,
      error: null,
      created_at: now,
      started_at: null,
      completed_at: null
    }
    await this.db.insertInto('jobs').values(row).execute()
    this.wake()
    return toJob(row)
  }

  async get (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    if (!UUID_RE.test(id)) return undefined
    let q = this.db.selectFrom('jobs').selectAll().where('id', '=', id.toLowerCase())
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId)
    const r = await q.executeTakeFirst()
    return r === undefined ? undefined : toJob(r)
  }

  async cancel (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    const job = await this.get(id, opts)
    if (job === undefined) return undefined
    if ((FINAL_STATES as readonly string[]).includes(job.state)) return job
    await this.db.updateTable('jobs')
      .set({ state: 'REVOKED', completed_at: Date.now(), lease_owner: null, lease_until: null })
      .where('id', '=', job.id).where('state', 'in', ['PENDING', 'STARTED']).execute()
    // a handler of this process stops now; one elsewhere when it next renews its lease
    this.running.get(job.id)?.controller.abort(new Error('revoked'))
    return await this.get(job.id, opts)
  }

  async retry (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    const job = await this.get(id, opts)
    if (job === undefined || (job.state !== 'FAILURE' && job.state !== 'REVOKED')) return undefined
    const r = await this.db.updateTable('jobs')
      .set({ state: 'PENDING', attempts: 0, run_after: Date.now(), error: null, result: null, started_at: null, completed_at: null })
      .where('id', '=', job.id).where('state', '=', job.state).executeTakeFirst()
    if (Number(r.numUpdatedRows) === 0) return undefined
    this.wake()
    return await this.get(job.id, opts)
  }

  async list (opts: ListOptions = {}): Promise<Job[]> {
    let q = this.db.selectFrom('jobs').selectAll()
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId)
    if (opts.state !== undefined) q = q.where('state', '=', opts.state)
    if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind)
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(Math.min(Math.max(opts.limit ?? 100, 1), 1000)).execute()
    return rows.map(toJob)
  }

  async prune (before: number): Promise<number> {
    const r = await this.db.deleteFrom('jobs').where('state', 'in', ['SUCCESS', 'REVOKED'])
      .where('completed_at', '<', before).executeTakeFirst()
    return Number(r.numDeletedRows)
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.stopping = false
    this.wake()
  }

  async stop (): Promise<void> {
    this.stopping = true
    this.started = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    await this.looking
    for (const r of this.running.values()) r.controller.abort(new Error('the job queue is stopping'))
    await Promise.allSettled([...this.running.values()].map(async r => { await r.done }))
  }

  /** look for work now (coalesced: one look at a time, and one more if asked meanwhile) */
  private wake (): void {
    if (!this.started || this.stopping) return
    if (this.looking !== undefined) { this.again = true; return }
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    this.looking = this.fill().catch(err => { this.opts.onError?.(err) }).finally(() => {
      this.looking = undefined
      if (!this.started || this.stopping) return
      if (this.again) { this.again = false; this.wake(); return }
      this.timer = setTimeout(() => { this.timer = undefined; this.wake() }, this.pollMs)
      this.timer.unref()
    })
  }

  /** claim and start jobs until the worker is full or nothing is due */
  private async fill (): Promise<void> {
    while (!this.stopping && this.running.size < this.concurrency && this.handlers.size > 0) {
      const job = await this.claim()
      if (job === undefined) return
      this.run(job)
    }
  }

  private async claim (): Promise<Job | undefined> {
    const kinds = [...this.handlers.keys()]
    for (let tries = 0; tries < 5; tries++) {
      const now = Date.now()
      const candidates = await this.db.selectFrom('jobs').selectAll()
        .where('kind', 'in', kinds)
        .where(eb => eb.or([
          eb.and([eb('state', '=', 'PENDING'), eb('run_after', '<=', now)]),
          eb.and([eb('state', '=', 'STARTED'), eb('lease_until', '<', now)])
        ]))
        .orderBy('run_after').orderBy('created_at').limit(5).execute()
      if (candidates.length === 0) return undefined
      for (const c of candidates) {
        if (this.running.has(c.id)) continue
        const lapsed = c.state === 'STARTED'
        if (lapsed && c.attempts >= c.max_attempts) {
          // its last attempt's worker died: that attempt failed
          await this.db.updateTable('jobs')
            .set({ state: 'FAILURE', error: c.error ?? 'the worker running the last attempt stopped', completed_at: now, lease_owner: null, lease_until: null })
            .where('id', '=', c.id).where('state', '=', 'STARTED').where('lease_until', '=', c.lease_until).execute()
          continue
        }
        let q = this.db.updateTable('jobs')
          .set({
            state: 'STARTED',
            attempts: c.attempts + 1,
            lease_owner: this.owner,
            lease_until: now + this.leaseMs,
            started_at: now
          })
          .where('id', '=', c.id).where('state', '=', c.state).where('attempts', '=', c.attempts)
        q = c.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', c.lease_until)
        const r = await q.executeTakeFirst()
        if (Number(r.numUpdatedRows) === 1) {
          return toJob({ ...c, state: 'STARTED', attempts: c.attempts + 1, lease_owner: this.owner, lease_until: now + this.leaseMs, started_at: now })
        }
      }
    }
    return undefined
  }

  private run (job: Job): void {
    const controller = new AbortController()
    const done = this.execute(job, controller).catch(err => { this.opts.onError?.(err, job) }).finally(() => {
      this.running.delete(job.id)
      this.wake()
    })
    this.running.set(job.id, { controller, done })
  }

  /** keep the lease while the handler runs; a lost lease (revoked, or reclaimed) aborts it */
  private renewing (job: Job, controller: AbortController): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.db.updateTable('jobs').set({ lease_until: Date.now() + this.leaseMs })
        .where('id', '=', job.id).where('state', '=', 'STARTED').where('lease_owner', '=', this.owner).executeTakeFirst()
        .then(r => { if (Number(r.numUpdatedRows) === 0) controller.abort(new Error('lease lost (revoked or reclaimed)')) }, () => {})
    }, Math.max(50, Math.floor(this.leaseMs / 3)))
    timer.unref()
    return timer
  }

  private async execute (job: Job, controller: AbortController): Promise<void> {
    const handler = this.handlers.get(job.kind)
    if (handler === undefined) return
    const timer = this.renewing(job, controller)
    let outcome: { ok: true, result: unknown } | { ok: false, err: unknown }
    try {
      outcome = { ok: true, result: await handler(job.payload, { job, signal: controller.signal }) }
    } catch (err) {
      outcome = { ok: false, err }
    } finally {
      clearInterval(timer)
    }
    const mine = this.db.updateTable('jobs').where('id', '=', job.id).where('state', '=', 'STARTED').where('lease_owner', '=', this.owner)
    const now = Date.now()
    if (outcome.ok) {
      await mine.set({ state: 'SUCCESS', result: JSON.stringify(outcome.result ?? null), error: null, completed_at: now, lease_owner: null, lease_until: null }).execute()
      return
    }
    const err = outcome.err
    if (this.stopping && controller.signal.aborted) {
      // interrupted by a shutdown, not failed: hand it back without using up an attempt
      await mine.set({ state: 'PENDING', attempts: Math.max(0, job.attempts - 1), run_after: now, lease_owner: null, lease_until: null }).execute()
      return
    }
    this.opts.onError?.(err, job)
    if (err instanceof PermanentJobError || job.attempts >= job.maxAttempts) {
      await mine.set({ state: 'FAILURE', error: message(err), completed_at: now, lease_owner: null, lease_until: null }).execute()
      return
    }
    const row = await this.db.selectFrom('jobs').select('backoff_ms').where('id', '=', job.id).executeTakeFirst()
    const delay = Number(row?.backoff_ms ?? 1000) * 2 ** (job.attempts - 1)
    await mine.set({ state: 'PENDING', error: message(err), run_after: now + delay, lease_owner: null, lease_until: null }).execute()
  }
}
