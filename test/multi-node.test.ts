/**
 * Many stateless nodes: two API processes (each with its own empty data dir: they keep no
 * state) and one worker, on PostgreSQL, Swift's S3 and Redis, behind nginx on loopback.
 * Uploads go through one node; reads, deletes and rate-limited bursts through the other and
 * through the balancer (limits counted once, in Redis); the worker collects garbage every second with no grace period while
 * both nodes write the same content, and nothing referenced is ever lost.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLoadBalancer, type Nginx } from '../bench/lib/nginx.js'
import { serviceOrSkip } from './helpers/services.js'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { freshBucket, s3ProcessEnv, s3TestEnv } from './helpers/s3.js'
import { cli, kill9, serveProcess, workerProcess, type ServerProcess } from './helpers/process.js'
import { fakeZelid } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL (multi-node)')
const redisUrl = serviceOrSkip('CAIRN_TEST_REDIS_URL', 'Redis (multi-node)')
const nginx = serviceOrSkip('CAIRN_TEST_NGINX', 'nginx load balancer (multi-node)')
const s3 = s3TestEnv()
const CALLS_PER_HOUR = 10

describe('two API nodes and a worker on PostgreSQL, S3 and Redis, behind nginx', { skip: pgUrl === undefined || redisUrl === undefined || nginx === undefined || s3 === undefined }, () => {
  let dbs: PgDatabases
  let dbName: string
  let dropBucket: () => Promise<void>
  const dirs: string[] = []
  let env: Record<string, string>
  let a: ServerProcess
  let b: ServerProcess
  let worker: ServerProcess
  let lb: Nginx
  let auth: string

  const newAccount = (): string => {
    const zelid = fakeZelid()
    const made = cli(dirs[0], ['account', 'create', '--plan', 'STARTER', '--zelid', zelid, '--json'], env)
    assert.equal(made.status, 0, made.stderr)
    return 'Basic ' + Buffer.from(`${zelid}:${String(JSON.parse(made.stdout).api_key)}`).toString('base64')
  }
  const dir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'cairn-node-')); dirs.push(d); return d }

  before(async () => {
    dbs = pgDatabases(pgUrl as string)
    const db = await dbs.fresh()
    dbName = db.name
    const bucket = await freshBucket(s3 as NonNullable<typeof s3>)
    dropBucket = bucket.drop
    env = {
      ...s3ProcessEnv(s3 as NonNullable<typeof s3>, bucket.bucket),
      CAIRN_DATABASE_URL: db.url,
      CAIRN_REDIS_URL: redisUrl as string,
      CAIRN_REDIS_PREFIX: `cairn-test:${dbName}:`,
      CAIRN_GATEWAY_CALLS_PER_HOUR: String(CALLS_PER_HOUR),
      CAIRN_GC_GRACE_SECONDS: '0',
      CAIRN_GC_INTERVAL_SECONDS: '1',
      CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '1'
    }
    // started together: the migrations run once
    ;[a, b] = await Promise.all([
      serveProcess(await dir(), { ...env, CAIRN_SERVE_WORKER: 'false' }),
      serveProcess(await dir(), { ...env, CAIRN_SERVE_WORKER: 'false' })
    ])
    worker = await workerProcess(await dir(), env)
    lb = await startLoadBalancer(await dir(), [a.url, b.url])
    auth = newAccount()
  })
  after(async () => {
    await lb?.stop()
    for (const p of [a, b, worker]) if (p !== undefined) await kill9(p)
    await dbs.drop(dbName)
    await dbs.end()
    await dropBucket()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  test('exactly one bootstrap admin key was printed by the two nodes started together', () => {
    const printed = [a, b].filter(p => /admin API key \(shown once/.test(p.stdout())).length
    assert.equal(printed, 1)
  })

  test('what one node stores, the other and the balancer serve; a delete on one is seen by all', async () => {
    const files = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}.bin`, data: randomBytes(100_000 + i * 300_000) }))
    const up = await post(`${a.url}/api/v0/put`, auth, form(files))
    assert.equal(up.status, 200)
    const hashes: string[] = (await json(up)).files.map((f: { hash: string }) => f.hash)
    for (const [i, h] of hashes.entries()) {
      for (const base of [b.url, lb.url]) {
        const r = await post(`${base}/api/v0/cat?arg=${h}`, auth)
        assert.equal(r.status, 200)
        assert.equal(sha(Buffer.from(await r.arrayBuffer())), sha(files[i].data))
      }
    }
    const ls = await json(await post(`${b.url}/api/v0/ls`, auth))
    assert.deepEqual(new Set(ls.files.map((f: { hash: string }) => f.hash)), new Set(hashes))

    assert.equal((await post(`${b.url}/api/v0/rm?arg=${hashes[0]}`, auth)).status, 200)
    assert.equal((await post(`${a.url}/api/v0/cat?arg=${hashes[0]}`, auth)).status, 404)
    assert.equal((await json(await post(`${lb.url}/api/v0/ls`, auth))).files.length, 3)
  })

  test('a client reaching both nodes through the balancer is limited once', async () => {
    // an hourly limit (the gateway API's calls per key), so the count does not depend on timing
    const reg = await post(`${lb.url}/api/v1/users/register`, undefined, { email: `limits-${Date.now()}@example.com`, password: 'a long enough passphrase 42' })
    assert.equal(reg.status, 201)
    const key = (await json(reg)).data.api_key as string
    const statuses: number[] = []
    for (let i = 0; i < 4 * CALLS_PER_HOUR && !statuses.includes(429); i++) {
      statuses.push((await fetch(`${lb.url}/api/v1/users/status`, { headers: { 'x-api-key': key } })).status)
    }
    assert.equal(statuses.at(-1), 429, `no 429 in ${statuses.length} requests`)
    // per-node counters would have let 2 x CALLS_PER_HOUR through
    assert.equal(statuses.filter(s => s === 200).length, CALLS_PER_HOUR)
  })

  test('GC every second with no grace, while both nodes store and remove the same bytes, loses nothing referenced', async () => {
    // account 1 keeps storing the bytes through node a; account 2 stores and removes the same
    // bytes through node b, so their content is released and re-referenced under the collector
    const other = newAccount()
    const data = randomBytes(700_000)
    let hash = ''
    for (let round = 0; round < 6; round++) {
      const [mine, theirs] = await Promise.all([
        post(`${a.url}/api/v0/put`, auth, form([{ name: `same-${round}.bin`, data }])),
        post(`${b.url}/api/v0/put`, other, form([{ name: 'same.bin', data }]))
      ])
      assert.equal(mine.status, 200)
      assert.equal(theirs.status, 200)
      hash = (await json(mine)).files[0].hash
      assert.equal((await post(`${b.url}/api/v0/rm?arg=${hash}`, other)).status, 200)
      await new Promise(resolve => setTimeout(resolve, 400))
    }
    // after more collector runs, what account 1 still lists reads whole through both nodes
    await new Promise(resolve => setTimeout(resolve, 2500))
    const listed = (await json(await post(`${b.url}/api/v0/ls`, auth))).files.filter((f: { hash: string }) => f.hash === hash)
    assert.equal(listed.length, 6, 'every upload of account 1 is listed')
    for (const base of [a.url, b.url]) {
      const r = await post(`${base}/api/v0/cat?arg=${hash}`, auth)
      assert.equal(r.status, 200)
      assert.equal(sha(Buffer.from(await r.arrayBuffer())), sha(data))
    }
    assert.equal((await post(`${a.url}/api/v0/cat?arg=${hash}`, other)).status, 404)
    const check = cli(await dir(), ['fsck', '--json'], env)
    assert.equal(check.status, 0, check.stdout + check.stderr)
    assert.deepEqual(JSON.parse(check.stdout).problems, [])
  })

  test('a task enqueued by an API node runs on the worker (jobs in Redis) and reads done from either node', async () => {
    const reg = await post(`${a.url}/api/v1/users/register`, undefined, { email: `multi-${Date.now()}@example.com`, password: 'a long enough passphrase 42' })
    assert.equal(reg.status, 201)
    const key = (await json(reg)).data.api_key as string
    const cids: string[] = []
    for (let i = 0; i < 3; i++) {
      const up = await fetch(`${b.url}/api/v1/files/upload`, { method: 'POST', headers: { 'x-api-key': key }, body: form([{ name: `t${i}.txt`, data: `task file ${i} ${Math.random()}` }]) })
      assert.equal(up.status, 201)
      cids.push((await json(up)).data.cid)
    }
    const del = await post(`${a.url}/api/v1/files/delete/bulk`, undefined, { cids }, { 'x-api-key': key })
    assert.equal(del.status, 202)
    const taskId = (await json(del)).data.task_id as string
    const deadline = Date.now() + 20_000
    let status: any
    for (;;) {
      status = (await json(await fetch(`${b.url}/api/v1/tasks/${taskId}/status`, { headers: { 'x-api-key': key } }))).data
      if (status.state === 'SUCCESS' || status.state === 'FAILURE' || Date.now() > deadline) break
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    assert.equal(status.state, 'SUCCESS', JSON.stringify(status))
    assert.equal(status.result.deleted, 3)
    const h = await json(await fetch(`${a.url}/healthz`))
    assert.equal(h.dependencies.jobs.kind, 'redis')
  })
})
