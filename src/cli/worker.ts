/** `cairn worker`: the background duties (jobs, GC, leftover sweeps) without an HTTP API. */
import pino from 'pino'
import type { Config } from '../config.js'
import { openCore } from '../core/core.js'
import { startBackgroundDuties } from '../core/background.js'
import { loggedEvents } from './log-events.js'

export async function worker (config: Config): Promise<void> {
  const log = pino({ level: config.logLevel })
  const core = await openCore(config, {
    gc: r => { log.debug({ gc: r }, 'gc report') },
    ...loggedEvents(() => log)
  })
  if (core.metadata.dialect === 'sqlite') {
    log.warn('a separate worker is meant for shared stores (PostgreSQL); with the embedded store `cairn serve` runs these duties itself')
  }
  const duties = startBackgroundDuties(core, log)
  process.stdout.write(`Cairn worker running (${core.metadata.dialect})\n`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'worker shutting down: finishing the duty in progress')
    duties.stop().then(async () => { await core.close() }).then(() => process.exit(0), err => {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.once('SIGINT', () => { stop('SIGINT') })
}
