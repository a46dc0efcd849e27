/**
 * FluidCloud on PostgreSQL, where transactions run side by side: the share-link cap under
 * concurrent mints, concurrent uploads tagged with one client_key, and the main flows.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { serviceOrSkip } from './helpers/services.js'
import { serverOnFreshDatabase } from './helpers/pg.js'
import { type TestServer } from './helpers/server.js'
import { api, defaultSpace, filesUrl, scanned, tenant, uploadViaTicket } from './helpers/fluidcloud.js'
import { EICAR } from '../src/adapters/scan/builtin-scanner.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL FluidCloud')

describe('FluidCloud on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let s!: TestServer
  serverOnFreshDatabase(pgUrl as string, { CAIRN_PLAN_ELITE_SHARE_LINKS: '3' }, server => { s = server })

  test('upload, scan, share, trash and restore, erase', async () => {
    const t = await tenant(s)
    const sp = await defaultSpace(s, t.live)
    const folder = (await api(s, t.live, 'POST', '/folders', { space_id: sp, name: 'f' })).body.id
    const f = await uploadViaTicket(s, t.live, sp, 'a.txt', Buffer.from('postgres bytes'), { folder_id: folder, client_key: 'pg/1' })
    assert.equal((await scanned(s, t.live, f.id)).scan_status, 'clean')
    const bad = await uploadViaTicket(s, t.live, sp, 'e.com', Buffer.from(EICAR, 'latin1'))
    assert.equal((await scanned(s, t.live, bad.id)).scan_status, 'infected')
    const link = await api(s, t.live, 'POST', '/shares', { file_id: f.id })
    const res = await fetch(filesUrl(s, link.body.url))
    assert.equal(await res.text(), 'postgres bytes')
    assert.equal((await api(s, t.live, 'DELETE', `/folders/${folder as string}`)).status, 200)
    assert.equal((await fetch(filesUrl(s, link.body.url))).status, 404) // in Trash: not served
    assert.equal((await api(s, t.live, 'POST', `/folders/${folder as string}/restore`)).status, 200)
    assert.equal((await fetch(filesUrl(s, link.body.url))).status, 200)
    assert.equal((await api(s, t.live, 'GET', '/files/resolve?client_key=pg/1')).body.id, f.id)
    assert.equal((await api(s, t.live, 'DELETE', `/gdpr/files/${f.id as string}`)).status, 200)
    assert.equal((await api(s, t.live, 'GET', '/quota')).body.bytes_used, 68)
  })

  test('concurrent expiring links never exceed the plan\'s cap', async () => {
    const t = await tenant(s)
    const sp = await defaultSpace(s, t.live)
    const f = await scanned(s, t.live, (await uploadViaTicket(s, t.live, sp, 'c.txt', Buffer.from('cap'))).id)
    const results = await Promise.all(Array.from({ length: 8 }, async () => await api(s, t.live, 'POST', '/shares', { file_id: f.id, expires_in_days: 1 })))
    assert.equal(results.filter(r => r.status === 201).length, 3)
    assert.ok(results.filter(r => r.status !== 201).every(r => r.status === 402 && r.body.detail.error === 'quota_exceeded'))
    assert.equal((await api(s, t.live, 'GET', '/quota')).body.links_used, 3)
  })

  test('concurrent uploads with one client_key: all stored, the key names exactly one of them', async () => {
    const t = await tenant(s)
    const sp = await defaultSpace(s, t.live)
    const files = await Promise.all([1, 2, 3, 4].map(async i => await uploadViaTicket(s, t.live, sp, `v${i}.txt`, Buffer.from(`version ${i}`), { client_key: 'same/key' })))
    const resolved = await api(s, t.live, 'GET', '/files/resolve?client_key=same/key')
    assert.ok(files.some(f => f.id === resolved.body.id))
    const tagged = (await api(s, t.live, 'GET', '/files?client_key_prefix=same/')).body.items
    assert.equal(tagged.length, 1)
    assert.equal((await api(s, t.live, 'GET', '/files')).body.items.length, 4)
  })
})
