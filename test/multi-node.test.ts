/**
 * Many stateless nodes: two API processes (each with its own empty data dir: they keep no
 * state) and one worker, on PostgreSQL, Swift's S3 and Redis, behind nginx on loopback.
 * Uploads go through one node; reads, deletes and rate-limited bursts through the other and
 * through the balancer; the worker collects garbage every second with no grace period while
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
const READ_LIMIT = 8

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
      CAIRN_READ_PER_SECOND: String(READ_LIMIT),
      CAIRN_GC_GRACE_SECONDS: '0',
      CAIRN_GC_INTERVAL_SECONDS: '1'
    }
    // started together: the migrations run once
    ;[a, b] = await Promise.all([
      serveProcess(await dir(), { ...env, CAIRN_SERVE_WORKER: 'false' }),
      serveProcess(await dir(), { ...env, CAIRN_SERVE_WORKER: 'false' })
    ])
    worker = await workerProcess(await dir(), env)
    lb = await startLoadBalancer(await dir(), [a.url, b.url])
    const zelid = fakeZelid()
    const made = cli(await dir(), ['account', 'create', '--plan', 'STARTER', '--zelid', zelid, '--json'], env)
    assert.equal(made.status, 0, made.stderr)
    auth = 'Basic ' + Buffer.from(`${zelid}:${String(JSON.parse(made.stdout).api_key)}`).toString('base64')
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
    await new Promise(resolve => setTimeout(resolve, 2100)) // two windows: nothing earlier still counts
    const statuses: number[] = []
    for (let i = 0; i < 4 * READ_LIMIT && !statuses.includes(429); i++) statuses.push((await post(`${lb.url}/api/v0/ls`, auth)).status)
    const ok = statuses.filter(s => s === 200).length
    assert.equal(statuses.at(-1), 429, `no 429 in ${statuses.length} requests`)
    assert.ok(ok >= READ_LIMIT - 1 && ok <= READ_LIMIT + 1, `${ok} allowed for a limit of ${READ_LIMIT} per second`)
  })

  test('GC every second with no grace, while both nodes store and remove the same bytes, loses nothing referenced', async () => {
    const data = randomBytes(700_000)
    let last = ''
    for (let round = 0; round < 6; round++) {
      // node a stores it while node b removes it, over and over; the worker collects meanwhile
      const [up] = await Promise.all([
        post(`${a.url}/api/v0/put`, auth, form([{ name: `same-${round}.bin`, data }])),
        last === '' ? Promise.resolve() : post(`${b.url}/api/v0/rm?arg=${last}`, auth)
      ])
      assert.equal(up.status, 200)
      last = (await json(up)).files[0].hash
      await new Promise(resolve => setTimeout(resolve, 400))
    }
    // whatever survived in the listing reads whole through both nodes, after more GC runs
    await new Promise(resolve => setTimeout(resolve, 2500))
    const listed = (await json(await post(`${b.url}/api/v0/ls`, auth))).files.filter((f: { hash: string }) => f.hash === last)
    assert.ok(listed.length >= 1, 'the last upload is listed')
    for (const base of [a.url, b.url]) {
      const r = await post(`${base}/api/v0/cat?arg=${last}`, auth)
      assert.equal(r.status, 200)
      assert.equal(sha(Buffer.from(await r.arrayBuffer())), sha(data))
    }
    const check = cli(await dir(), ['fsck', '--json'], env)
    assert.equal(check.status, 0, check.stdout + check.stderr)
    assert.deepEqual(JSON.parse(check.stdout).problems, [])
  })
})
