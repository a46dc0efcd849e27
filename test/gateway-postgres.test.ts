/**
 * The gateway API on PostgreSQL: registration races, search with LIKE metacharacters,
 * pins and the collector, tasks, and renewal codes, all on the same queries as SQLite.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { serviceOrSkip } from './helpers/services.js'
import { serverOnFreshDatabase } from './helpers/pg.js'
import { type TestServer } from './helpers/server.js'
import { json } from './helpers/http.js'
import { call, codeIn, eventually, expectError, freshEmail, outbox, PASSWORD, register, settledTask, upload } from './helpers/gateway.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL gateway')

describe('IPFS Gateway API on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let s!: TestServer
  serverOnFreshDatabase(pgUrl as string, {
      CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0',
      CAIRN_GATEWAY_CALLS_PER_HOUR: '0',
      CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '1',
      CAIRN_GC_GRACE_SECONDS: '0'
    }, server => { s = server })

  test('concurrent registrations of one email: exactly one 201, the others 409', async () => {
    const email = freshEmail()
    const results = await Promise.all([1, 2, 3, 4].map(async () => await call(s.url, 'POST', '/users/register', { json: { email, password: PASSWORD } })))
    assert.deepEqual(results.map(r => r.status).sort(), [201, 409, 409, 409])
  })

  test('search, pins with the collector, a bulk-delete task and a renewal', async () => {
    const u = await register(s.url)
    const a = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('100%_done.txt', 'percent') }))
    await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('1000 done.txt', 'other') })
    const found = await json(await call(s.url, 'GET', `/files?search=${encodeURIComponent('0%_D')}`, { key: u.key }))
    assert.deepEqual(found.data.map((f: any) => f.original_filename), ['100%_done.txt'])

    assert.equal((await call(s.url, 'POST', `/files/${a.data.cid}/unpin`, { key: u.key })).status, 200)
    await s.core.gc()
    await expectError(await call(s.url, 'GET', `/files/retrieve/${a.data.cid}`, { key: u.key }), 404)
    await expectError(await call(s.url, 'POST', `/files/${a.data.cid}/pin`, { key: u.key }), 422)

    const all = (await json(await call(s.url, 'GET', '/files', { key: u.key }))).data.map((f: any) => f.cid)
    const started = await json(await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: all } }))
    const done = await settledTask(s.url, u.key, started.data.task_id)
    assert.deepEqual([done.state, done.result.deleted], ['SUCCESS', 2])

    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const mail = await eventually('the mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${u.email}`)))
    const renewed = await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: codeIn(mail) } })
    assert.equal(renewed.status, 200)
    await expectError(await call(s.url, 'GET', '/files', { key: u.key }), 403)
  })
})
