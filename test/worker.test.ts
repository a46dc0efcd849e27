/**
 * Roles: API nodes with CAIRN_SERVE_WORKER=false never collect garbage themselves; a separate
 * `cairn worker` on the same stores does, and stops cleanly on SIGTERM.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serviceOrSkip } from './helpers/services.js'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { cli, kill9, serveProcess, workerProcess, type ServerProcess } from './helpers/process.js'
import { fakeZelid } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL (serve and worker roles)')

describe('serve and worker roles', { skip: pgUrl === undefined }, () => {
  let dbs: PgDatabases
  let dbName: string
  let dataDir: string
  let env: Record<string, string>
  let api: ServerProcess
  before(async () => {
    dbs = pgDatabases(pgUrl as string)
    const db = await dbs.fresh()
    dbName = db.name
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-roles-'))
    env = { CAIRN_DATABASE_URL: db.url, CAIRN_GC_GRACE_SECONDS: '0', CAIRN_GC_INTERVAL_SECONDS: '1' }
    api = await serveProcess(dataDir, { ...env, CAIRN_SERVE_WORKER: 'false' })
  })
  after(async () => {
    await kill9(api)
    await dbs.drop(dbName)
    await dbs.end()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('an API-only node leaves removed content for the worker, which frees it', async () => {
    const zelid = fakeZelid()
    const made = cli(dataDir, ['account', 'create', '--zelid', zelid, '--json'], env)
    assert.equal(made.status, 0, made.stderr)
    const auth = 'Basic ' + Buffer.from(`${zelid}:${String(JSON.parse(made.stdout).api_key)}`).toString('base64')
    const up = await post(`${api.url}/api/v0/put`, auth, form([{ name: 'gone-soon.bin', data: randomBytes(300_000) }]))
    assert.equal(up.status, 200)
    const hash = (await json(up)).files[0].hash
    assert.equal((await post(`${api.url}/api/v0/rm?arg=${hash}`, auth)).status, 200)

    const packsNow = (): number => JSON.parse(cli(dataDir, ['fsck', '--json'], env).stdout).packs
    // three GC intervals pass on the API node: it collects nothing
    await new Promise(resolve => setTimeout(resolve, 3000))
    assert.equal(packsNow(), 1)

    const w = await workerProcess(dataDir, env)
    try {
      const deadline = Date.now() + 15_000
      while (packsNow() !== 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 300))
      assert.equal(packsNow(), 0, 'the worker collected the released content')
      const exited = new Promise(resolve => w.child.once('exit', resolve))
      w.child.kill('SIGTERM')
      assert.equal(await exited, 0)
    } finally {
      await kill9(w)
    }
  })
})
