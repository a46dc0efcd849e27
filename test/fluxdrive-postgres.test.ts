/**
 * FluxDrive on PostgreSQL, where commits run side by side: concurrent uploads of the same
 * bytes, into the same new folder, and against the same quota must all come out right.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { serviceOrSkip } from './helpers/services.js'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { packFiles, startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL FluxDrive')

describe('FluxDrive on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let dbs: PgDatabases
  let s: TestServer
  let dbName: string
  before(async () => {
    dbs = pgDatabases(pgUrl as string)
    const db = await dbs.fresh()
    dbName = db.name
    s = await startServer({ CAIRN_DATABASE_URL: db.url })
  })
  after(async () => {
    await s.close()
    await dbs.drop(dbName)
    await dbs.end()
  })

  test('the same new bytes uploaded concurrently by several accounts are stored once', async () => {
    const accounts = await Promise.all([1, 2, 3].map(async () => await s.account()))
    const data = randomBytes(200_000)
    const results = await Promise.all(accounts.flatMap(a => [1, 2, 3].map(async i =>
      await post(`${s.url}/api/v0/put`, a.auth, form([{ name: `same-${i}.bin`, data }], { path: 'new/folder' })))))
    assert.deepEqual(results.map(r => r.status), results.map(() => 200))
    const hashes = new Set(await Promise.all(results.map(async r => (await json(r)).files[0].hash)))
    assert.equal(hashes.size, 1)
    const packs = await s.core.metadata.db.selectFrom('packs').select('id').where('root_cid', '=', [...hashes][0]).execute()
    assert.equal(packs.length, 1)
    assert.equal((await packFiles(s.dataDir)).length, 1, 'redundant packs were deleted')
    for (const a of accounts) {
      const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth, { currentFolder: 'new/folder' }))
      assert.equal(ls.total_files, 3)
      assert.equal((await json(await post(`${s.url}/api/v0/status`, a.auth))).result.storage_used, 200_000)
    }
  })

  test('concurrent uploads cannot jointly exceed the quota', async () => {
    const a = await s.account({ capacity: 250_000 })
    const all = await Promise.all([1, 2, 3, 4, 5].map(async i => await post(`${s.url}/api/v0/put`, a.auth, form([{ name: `q${i}`, data: randomBytes(100_000) }]))))
    assert.equal(all.filter(r => r.status === 200).length, 2)
    assert.ok(all.filter(r => r.status !== 200).every(r => r.status === 413))
    assert.equal((await json(await post(`${s.url}/api/v0/status`, a.auth))).result.storage_used, 200_000)
  })

  test('the server keeps serving after PostgreSQL drops its connections', async () => {
    const a = await s.account()
    await dbs.terminate(dbName)
    // the pool notices a dead connection on its next use; one failed request at most
    let ok = false
    for (let i = 0; i < 5 && !ok; i++) ok = (await post(`${s.url}/api/v0/status`, a.auth)).status === 200
    assert.ok(ok)
  })
})
