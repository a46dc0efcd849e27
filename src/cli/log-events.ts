/** The core's events written to a process's log: the same lines from `serve` and `worker`. */
import type { CoreEvents } from '../core/core.js'

export interface EventLog {
  info: (o: object, msg: string) => void
  warn: (o: object, msg: string) => void
}

/** `log()` is read at each event, so a logger that exists only later (Fastify's) still works */
export function loggedEvents (log: () => EventLog | undefined): Pick<CoreEvents, 'dbError' | 'mailSent' | 'jobFailed'> {
  return {
    dbError: err => { log()?.warn({ err }, 'database connection lost; the pool reconnects') },
    mailSent: (to, receipt) => { log()?.info({ to, where: receipt.where, messageId: receipt.messageId }, `mail to ${to} ${receipt.where.startsWith('smtp') ? 'sent via' : 'written to'} ${receipt.where}`) },
    jobFailed: (err, job) => { log()?.warn({ err, job: job === undefined ? undefined : { id: job.id, kind: job.kind, attempt: job.attempts, of: job.maxAttempts } }, 'job failed') }
  }
}
