/** A real Cairn server on a loopback port with its own temporary data dir. */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { openCore, type Core } from '../../src/core/core.js'
import { buildApp } from '../../src/http/app.js'
import { buildFilesApp } from '../../src/http/files-app.js'
import { Metrics } from '../../src/http/metrics.js'

export interface TestServer {
  url: string
  /** the cookieless files origin (the IPFS gateway), on its own ephemeral port */
  filesUrl: string
  core: Core
  config: Config
  dataDir: string
  /** create an account with a ZelID and a key; returns Basic auth credentials */
  account: (opts?: { plan?: string, capacity?: number, active?: boolean }) => Promise<{ id: string, zelid: string, key: string, auth: string }>
  close: () => Promise<void>
}


let zelidCounter = 0
/** a syntactically valid, unique P2PKH-looking address for tests */
export function fakeZelid (): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let n = ++zelidCounter + Math.floor(Math.random() * 1e9)
  let s = ''
  for (let i = 0; i < 33; i++) { s += alphabet[n % alphabet.length]; n = Math.floor(n / alphabet.length) + i * 7 + 3 }
  return '1' + s
}

export async function startServer (env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-test-'))
  const config = loadConfig({ CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'silent', CAIRN_GC_INTERVAL_SECONDS: '0', ...env })
  const metrics = new Metrics()
  const core = await openCore(config, { bytesIn: n => { metrics.bytesIn.inc(n) }, gc: r => { metrics.recordGc(r) } })
  const { app } = await buildApp(core, metrics, { logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const files = await buildFilesApp(core, metrics, { logger: false })
  // a test that needs the files origin's public URL to be where it listens passes CAIRN_FILES_PORT (a free port)
  await files.listen({ host: '127.0.0.1', port: Number(env.CAIRN_FILES_PORT ?? 0) })
  if (config.jobConcurrency > 0) core.jobs.start() // as `cairn serve` does
  const addr = app.server.address()
  const filesAddr = files.server.address()
  if (addr === null || typeof addr !== 'object' || filesAddr === null || typeof filesAddr !== 'object') throw new Error('no address')
  return {
    url: `http://127.0.0.1:${addr.port}`,
    filesUrl: `http://127.0.0.1:${filesAddr.port}`,
    core,
    config,
    dataDir,
    account: async (opts = {}) => {
      const zelid = fakeZelid()
      const a = await core.accounts.create({ plan: opts.plan ?? 'STARTER', zelid, capacityBytes: opts.capacity, active: opts.active })
      const { key } = await core.accounts.createKey(a.id)
      return { id: a.id, zelid, key, auth: 'Basic ' + Buffer.from(`${zelid}:${key}`).toString('base64') }
    },
    close: async () => {
      await app.close()
      await files.close()
      await core.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/** The pack files a server keeps under `dataDir` (the filesystem blob store), by name; none when it has no packs dir. */
export async function packFiles (dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'blobs', 'packs')
  const out: string[] = []
  for (const shard of await readdir(dir).catch(() => [] as string[])) out.push(...(await readdir(join(dir, shard))))
  return out
}
