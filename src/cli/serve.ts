/** `cairn serve`: open the core, print the URL (and on first start an admin key), serve until a signal. */
import type { Config } from '../config.js'
import { openCore } from '../core/core.js'
import { buildApp } from '../http/app.js'
import { buildFilesApp } from '../http/files-app.js'
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
  const files = await buildFilesApp(core, metrics)
  log = app.log
  // the embedded blob store belongs to this one server: nothing is in flight yet
  const recovered = await core.recoverLeftovers()
  if (recovered.orphanPacksDeleted + recovered.incompleteSwept > 0) app.log.info({ recovered }, 'removed leftovers of interrupted uploads')
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
    `  data: ${config.dataDir} (${core.metadata.dialect})`
  ]
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

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    if (gcTimer !== undefined) clearInterval(gcTimer)
    Promise.all([app.close(), files.close()]).then(async () => { await core.close() }).then(() => process.exit(0), err => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.once('SIGINT', () => { stop('SIGINT') })
}
