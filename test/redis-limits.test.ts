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
    const env = { CAIRN_DATABASE_URL: db.url, CAIRN_REDIS_URL: redisUrl as string, CAIRN_REDIS_PREFIX: `cairn-test:${db.name}:`, CAIRN_GATEWAY_CALLS_PER_HOUR: String(LIMIT) }
    nodes = [await startServer(env), await startServer(env)]
  })
  after(async () => {
    for (const n of nodes ?? []) await n.close()
    await dbs.drop(dbName)
    await dbs.end()
  })

  const register = async (): Promise<string> => {
    const reg = await post(`${nodes[0].url}/api/v1/users/register`, undefined, { email: `rl-${Date.now()}-${Math.random()}@example.com`, password: 'a long enough passphrase 42' })
    assert.equal(reg.status, 201)
    return (await json(reg)).data.api_key as string
  }
  const status = async (node: TestServer, key: string): Promise<Response> => await fetch(`${node.url}/api/v1/users/status`, { headers: { 'x-api-key': key } })

  // hourly limits (the gateway API's calls per key), so that counts do not depend on timing
  test('calls alternating between the nodes are limited once, not once per node', async () => {
    const key = await register()
    const statuses: number[] = []
    for (let i = 0; i < 4 * LIMIT && !statuses.includes(429); i++) statuses.push((await status(nodes[i % 2], key)).status)
    assert.equal(statuses.at(-1), 429, `no 429 in ${statuses.length} requests`)
    // per-node counters would allow 2 x LIMIT
    assert.equal(statuses.filter(s => s === 200).length, LIMIT)
  })

  test('a 429 from the other node carries Retry-After', async () => {
    const key = await register()
    for (let i = 0; i < LIMIT; i++) assert.equal((await status(nodes[0], key)).status, 200)
    const r = await status(nodes[1], key)
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
