/**
 * Rate limits held in Redis: two API nodes on one PostgreSQL and one Redis count a client's
 * burst once, whichever node each request reaches; a Redis that is down makes the limited
 * calls fail with 503 (never 500, never a hang) and /healthz says which dependency is down.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { serviceOrSkip } from './helpers/services.js'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL (for Redis limits across nodes)')
const redisUrl = serviceOrSkip('CAIRN_TEST_REDIS_URL', 'Redis limits across nodes')

describe('rate limits across two nodes', { skip: pgUrl === undefined || redisUrl === undefined }, () => {
  let dbs: PgDatabases
  let dbName: string
  let nodes: TestServer[]
  const LIMIT = 6
  before(async () => {
    dbs = pgDatabases(pgUrl as string)
    const db = await dbs.fresh()
    dbName = db.name
    const env = { CAIRN_DATABASE_URL: db.url, CAIRN_REDIS_URL: redisUrl as string, CAIRN_READ_PER_SECOND: String(LIMIT) }
    nodes = [await startServer(env), await startServer(env)]
  })
  after(async () => {
    for (const n of nodes ?? []) await n.close()
    await dbs.drop(dbName)
    await dbs.end()
  })

  test('requests alternating between the nodes are limited once, not once per node', async () => {
    const a = await nodes[0].account()
    // sequential, so that the count does not depend on how a burst lands in the 1 s windows
    const statuses: number[] = []
    for (let i = 0; i < 4 * LIMIT && !statuses.includes(429); i++) {
      statuses.push((await post(`${nodes[i % 2].url}/api/v0/ls`, a.auth)).status)
    }
    const ok = statuses.filter(s => s === 200).length
    assert.equal(statuses.at(-1), 429, `no 429 in ${statuses.length} requests`)
    assert.equal(ok, statuses.length - 1)
    // per-node counters would allow 2 x LIMIT; a window sliding meanwhile may allow one more
    assert.ok(ok >= LIMIT && ok <= LIMIT + 1, `${ok} allowed across two nodes for a limit of ${LIMIT}`)
  })

  test('a 429 from either node carries Retry-After', async () => {
    const a = await nodes[0].account()
    for (let i = 0; i < LIMIT; i++) await post(`${nodes[0].url}/api/v0/ls`, a.auth)
    const r = await post(`${nodes[1].url}/api/v0/ls`, a.auth)
    assert.equal(r.status, 429)
    assert.ok(Number(r.headers.get('retry-after')) >= 1)
  })

  test('/healthz reports each dependency', async () => {
    const h = await json(await fetch(`${nodes[1].url}/healthz`))
    assert.equal(h.status, 'ok')
    assert.equal(h.dependencies.metadata.ok, true)
    assert.equal(h.dependencies.metadata.kind, 'postgres')
    assert.equal(h.dependencies.rateLimits.kind, 'redis')
    assert.equal(h.dependencies.rateLimits.ok, true)
  })
})

describe('Redis down', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_REDIS_URL: 'redis://127.0.0.1:1' }) })
  after(async () => { await s.close() })

  test('limited calls answer 503 in the dialect\'s envelope, and /healthz names Redis', async () => {
    const a = await s.account()
    const put = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'a.txt', data: 'hello' }]))
    assert.equal(put.status, 503)
    assert.equal(typeof (await json(put)).error, 'string')
    const h = await fetch(`${s.url}/healthz`)
    assert.equal(h.status, 503)
    const body = await json(h)
    assert.equal(body.dependencies.rateLimits.ok, false)
    assert.equal(body.dependencies.metadata.ok, true)
  })
})
