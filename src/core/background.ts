/**
 * The worker's duties: running jobs (tasks, mail, ...) and, on timers, the garbage collector,
 * the hourly prune of finished jobs older than CAIRN_JOB_RETENTION_DAYS,
 * and the sweep of what uploads that never committed left behind. `cairn serve` runs them in-process by default (one embedded
 * node does everything); in a deployment of many nodes the API nodes run with
 * CAIRN_SERVE_WORKER=false and one or more `cairn worker` processes run them instead.
 *
 * Leftovers: on the embedded store (SQLite and files: one host, one server) nothing is in
 * flight at start-up and `recoverLeftovers` sweeps everything then. With shared stores
 * (PostgreSQL, or an S3 bucket) another node's upload may be streaming right now, so only
 * leftovers older than CAIRN_LEFTOVER_AGE_SECONDS (longer than any upload takes) are swept,
 * periodically.
 */
import type { Core } from './core.js'

export interface DutyLog {
  info: (o: object, msg: string) => void
  error: (o: object, msg: string) => void
}

export interface BackgroundDuties { stop: () => Promise<void> }

export function startBackgroundDuties (core: Core, log: DutyLog): BackgroundDuties {
  const { config } = core
  const timers: NodeJS.Timeout[] = []
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  // one duty at a time, and none after stop(): a GC and a sweep never race each other here
  const every = (seconds: number, name: string, run: () => Promise<object>): void => {
    if (seconds <= 0) return
    const t = setInterval(() => {
      if (stopped) return
      running = running.then(async () => {
        if (stopped) return
        try {
          const report = await run()
          log.info({ [name]: report }, name)
        } catch (err) {
          log.error({ err }, `${name} failed`)
        }
      })
    }, seconds * 1000)
    t.unref()
    timers.push(t)
  }
  // jobs of every kind this process registered; CAIRN_JOB_CONCURRENCY=0 turns them off here
  if (config.jobConcurrency > 0) core.jobs.start()
  every(config.gcIntervalSeconds, 'gc', async () => await core.gc())
  if (config.jobRetentionDays > 0) {
    every(3600, 'job prune', async () => ({ deleted: await core.jobs.prune(Date.now() - config.jobRetentionDays * 86_400_000) }))
  }
  if (core.metadata.dialect !== 'sqlite' || config.s3 !== undefined) {
    every(Math.max(60, Math.floor(config.leftoverAgeSeconds / 4)), 'leftover sweep', async () => await core.sweepLeftovers(config.leftoverAgeSeconds * 1000))
  }
  return {
    stop: async () => {
      stopped = true
      for (const t of timers) clearInterval(t)
      await core.jobs.stop()
      await running
    }
  }
}
