/** `cairn serve`: open the core, print the URL (and on first start an admin key), serve until a signal. */
import type { Config } from '../config.js'
import { openCore } from '../core/core.js'
import { buildApp } from '../http/app.js'
import { Metrics } from '../http/metrics.js'

export async function serve (config: Config): Promise<void> {
  const metrics = new Metrics()
  let log: { warn: (o: object, msg: string) => void } | undefined
  const core = await openCore(config, {
    bytesIn: n => { metrics.bytesIn.inc(n) },
    gc: r => { metrics.recordGc(r) },
    dbError: err => { log?.warn({ err }, 'database connection lost; the pool reconnects') }
  })
  const { app } = await buildApp(core, metrics)
  log = app.log
  // the embedded blob store belongs to this one server: nothing is in flight yet
  const recovered = await core.recoverLeftovers()
  if (recovered.orphanPacksDeleted + recovered.incompleteSwept > 0) app.log.info({ recovered }, 'removed leftovers of interrupted uploads')
  const bootstrap = await core.accounts.bootstrapAdmin()
  await app.listen({ host: config.host, port: config.port })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  // one write, so whoever reads the banner sees it whole
  const lines = [`Cairn is listening on http://${host}:${port}`, `  data: ${config.dataDir} (${core.metadata.dialect})`]
  if (bootstrap !== undefined) {
    lines.push(`  first start: admin account ${bootstrap.account.id}`)
    lines.push(`  admin API key (shown once, store it now): ${bootstrap.key}`)
  }
  process.stdout.write(lines.join('\n') + '\n')

  let gcTimer: NodeJS.Timeout | undefined
  if (config.gcIntervalSeconds > 0) {
    gcTimer = setInterval(() => {
      core.gc().then(r => { app.log.info({ gc: r }, 'garbage collection') }, err => { app.log.error({ err }, 'garbage collection failed') })
    }, config.gcIntervalSeconds * 1000)
    gcTimer.unref()
  }

  // unfinished uploads of expired upload sessions (and stray part files) are swept
  let sweepTimer: NodeJS.Timeout | undefined
  if (config.uploads.sweepIntervalSeconds > 0) {
    sweepTimer = setInterval(() => {
      core.buckets.sweep().then(r => {
        if (r.uploadsRemoved + r.orphanPartDirs > 0) app.log.info({ sweep: r }, 'swept abandoned bucket uploads')
      }, err => { app.log.error({ err }, 'sweeping abandoned bucket uploads failed') })
    }, config.uploads.sweepIntervalSeconds * 1000)
    sweepTimer.unref()
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    if (gcTimer !== undefined) clearInterval(gcTimer)
    if (sweepTimer !== undefined) clearInterval(sweepTimer)
    app.close().then(async () => { await core.close() }).then(() => process.exit(0), err => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.once('SIGINT', () => { stop('SIGINT') })
}
