/**
 * The job queue port: work that outlives a request (a bulk delete, a background pin, an
 * email) runs as a job, and its state can be asked for later, by another process too.
 *
 * Contract (every adapter, the embedded one in src/adapters/jobs/db-job-queue.ts and a
 * Redis/BullMQ one, runs the behaviour suite in test/ports/job-queue-suite.ts):
 *
 * - **States.** A job is PENDING (waiting, or waiting for a retry), STARTED (a worker holds
 *   it), then ends SUCCESS, FAILURE (failed on its last attempt: a dead job) or REVOKED
 *   (cancelled). The three end states are final unless `retry` is called.
 * - **Durability.** `enqueue` resolves once the job is stored where every process of the
 *   deployment sees it; `get` answers from that store, so a job survives a restart of the
 *   process that enqueued or ran it.
 * - **Handlers by kind.** `handle(kind, fn)` registers what runs a kind in this process. A
 *   worker claims only jobs of kinds it has a handler for. Payloads and results are JSON.
 * - **At least once.** A claim is a lease that the worker renews while the handler runs. A
 *   worker that dies loses its lease, and the job is claimed again (a new attempt) once the
 *   lease has lapsed. Handlers must therefore be idempotent.
 * - **Retries.** A handler that throws is retried after `backoffMs`, doubled for each
 *   further attempt, until `maxAttempts` attempts have run; then the job is FAILURE with the
 *   last error. A `PermanentJobError` fails the job at once.
 * - **Cancel.** `cancel` of a PENDING job makes it REVOKED and it never runs. Of a STARTED
 *   job: REVOKED at once, the handler's signal is aborted (at the latest when its lease is
 *   next renewed) and whatever it returns is dropped; work it already did stays done.
 *   Cancelling a finished job changes nothing.
 * - **Retention.** `prune` drops finished SUCCESS and REVOKED jobs; FAILURE jobs stay.
 * - **Ownership.** A job may belong to an account; `get` and `cancel` given an account id
 *   see only that account's jobs (another account's job is simply not found).
 */

export type JobState = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'REVOKED'
export const JOB_STATES: readonly JobState[] = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED']
export const FINAL_STATES: readonly JobState[] = ['SUCCESS', 'FAILURE', 'REVOKED']

export interface Job {
  id: string
  accountId: string | null
  kind: string
  payload: unknown
  state: JobState
  /** attempts started so far (including a running one) */
  attempts: number
  maxAttempts: number
  /** epoch ms before which the job is not claimed (retry backoff, or a delayed job) */
  runAfter: number
  /** the handler's answer (SUCCESS) */
  result: unknown
  /** the last error message (a retry in waiting, FAILURE or a revoked run) */
  error: string | null
  createdAt: number
  startedAt: number | null
  completedAt: number | null
}

export interface JobContext {
  job: Job
  /** aborted when the job is revoked or the queue stops */
  signal: AbortSignal
}

export type JobHandler = (payload: any, ctx: JobContext) => Promise<unknown>

export interface EnqueueOptions {
  accountId?: string | null
  /** attempts before the job is dead (default 3) */
  maxAttempts?: number
  /** delay before the first retry, doubled for each further one (default 1000) */
  backoffMs?: number
  /** do not run before this many ms from now */
  delayMs?: number
}

export interface ListOptions {
  accountId?: string
  state?: JobState
  kind?: string
  limit?: number
}

export interface JobQueue {
  /** register the handler of a kind in this process (one per kind) */
  handle: (kind: string, handler: JobHandler) => void
  enqueue: (kind: string, payload: unknown, opts?: EnqueueOptions) => Promise<Job>
  /** the job, or undefined when there is none (or it belongs to another account) */
  get: (id: string, opts?: { accountId?: string }) => Promise<Job | undefined>
  /** revoke a job that has not finished; answers the job as it now is (undefined: no such job) */
  cancel: (id: string, opts?: { accountId?: string }) => Promise<Job | undefined>
  /** run a FAILURE or REVOKED job again from its first attempt; undefined when not such a job */
  retry: (id: string, opts?: { accountId?: string }) => Promise<Job | undefined>
  /** newest first; `state: 'FAILURE'` lists the dead jobs */
  list: (opts?: ListOptions) => Promise<Job[]>
  /**
   * delete SUCCESS and REVOKED jobs that finished before `before` (epoch ms); dead (FAILURE)
   * jobs stay until retried or looked into. Answers how many went.
   */
  prune: (before: number) => Promise<number>
  /** start this process's worker loop (claims jobs of the registered kinds) */
  start: () => void
  /** stop claiming, abort and wait for running handlers (their jobs are claimed again later) */
  stop: () => Promise<void>
}

/** Thrown by a handler: fail the job now, without the remaining attempts. */
export class PermanentJobError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'PermanentJobError'
  }
}
