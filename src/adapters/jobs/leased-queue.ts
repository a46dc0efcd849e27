/**
 * The job queue's worker loop, shared by every adapter: a job is claimed with a lease, the
 * lease is renewed while its handler runs, and a job STARTED by a worker that died is
 * claimed again once its lease has lapsed (a new attempt). Adapters provide only storage
 * (a JobStore) whose claim, renew and finish are each atomic: a conditional UPDATE in the
 * metadata store, one Lua script in Redis.
 */
import { randomUUID } from 'node:crypto'
import type { JobsTable } from '../metadata/schema.js'
import {
  FINAL_STATES, PermanentJobError, type EnqueueOptions, type Job, type JobHandler, type JobQueue, type JobState, type ListOptions
} from '../../core/ports/job-queue.js'

/** A job as stored: the `jobs` table's row, the same fields in a Redis hash. */
export type JobRecord = JobsTable

export interface JobStore {
  insert: (job: JobRecord) => Promise<void>
  /** the job (only if it belongs to `accountId`, when given) */
  get: (id: string, accountId?: string) => Promise<JobRecord | undefined>
  /** PENDING or STARTED -> REVOKED (the lease goes); anything else is left as it is */
  revoke: (id: string, now: number) => Promise<void>
  /** a job in `from` (FAILURE or REVOKED) -> PENDING from its first attempt; false if it was not in `from` */
  reset: (id: string, from: JobState, now: number) => Promise<boolean>
  /** newest first */
  list: (opts: ListOptions & { limit: number }) => Promise<JobRecord[]>
  /**
   * Atomically take the next due job of one of `kinds`: a PENDING job whose run_after has come,
   * or a STARTED one whose lease lapsed. A lapsed job on its last attempt becomes FAILURE
   * instead (its worker died) and the claim looks further.
   */
  claim: (kinds: string[], owner: string, now: number, leaseMs: number) => Promise<JobRecord | undefined>
  /** extend the lease if `owner` still holds the job STARTED; false when it lost it */
  renew: (id: string, owner: string, leaseUntil: number) => Promise<boolean>
  /** end the run of a job `owner` holds STARTED (no change if it does not any more) */
  finish: (id: string, owner: string, patch: Partial<JobRecord>) => Promise<void>
  /** the first retry delay the job was enqueued with */
  backoffOf: (id: string) => Promise<number>
  /** delete SUCCESS and REVOKED jobs completed before `before`; how many went */
  prune: (before: number) => Promise<number>
}

export interface LeasedQueueOptions {
  /** how long a claim holds without renewal (ms); renewed every third of it */
  leaseMs?: number
  /** jobs run at once by this process's worker */
  concurrency?: number
  /** how often an idle worker looks for due jobs (ms); an enqueue in this process wakes it at once */
  pollMs?: number
  /** where handler failures are reported (they are also stored on the job) */
  onError?: (err: unknown, job?: Job) => void
}

export const JOB_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_ERROR = 2000

function parseJson (s: string | null): unknown {
  if (s === null) return null
  try { return JSON.parse(s) } catch { return null }
}

export function toJob (r: JobRecord): Job {
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

export class LeasedJobQueue implements JobQueue {
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

  constructor (private readonly store: JobStore, private readonly opts: LeasedQueueOptions = {}) {
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
    const row: JobRecord = {
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
    await this.store.insert(row)
    this.wake()
    return toJob(row)
  }

  async get (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    if (!JOB_ID_RE.test(id)) return undefined
    const r = await this.store.get(id.toLowerCase(), opts.accountId)
    return r === undefined ? undefined : toJob(r)
  }

  async cancel (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    const job = await this.get(id, opts)
    if (job === undefined) return undefined
    if ((FINAL_STATES as readonly string[]).includes(job.state)) return job
    await this.store.revoke(job.id, Date.now())
    // a handler of this process stops now; one elsewhere when it next renews its lease
    this.running.get(job.id)?.controller.abort(new Error('revoked'))
    return await this.get(job.id, opts)
  }

  async retry (id: string, opts: { accountId?: string } = {}): Promise<Job | undefined> {
    const job = await this.get(id, opts)
    if (job === undefined || (job.state !== 'FAILURE' && job.state !== 'REVOKED')) return undefined
    const now = Date.now()
    if (!await this.store.reset(job.id, job.state, now)) return undefined
    this.wake()
    // the answer is the job as reset wrote it: reading it back could race a worker (of this
    // process or another) that has already claimed it
    return { ...job, state: 'PENDING', attempts: 0, runAfter: now, result: null, error: null, startedAt: null, completedAt: null }
  }

  async prune (before: number): Promise<number> {
    return await this.store.prune(before)
  }

  async list (opts: ListOptions = {}): Promise<Job[]> {
    const rows = await this.store.list({ ...opts, limit: Math.min(Math.max(opts.limit ?? 100, 1), 1000) })
    return rows.map(toJob)
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
  protected wake (): void {
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
      const r = await this.store.claim([...this.handlers.keys()], this.owner, Date.now(), this.leaseMs)
      if (r === undefined) return
      this.run(toJob(r))
    }
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
      this.store.renew(job.id, this.owner, Date.now() + this.leaseMs)
        .then(held => { if (!held) controller.abort(new Error('lease lost (revoked or reclaimed)')) }, () => {})
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
    const finish = async (patch: Partial<JobRecord>): Promise<void> => { await this.store.finish(job.id, this.owner, { lease_owner: null, lease_until: null, ...patch }) }
    const now = Date.now()
    if (outcome.ok) {
      await finish({ state: 'SUCCESS', result: JSON.stringify(outcome.result ?? null), error: null, completed_at: now })
      return
    }
    const err = outcome.err
    if (this.stopping && controller.signal.aborted) {
      // interrupted by a shutdown, not failed: hand it back without using up an attempt
      await finish({ state: 'PENDING', attempts: Math.max(0, job.attempts - 1), run_after: now })
      return
    }
    this.opts.onError?.(err, job)
    if (err instanceof PermanentJobError || job.attempts >= job.maxAttempts) {
      await finish({ state: 'FAILURE', error: message(err), completed_at: now })
      return
    }
    const delay = (await this.store.backoffOf(job.id)) * 2 ** (job.attempts - 1)
    await finish({ state: 'PENDING', error: message(err), run_after: now + delay })
  }
}
