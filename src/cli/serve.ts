/** `cairn serve`: open the core, print the URL (and on first start an admin key), serve until a signal. */
import { join } from 'node:path'
import type { Config } from '../config.js'
import { describeBlobStore, openCore } from '../core/core.js'
import { startBackgroundDuties } from '../core/background.js'
import { buildApp } from '../http/app.js'
import { loggedEvents, type EventLog } from './log-events.js'
import { buildFilesApp } from '../http/files-app.js'
import { Metrics } from '../http/metrics.js'

export async function serve (config: Config): Promise<void> {
  const metrics = new Metrics()
  let log: EventLog | undefined
  const core = await openCore(config, {
    bytesIn: n => { metrics.bytesIn.inc(n) },
    gc: r => { metrics.recordGc(r) },
    ...loggedEvents(() => log)
  })
  const { app } = await buildApp(core, metrics)
  const files = await buildFilesApp(core, metrics)
  log = app.log
  if (core.metadata.dialect === 'sqlite') {
    // the embedded store belongs to this one server: nothing is in flight yet
    const recovered = await core.recoverLeftovers()
    if (recovered.orphanPacksDeleted + recovered.incompleteSwept > 0) app.log.info({ recovered }, 'removed leftovers of interrupted uploads')
  }
  const bootstrap = await core.accounts.bootstrapAdmin()
  await app.listen({ host: config.host, port: config.port })
  await files.listen({ host: config.host, port: config.filesPort })
  const portOf = (a: ReturnType<typeof app.server.address>, fallback: number): number => typeof a === 'object' && a !== null ? a.port : fallback
  const port = portOf(app.server.address(), config.port)
  const filesPort = portOf(files.server.address(), config.filesPort)
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  // one write, so whoever reads the banner sees it whole
  const lines = [
    `Cairn is listening on http://${host}:${port}`,
    `  files (gateway /ipfs/, policy ${config.gatewayPolicy}) on http://${host}:${filesPort}` +
      (config.filesPort === 0 || config.filesOrigin === `http://${host}:${filesPort}` ? '' : `, public at ${config.filesOrigin}`),
    `  data: ${config.dataDir} (${core.metadata.dialect})`,
    `  blobs: ${describeBlobStore(config)}`,
    `  web app: http://${host}:${port}/ (register or sign in there)`
  ]
  if (bootstrap !== undefined) {
    lines.push(`  first start: admin account ${bootstrap.account.id}`)
    lines.push(`  admin API key (shown once, store it now): ${bootstrap.key}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  if (config.smtpUrl === undefined) app.log.info(`mail (key-renewal codes) goes to ${join(config.dataDir, 'outbox')} as .eml files; set CAIRN_SMTP_URL to send it`)

  const duties = config.serveWorker ? startBackgroundDuties(core, app.log) : undefined

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
    if (sweepTimer !== undefined) clearInterval(sweepTimer)
    Promise.all([app.close(), files.close()]).then(async () => { await duties?.stop() }).then(async () => { await core.close() }).then(() => process.exit(0), err => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.once('SIGINT', () => { stop('SIGINT') })
}
