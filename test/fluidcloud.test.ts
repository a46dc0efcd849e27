/**
 * The FluidCloud partner API over real HTTP on loopback (SQLite, the filesystem blob store,
 * the built-in scanner): every route, scope and error, the presigned upload flow, raw links
 * on the files origin, quota, rate limits, cross-tenant probes and the test environment.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { api, defaultSpace, PREFIX, scanned, scopedKey, tenant, uploadViaTicket, type CloudTenant } from './helpers/fluidcloud.js'
import { EICAR } from '../src/adapters/scan/builtin-scanner.js'
import { CLOUD_SCOPES, type CloudScope } from '../src/core/cloud/tenants.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex')

function multipart (fields: Record<string, string>, name: string, data: Uint8Array | string, type = 'application/octet-stream'): FormData {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  fd.append('file', new Blob([data as BlobPart], { type }), name)
  return fd
}

describe('FluidCloud API', () => {
  let s: TestServer
  let A: CloudTenant
  let B: CloudTenant
  before(async () => {
    s = await startServer({ CAIRN_PLAN_ELITE_SHARE_LINKS: '2', CAIRN_CLOUD_MAX_LINK_DAYS: '30', CAIRN_CLOUD_DIRECT_UPLOAD_MAX: '1MiB' })
    A = await tenant(s)
    B = await tenant(s)
  })
  after(async () => { await s.close() })

  describe('authentication and the error shape', () => {
    test('no key, a wrong key, a revoked key and another dialect\'s key are 401 with a string detail', async () => {
      const none = await api(s, undefined, 'GET', '/spaces')
      assert.equal(none.status, 401)
      assert.equal(typeof none.body.detail, 'string')
      assert.equal((await api(s, 'fck_live_' + '0'.repeat(64), 'GET', '/spaces')).status, 401)
      assert.equal((await api(s, 'garbage', 'GET', '/spaces')).status, 401)
      const k = await s.core.cloudTenants.createKey(A.id, { label: 'to revoke' })
      assert.equal((await api(s, k.key, 'GET', '/spaces')).status, 200)
      await s.core.cloudTenants.revokeKey(k.info.id)
      assert.equal((await api(s, k.key, 'GET', '/spaces')).status, 401)
      const other = await s.account()
      assert.equal((await api(s, other.key, 'GET', '/spaces')).status, 401)
    })

    test('keys look like fck_live_/fck_test_ + 64 hex, work as X-API-Key or Bearer, and are stored only hashed', async () => {
      assert.match(A.live, /^fck_live_[0-9a-f]{64}$/)
      assert.match(A.test, /^fck_test_[0-9a-f]{64}$/)
      const bearer = await fetch(`${s.url}${PREFIX}/me`, { headers: { authorization: `Bearer ${A.live}` } })
      assert.equal(bearer.status, 200)
      const me = await bearer.json() as any
      assert.equal(me.tenant_id, A.id)
      assert.equal(me.environment, 'live')
      assert.deepEqual(me.key.scopes, [...CLOUD_SCOPES])
      const rows = await s.core.metadata.db.selectFrom('cloud_keys').select(['key_hash', 'prefix']).execute()
      assert.ok(rows.every(r => r.key_hash !== A.live && !A.live.startsWith(r.key_hash)))
      assert.ok(rows.some(r => r.key_hash === sha256(A.live)))
      assert.equal((await api(s, A.test, 'GET', '/me')).body.environment, 'test')
    })

    test('no route makes keys', async () => {
      for (const path of ['/keys', '/api-keys', '/me/keys']) assert.equal((await api(s, A.live, 'POST', path, {})).status, 404)
    })

    test('an inactive subscription is 403 feature_not_in_plan', async () => {
      const t = await tenant(s)
      await s.core.accounts.update(t.liveAccountId, { active: false })
      const r = await api(s, t.live, 'GET', '/spaces')
      assert.equal(r.status, 403)
      assert.equal(r.body.detail.error, 'feature_not_in_plan')
    })

    test('malformed JSON is 400, a failed field 422, an unknown route 404, all as {detail}', async () => {
      const bad = await fetch(`${s.url}${PREFIX}/spaces`, { method: 'POST', headers: { 'x-api-key': A.live, 'content-type': 'application/json' }, body: '{"name":' })
      assert.equal(bad.status, 400)
      assert.equal(typeof (await bad.json() as any).detail, 'string')
      const missing = await api(s, A.live, 'POST', '/spaces', {})
      assert.equal(missing.status, 422)
      assert.equal(typeof missing.body.detail, 'string')
      const extra = await api(s, A.live, 'POST', '/spaces', { name: 'x', colour: 'red' })
      assert.equal(extra.status, 422)
      const unknown = await api(s, A.live, 'GET', '/nothing-here')
      assert.equal(unknown.status, 404)
      assert.deepEqual(Object.keys(unknown.body), ['detail'])
    })
  })

  describe('scopes', () => {
    // every route with the scope it needs (ids need not exist: the scope check comes first)
    const Z = '00000000-0000-4000-8000-000000000000'
    const ROUTES: Array<[string, string, CloudScope]> = [
      ['GET', '/spaces', 'spaces:read'], ['POST', '/spaces', 'spaces:write'], ['GET', `/spaces/${Z}`, 'spaces:read'],
      ['PATCH', `/spaces/${Z}`, 'spaces:write'], ['DELETE', `/spaces/${Z}`, 'spaces:write'],
      ['POST', '/folders', 'folders:write'], ['GET', '/folders', 'folders:read'], ['GET', `/folders/${Z}`, 'folders:read'],
      ['PATCH', `/folders/${Z}`, 'folders:write'], ['DELETE', `/folders/${Z}`, 'folders:write'],
      ['POST', `/folders/${Z}/restore`, 'folders:write'], ['GET', `/folders/${Z}/stats`, 'folders:read'],
      ['GET', '/files', 'files:read'], ['GET', '/files/resolve?client_key=x', 'files:read'], ['GET', `/files/${Z}`, 'files:read'],
      ['PATCH', `/files/${Z}`, 'files:write'], ['DELETE', `/files/${Z}`, 'files:write'], ['POST', `/files/${Z}/restore`, 'files:write'],
      ['POST', '/files', 'files:write'], ['POST', '/uploads/initiate', 'files:write'], ['POST', '/uploads/complete', 'files:write'],
      ['POST', '/shares', 'shares:write'], ['GET', '/shares', 'shares:read'], ['DELETE', `/shares/${Z}`, 'shares:write'],
      ['GET', '/quota', 'quota:read'], ['DELETE', `/gdpr/files/${Z}`, 'files:write'], ['DELETE', '/gdpr/trash', 'files:write']
    ]
    test('a key without a route\'s scope gets 403 insufficient_scope naming it; with it, the scope check passes', async () => {
      for (const [method, path, scope] of ROUTES) {
        const without = await scopedKey(s, A.id, CLOUD_SCOPES.filter(x => x !== scope))
        const r = await api(s, without, method, path)
        assert.equal(r.status, 403, `${method} ${path}`)
        assert.deepEqual(r.body.detail.error, 'insufficient_scope')
        assert.deepEqual(r.body.detail.required, [scope])
        assert.deepEqual(r.body.detail.missing, [scope])
        const only = await scopedKey(s, A.id, [scope])
        const ok = await api(s, only, method, path, method === 'GET' || method === 'DELETE' ? undefined : {})
        assert.notEqual(ok.status, 403, `${method} ${path} with ${scope}`)
      }
    })
  })

  describe('spaces', () => {
    test('the first list makes "My files"; create, get, rename, list oldest first with a cursor', async () => {
      const t = await tenant(s)
      const first = await api(s, t.live, 'GET', '/spaces')
      assert.equal(first.status, 200)
      assert.equal(first.body.items.length, 1)
      assert.equal(first.body.items[0].name, 'My files')
      assert.equal(first.body.items[0].app, 'fluidcloud')
      assert.equal(first.body.items[0].tenant_id, t.id)
      assert.match(first.body.items[0].created_at, ISO)
      const made = await api(s, t.live, 'POST', '/spaces', { name: 'Reports', app: 'billing' })
      assert.equal(made.status, 201)
      assert.match(made.body.id, UUID)
      assert.equal(made.body.app, 'billing')
      assert.equal((await api(s, t.live, 'GET', `/spaces/${made.body.id}`)).body.name, 'Reports')
      const renamed = await api(s, t.live, 'PATCH', `/spaces/${made.body.id}`, { name: 'Quarterly reports' })
      assert.equal(renamed.status, 200)
      assert.equal(renamed.body.name, 'Quarterly reports')
      await api(s, t.live, 'POST', '/spaces', { name: 'Third' })
      const p1 = await api(s, t.live, 'GET', '/spaces?limit=2')
      assert.deepEqual(p1.body.items.map((x: any) => x.name), ['My files', 'Quarterly reports'])
      assert.equal(typeof p1.body.next_cursor, 'string')
      const p2 = await api(s, t.live, 'GET', `/spaces?limit=2&cursor=${p1.body.next_cursor as string}`)
      assert.deepEqual(p2.body.items.map((x: any) => x.name), ['Third'])
      assert.equal(p2.body.next_cursor, null)
      assert.equal((await api(s, t.live, 'GET', '/spaces?cursor=bogus')).status, 422)
      assert.equal((await api(s, t.live, 'POST', '/spaces', { name: '' })).status, 422)
      assert.equal((await api(s, t.live, 'GET', '/spaces/not-an-id')).status, 404)
    })

    test('delete is refused while not empty (409) unless forced; forced deletion frees the bytes', async () => {
      const t = await tenant(s)
      const sp = (await api(s, t.live, 'POST', '/spaces', { name: 'Doomed' })).body.id
      const empty = (await api(s, t.live, 'POST', '/spaces', { name: 'Empty' })).body.id
      assert.equal((await api(s, t.live, 'DELETE', `/spaces/${empty}`)).status, 204)
      assert.equal((await api(s, t.live, 'GET', `/spaces/${empty}`)).status, 404)
      const f = await uploadViaTicket(s, t.live, sp, 'a.bin', deterministicBytes(1000, 'doomed'))
      const used = (await api(s, t.live, 'GET', '/quota')).body.bytes_used
      assert.equal(used, 1000)
      const refused = await api(s, t.live, 'DELETE', `/spaces/${sp}`)
      assert.equal(refused.status, 409)
      assert.equal((await api(s, t.live, 'DELETE', `/spaces/${sp}?force=true`)).status, 204)
      assert.equal((await api(s, t.live, 'GET', `/files/${f.id as string}`)).status, 404)
      assert.equal((await api(s, t.live, 'GET', '/quota')).body.bytes_used, 0)
    })
  })

  describe('folders', () => {
    test('a tree of any depth: create, list children, move (no cycles), rename, stats', async () => {
      const sp = (await api(s, A.live, 'POST', '/spaces', { name: 'Tree' })).body.id
      let parent: string | null = null
      const chain: string[] = []
      for (let i = 0; i < 6; i++) {
        const r = await api(s, A.live, 'POST', '/folders', { space_id: sp, parent_id: parent, name: `level-${i}` })
        assert.equal(r.status, 201)
        assert.equal(r.body.parent_id, parent)
        assert.equal(r.body.space_id, sp)
        chain.push(r.body.id)
        parent = r.body.id
      }
      const root = await api(s, A.live, 'GET', `/folders?space_id=${sp as string}`)
      assert.deepEqual(root.body.items.map((f: any) => f.name), ['level-0'])
      const kids = await api(s, A.live, 'GET', `/folders?parent_id=${chain[2]}`)
      assert.deepEqual(kids.body.items.map((f: any) => f.id), [chain[3]])
      // into itself or a descendant: 422
      assert.equal((await api(s, A.live, 'PATCH', `/folders/${chain[1]}`, { parent_id: chain[4] })).status, 422)
      assert.equal((await api(s, A.live, 'PATCH', `/folders/${chain[1]}`, { parent_id: chain[1] })).status, 422)
      const moved = await api(s, A.live, 'PATCH', `/folders/${chain[4]}`, { parent_id: null, name: 'lifted' })
      assert.equal(moved.status, 200)
      assert.equal(moved.body.parent_id, null)
      assert.equal(moved.body.name, 'lifted')
      for (const bad of ['a/b', '..', 'x\\y', '']) assert.equal((await api(s, A.live, 'POST', '/folders', { space_id: sp, name: bad })).status, 422, bad)
      // a parent in another space
      const other = (await api(s, A.live, 'POST', '/spaces', { name: 'Other' })).body.id
      assert.equal((await api(s, A.live, 'POST', '/folders', { space_id: other, parent_id: chain[0], name: 'x' })).status, 422)
      await uploadViaTicket(s, A.live, sp, 'deep.txt', Buffer.from('deep file'), { folder_id: chain[5] })
      await uploadViaTicket(s, A.live, sp, 'top.txt', Buffer.from('top!'), { folder_id: chain[0] })
      const stats = await api(s, A.live, 'GET', `/folders/${chain[0]}/stats`)
      assert.deepEqual(stats.body, { folder_id: chain[0], folders: 3, files: 1, bytes: 4 })
      const liftedStats = await api(s, A.live, 'GET', `/folders/${chain[4]}/stats`)
      assert.deepEqual(liftedStats.body, { folder_id: chain[4], folders: 1, files: 1, bytes: 9 })
    })

    test('delete puts a folder in Trash with everything in it; restore brings back exactly that', async () => {
      const sp = (await api(s, A.live, 'POST', '/spaces', { name: 'Trashy' })).body.id
      const top = (await api(s, A.live, 'POST', '/folders', { space_id: sp, name: 'top' })).body.id
      const sub = (await api(s, A.live, 'POST', '/folders', { space_id: sp, parent_id: top, name: 'sub' })).body.id
      const f1 = await uploadViaTicket(s, A.live, sp, 'in-sub.txt', Buffer.from('one'), { folder_id: sub })
      const f2 = await uploadViaTicket(s, A.live, sp, 'in-top.txt', Buffer.from('two'), { folder_id: top })
      // f2 was trashed on its own before: the folder's restore leaves it in Trash
      assert.equal((await api(s, A.live, 'DELETE', `/files/${f2.id as string}`)).status, 200)
      const del = await api(s, A.live, 'DELETE', `/folders/${top}`)
      assert.equal(del.status, 200)
      assert.match(del.body.deleted_at, ISO)
      assert.equal((await api(s, A.live, 'GET', `/folders?space_id=${sp as string}`)).body.items.length, 0)
      assert.equal((await api(s, A.live, 'GET', `/files/${f1.id as string}`)).body.deleted_at !== null, true)
      const trash = await api(s, A.live, 'GET', '/folders?trashed=true')
      assert.ok(trash.body.items.some((f: any) => f.id === top))
      assert.ok(!trash.body.items.some((f: any) => f.id === sub)) // inside a trashed folder: not listed on its own
      assert.equal((await api(s, A.live, 'POST', `/folders/${sub}/restore`)).status, 409)
      assert.equal((await api(s, A.live, 'POST', '/folders', { space_id: sp, parent_id: top, name: 'x' })).status, 404)
      const back = await api(s, A.live, 'POST', `/folders/${top}/restore`)
      assert.equal(back.status, 200)
      assert.equal(back.body.deleted_at, null)
      assert.equal((await api(s, A.live, 'GET', `/folders?parent_id=${top as string}`)).body.items[0].id, sub)
      assert.equal((await api(s, A.live, 'GET', `/files/${f1.id as string}`)).body.deleted_at, null)
      assert.notEqual((await api(s, A.live, 'GET', `/files/${f2.id as string}`)).body.deleted_at, null)
    })
  })

  describe('files', () => {
    test('presigned upload on the filesystem store: initiate, PUT to the files origin, complete; the file has its CID and sha256', async () => {
      const sp = await defaultSpace(s, A.live)
      const data = deterministicBytes(300_000, 'presigned')
      const init = await api(s, A.live, 'POST', '/uploads/initiate', { name: 'photo.bin', size: data.byteLength, space_id: sp, client_key: 'results/job-7/out.png' })
      assert.equal(init.status, 201)
      assert.match(init.body.file_id, UUID)
      assert.equal(init.body.method, 'PUT')
      assert.equal(init.body.mode, 'single')
      assert.ok(init.body.upload_url.startsWith(`${s.config.filesOrigin}/uploads/${init.body.file_id as string}?expires=`), init.body.upload_url)
      assert.match(init.body.expires_at, ISO)
      // nothing exists before complete
      assert.equal((await api(s, A.live, 'GET', `/files/${init.body.file_id as string}`)).status, 404)
      const url = init.body.upload_url.replace(s.config.filesOrigin, s.filesUrl)
      // completing before the bytes arrived: 422
      assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key })).status, 422)
      // a tampered signature or id is refused
      assert.equal((await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'), { method: 'PUT', body: data as unknown as BodyInit })).status, 403)
      assert.equal((await fetch(url.replace(/&expires=\d+|expires=\d+/, 'expires=99999999999'), { method: 'PUT', body: data as unknown as BodyInit })).status, 403)
      // more bytes than declared: 413
      assert.equal((await fetch(url, { method: 'PUT', body: Buffer.concat([data, Buffer.from('x')]) as unknown as BodyInit })).status, 413)
      const put = await fetch(url, { method: 'PUT', body: data as unknown as BodyInit })
      assert.equal(put.status, 200)
      assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: 'wrong' })).status, 422)
      assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key, sha256: '0'.repeat(64) })).status, 422)
      const done = await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key, sha256: sha256(data) })
      assert.equal(done.status, 201)
      assert.equal(done.body.id, init.body.file_id)
      assert.equal(done.body.size, data.byteLength)
      assert.equal(done.body.sha256, sha256(data))
      assert.match(done.body.cid, /^bafkrei/) // one block of raw leaves (unixfs-v1-2025)
      assert.equal(done.body.scan_status, 'pending')
      assert.equal(done.body.status, 'draft')
      assert.equal(done.body.client_key, 'results/job-7/out.png')
      assert.equal(done.body.name, 'photo.bin')
      assert.equal(done.body.original_name, 'photo.bin')
      // complete again: the same file (idempotent); a PUT after completion: 404
      assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key })).body.id, done.body.id)
      assert.equal((await fetch(url, { method: 'PUT', body: data as unknown as BodyInit })).status, 404)
      const clean = await scanned(s, A.live, done.body.id)
      assert.equal(clean.scan_status, 'clean')
      assert.equal(clean.status, 'ready')
      const resolved = await api(s, A.live, 'GET', `/files/resolve?client_key=${encodeURIComponent('results/job-7/out.png')}`)
      assert.equal(resolved.body.id, done.body.id)
    })

    test('an expired upload URL is refused by the server\'s clock', async () => {
      const sp = await defaultSpace(s, A.live)
      const init = await api(s, A.live, 'POST', '/uploads/initiate', { name: 'late.bin', size: 3, space_id: sp })
      const staging = s.core.cloud.staging as any
      const past = Math.floor(Date.now() / 1000) - 5
      const url = `${s.filesUrl}/uploads/${init.body.file_id as string}?expires=${past}&sig=${await staging.signature(init.body.file_id, past) as string}`
      const r = await fetch(url, { method: 'PUT', body: 'abc' })
      assert.equal(r.status, 403)
      assert.match(await r.text(), /expired/)
    })

    test('a direct multipart upload; client_key names the newest upload; list with filters and a cursor; rename, move, trash, restore', async () => {
      const t = await tenant(s)
      const sp = await defaultSpace(s, t.live)
      const folder = (await api(s, t.live, 'POST', '/folders', { space_id: sp, name: 'docs' })).body.id
      const r1 = await api(s, t.live, 'POST', '/files', multipart({ space_id: sp, client_key: 'k/1' }, 'one.txt', 'first version', 'text/plain'))
      assert.equal(r1.status, 201)
      assert.equal(r1.body.mime, 'text/plain')
      assert.equal(r1.body.size, 13)
      const r2 = await api(s, t.live, 'POST', '/files', multipart({ space_id: sp, folder_id: folder, client_key: 'k/1' }, 'two.txt', 'second version'))
      assert.equal(r2.status, 201)
      assert.equal(r2.body.folder_id, folder)
      assert.equal((await api(s, t.live, 'GET', '/files/resolve?client_key=k/1')).body.id, r2.body.id)
      assert.equal((await api(s, t.live, 'GET', `/files/${r1.body.id as string}`)).body.client_key, null)
      assert.equal((await api(s, t.live, 'GET', '/files/resolve?client_key=nope')).status, 404)
      const r3 = await api(s, t.live, 'POST', '/files', multipart({ space_id: sp, client_key: 'other/3' }, 'three.txt', 'three'))
      // too big for a direct upload (1 MiB here)
      const big = await api(s, t.live, 'POST', '/files', multipart({ space_id: sp }, 'big.bin', deterministicBytes(1024 * 1024 + 1, 'big')))
      assert.equal(big.status, 413)
      assert.equal((await api(s, t.live, 'POST', '/files', multipart({}, 'x.txt', 'x'))).status, 404)
      const all = await api(s, t.live, 'GET', '/files?limit=2')
      assert.deepEqual(all.body.items.map((f: any) => f.id), [r1.body.id, r2.body.id])
      const next = await api(s, t.live, 'GET', `/files?limit=2&cursor=${all.body.next_cursor as string}`)
      assert.deepEqual(next.body.items.map((f: any) => f.id), [r3.body.id])
      assert.equal(next.body.next_cursor, null)
      assert.deepEqual((await api(s, t.live, 'GET', `/files?folder_id=${folder as string}`)).body.items.map((f: any) => f.id), [r2.body.id])
      assert.deepEqual((await api(s, t.live, 'GET', '/files?folder_id=root')).body.items.map((f: any) => f.id), [r1.body.id, r3.body.id])
      assert.deepEqual((await api(s, t.live, 'GET', '/files?client_key_prefix=k/')).body.items.map((f: any) => f.id), [r2.body.id])
      await scanned(s, t.live, r3.body.id)
      assert.ok((await api(s, t.live, 'GET', '/files?scan_status=clean')).body.items.some((f: any) => f.id === r3.body.id))
      assert.equal((await api(s, t.live, 'GET', '/files?scan_status=weird')).status, 422)
      const renamed = await api(s, t.live, 'PATCH', `/files/${r1.body.id as string}`, { name: 'renamed.txt', folder_id: folder })
      assert.equal(renamed.body.name, 'renamed.txt')
      assert.equal(renamed.body.folder_id, folder)
      assert.equal((await api(s, t.live, 'PATCH', `/files/${r1.body.id as string}`, { name: '../evil' })).status, 422)
      const sp2 = (await api(s, t.live, 'POST', '/spaces', { name: 'Second' })).body.id
      const moved = await api(s, t.live, 'PATCH', `/files/${r1.body.id as string}`, { space_id: sp2 })
      assert.equal(moved.body.space_id, sp2)
      assert.equal(moved.body.folder_id, null)
      // a folder of another space: 422
      assert.equal((await api(s, t.live, 'PATCH', `/files/${r1.body.id as string}`, { folder_id: folder })).status, 422)
      const trashed = await api(s, t.live, 'DELETE', `/files/${r3.body.id as string}`)
      assert.match(trashed.body.deleted_at, ISO)
      assert.ok(!(await api(s, t.live, 'GET', '/files')).body.items.some((f: any) => f.id === r3.body.id))
      assert.deepEqual((await api(s, t.live, 'GET', '/files?trashed=true')).body.items.map((f: any) => f.id), [r3.body.id])
      assert.equal((await api(s, t.live, 'GET', '/files/resolve?client_key=other/3')).status, 404)
      // still counted while in Trash
      const q = (await api(s, t.live, 'GET', '/quota')).body
      assert.equal(q.bytes_used, 13 + 14 + 5)
      assert.equal((await api(s, t.live, 'POST', `/files/${r3.body.id as string}/restore`)).body.deleted_at, null)
    })

    test('DELETE /gdpr/files erases a file: its links die, its quota returns; /gdpr/trash empties the Trash in the background', async () => {
      const t = await tenant(s)
      const sp = await defaultSpace(s, t.live)
      const f = await uploadViaTicket(s, t.live, sp, 'secret.txt', Buffer.from('erase me'))
      await scanned(s, t.live, f.id)
      const link = (await api(s, t.live, 'POST', '/shares', { file_id: f.id })).body.url.replace(s.config.filesOrigin, s.filesUrl)
      assert.equal((await fetch(link)).status, 200)
      const gone = await api(s, t.live, 'DELETE', `/gdpr/files/${f.id as string}`)
      assert.deepEqual(gone.body, { id: f.id, deleted: true })
      assert.equal((await fetch(link)).status, 404)
      assert.equal((await api(s, t.live, 'GET', `/files/${f.id as string}`)).status, 404)
      assert.equal((await api(s, t.live, 'GET', '/quota')).body.bytes_used, 0)
      assert.equal((await api(s, t.live, 'DELETE', `/gdpr/files/${f.id as string}`)).status, 404)
      const g = await uploadViaTicket(s, t.live, sp, 'old.txt', Buffer.from('old stuff'))
      await api(s, t.live, 'DELETE', `/files/${g.id as string}`)
      const job = await api(s, t.live, 'DELETE', `/gdpr/trash?space_id=${sp}`)
      assert.equal(job.status, 202)
      for (let i = 0; i < 100 && (await api(s, t.live, 'GET', `/files/${g.id as string}`)).status !== 404; i++) await new Promise(resolve => setTimeout(resolve, 50))
      assert.equal((await api(s, t.live, 'GET', `/files/${g.id as string}`)).status, 404)
      assert.equal((await api(s, t.live, 'GET', '/quota')).body.bytes_used, 0)
    })
  })

  describe('scanning', () => {
    test('the EICAR test file is quarantined by the built-in scanner: infected, not shareable (409)', async () => {
      const sp = await defaultSpace(s, A.live)
      const f = await uploadViaTicket(s, A.live, sp, 'eicar.com', Buffer.from(EICAR, 'latin1'))
      const done = await scanned(s, A.live, f.id)
      assert.equal(done.scan_status, 'infected')
      assert.equal(done.status, 'quarantined')
      const share = await api(s, A.live, 'POST', '/shares', { file_id: f.id })
      assert.equal(share.status, 409)
      assert.match(share.body.detail, /scan_status='infected'/)
    })

    test('a pending file cannot be shared (409), nor served through a link made before a rescan', async () => {
      const sp = await defaultSpace(s, A.live)
      const f = await uploadViaTicket(s, A.live, sp, 'p.txt', Buffer.from('pending for now'))
      await scanned(s, A.live, f.id)
      const link = (await api(s, A.live, 'POST', '/shares', { file_id: f.id })).body.url.replace(s.config.filesOrigin, s.filesUrl)
      await s.core.metadata.db.updateTable('cloud_files').set({ scan_status: 'pending' }).where('id', '=', f.id).execute()
      assert.equal((await api(s, A.live, 'POST', '/shares', { file_id: f.id })).status, 409)
      assert.equal((await fetch(link)).status, 409)
      await s.core.metadata.db.updateTable('cloud_files').set({ scan_status: 'clean' }).where('id', '=', f.id).execute()
      assert.equal((await fetch(link)).status, 200)
    })
  })

  describe('raw links', () => {
    let fileId: string
    let html: string
    const body = deterministicBytes(400_000, 'raw link')
    before(async () => {
      const sp = await defaultSpace(s, A.live)
      fileId = (await scanned(s, A.live, (await uploadViaTicket(s, A.live, sp, 'clip.bin', body, { mime: 'video/mp4' })).id)).id
      html = (await scanned(s, A.live, (await uploadViaTicket(s, A.live, sp, 'page.html', Buffer.from('<script>alert(document.cookie)</script>'), { mime: 'text/html' })).id)).id
    })

    test('a permanent link serves the bytes inline with Range, ETag, its type, nosniff and a sandbox CSP, from the files origin', async () => {
      const r = await api(s, A.live, 'POST', '/shares', { file_id: fileId })
      assert.equal(r.status, 201)
      assert.equal(r.body.kind, 'permanent')
      assert.equal(r.body.expires_at, null)
      assert.equal(r.body.permission, 'view')
      assert.match(r.body.url, new RegExp(`^${s.config.filesOrigin}/s/[A-Za-z0-9_-]{43}$`))
      const url = r.body.url.replace(s.config.filesOrigin, s.filesUrl)
      const res = await fetch(url, { headers: { cookie: 'session=1' } })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'video/mp4')
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/)
      assert.match(res.headers.get('content-disposition') ?? '', /^inline; filename="clip.bin"/)
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600')
      assert.equal(res.headers.get('set-cookie'), null)
      const etag = res.headers.get('etag')
      assert.equal(etag, `"${sha256(body)}"`)
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(body))
      const part = await fetch(url, { headers: { range: 'bytes=1000-1999' } })
      assert.equal(part.status, 206)
      assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${body.byteLength}`)
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(body.subarray(1000, 2000)))
      assert.equal((await fetch(url, { headers: { range: 'bytes=999999999-' } })).status, 416)
      assert.equal((await fetch(url, { headers: { 'if-none-match': etag ?? '' } })).status, 304)
      const head = await fetch(url, { method: 'HEAD' })
      assert.equal(head.headers.get('content-length'), String(body.byteLength))
      // the list never shows the URL; permanent links take no slot
      const list = await api(s, A.live, 'GET', `/shares?file_id=${fileId}`)
      assert.ok(list.body.items.some((x: any) => x.id === r.body.id && x.url === undefined))
      assert.equal((await api(s, A.live, 'GET', '/quota')).body.links_used, 0)
    })

    test('the files origin\'s /ipfs gateway does not serve FluidCloud content by CID (only its links do)', async () => {
      const f = (await api(s, A.live, 'GET', `/files/${fileId}`)).body
      assert.equal((await fetch(`${s.filesUrl}/ipfs/${f.cid as string}`)).status, 404)
      const infected = (await api(s, A.live, 'GET', '/files?scan_status=infected')).body.items
      for (const x of infected) assert.equal((await fetch(`${s.filesUrl}/ipfs/${x.cid as string}`)).status, 404)
    })

    test('HTML is served with its own type under a sandbox CSP on the cookieless origin: it can never run script', async () => {
      const r = await api(s, A.live, 'POST', '/shares', { file_id: html, expires_in_days: 1 })
      const res = await fetch(r.body.url.replace(s.config.filesOrigin, s.filesUrl))
      assert.equal(res.headers.get('content-type'), 'text/html')
      assert.match(res.headers.get('content-security-policy') ?? '', /(^|; )sandbox$/)
      assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /allow-scripts|script-src/)
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/)
      await api(s, A.live, 'DELETE', `/shares/${r.body.id as string}`)
    })

    test('an expiring link works before its expiry and is 410 after, whatever the request says; revoke kills a link', async () => {
      const r = await api(s, A.live, 'POST', '/shares', { file_id: fileId, expires_in_days: 7 })
      assert.equal(r.status, 201)
      assert.equal(r.body.kind, 'expiring')
      assert.equal(r.body.permission, 'download')
      const expires = Date.parse(r.body.expires_at)
      assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 60_000)
      const url = r.body.url.replace(s.config.filesOrigin, s.filesUrl)
      const before = await fetch(url, { headers: { range: 'bytes=0-9' } })
      assert.equal(before.status, 206)
      assert.match(before.headers.get('content-disposition') ?? '', /^attachment;/)
      assert.equal(before.headers.get('cache-control'), 'private, no-store')
      // the link's time passes (its expiry moves to a moment ago)
      await s.core.metadata.db.updateTable('cloud_shares').set({ expires_at: Date.now() - 1000 }).where('id', '=', r.body.id).execute()
      const afterRes = await fetch(url, { headers: { date: new Date(Date.now() - 86_400_000).toUTCString(), 'if-modified-since': new Date(0).toUTCString() } })
      assert.equal(afterRes.status, 410)
      const view = await api(s, A.live, 'POST', '/shares', { file_id: fileId, expires_in_days: 1, permission: 'view' })
      const vurl = view.body.url.replace(s.config.filesOrigin, s.filesUrl)
      const vres = await fetch(vurl)
      assert.match(vres.headers.get('content-disposition') ?? '', /^inline;/)
      await vres.arrayBuffer()
      const revoked = await api(s, A.live, 'DELETE', `/shares/${view.body.id as string}`)
      assert.equal(revoked.status, 200)
      assert.match(revoked.body.revoked_at, ISO)
      assert.equal((await fetch(vurl)).status, 404)
      assert.equal((await api(s, A.live, 'DELETE', `/shares/${view.body.id as string}`)).status, 404)
      assert.equal((await fetch(`${s.filesUrl}/s/${'A'.repeat(43)}`)).status, 404)
      assert.equal((await fetch(`${s.filesUrl}/s/short`)).status, 404)
    })

    test('expires_in_days is checked (1..cap); the link cap is per plan: 402 quota_exceeded, and revoking frees a slot', async () => {
      for (const bad of [0, 31, 1.5, -1]) assert.equal((await api(s, A.live, 'POST', '/shares', { file_id: fileId, expires_in_days: bad })).status, 422, String(bad))
      assert.equal((await api(s, A.live, 'POST', '/shares', { file_id: fileId, permission: 'edit' })).status, 422)
      assert.equal((await api(s, A.live, 'POST', '/shares', { file_id: '00000000-0000-4000-8000-000000000000' })).status, 404)
      const t = await tenant(s)
      const sp = await defaultSpace(s, t.live)
      const f = await scanned(s, t.live, (await uploadViaTicket(s, t.live, sp, 'c.txt', Buffer.from('cap'))).id)
      const one = await api(s, t.live, 'POST', '/shares', { file_id: f.id, expires_in_days: 1 })
      await api(s, t.live, 'POST', '/shares', { file_id: f.id, expires_in_days: 2 })
      const over = await api(s, t.live, 'POST', '/shares', { file_id: f.id, expires_in_days: 3 })
      assert.equal(over.status, 402)
      assert.equal(over.body.detail.error, 'quota_exceeded')
      // permanent links are not counted
      assert.equal((await api(s, t.live, 'POST', '/shares', { file_id: f.id })).status, 201)
      const q = (await api(s, t.live, 'GET', '/quota')).body
      assert.equal(q.links_used, 2)
      assert.equal(q.links_limit, 2)
      await api(s, t.live, 'DELETE', `/shares/${one.body.id as string}`)
      assert.equal((await api(s, t.live, 'POST', '/shares', { file_id: f.id, expires_in_days: 3 })).status, 201)
    })
  })

  describe('quota', () => {
    test('GET /quota reports storage and links with -1 for unlimited; an upload over the pool is 402 before anything is signed', async () => {
      const t = await tenant(s, { plan: 'PRO', capacity: 10_000 })
      const sp = await defaultSpace(s, t.live)
      await uploadViaTicket(s, t.live, sp, 'a.bin', deterministicBytes(6000, 'q'))
      const q = await api(s, t.live, 'GET', '/quota')
      assert.equal(q.status, 200)
      assert.equal(q.body.bytes_used, 6000)
      assert.equal(q.body.bytes_limit, 10_000)
      assert.equal(q.body.links_used, 0)
      assert.equal(q.body.links_limit, -1)
      assert.deepEqual(q.body.by_app, [{ app: 'fluidcloud', bytes: 6000, files: 1 }])
      const over = await api(s, t.live, 'POST', '/uploads/initiate', { name: 'b.bin', size: 5000, space_id: sp })
      assert.equal(over.status, 402)
      assert.equal(over.body.detail.error, 'quota_exceeded')
      assert.equal((await api(s, t.live, 'POST', '/files', multipart({ space_id: sp }, 'c.bin', deterministicBytes(5000, 'c')))).body.detail.error, 'quota_exceeded')
      // the test environment has its own pool
      assert.equal((await api(s, t.test, 'GET', '/quota')).body.bytes_used, 0)
    })
  })

  describe('isolation', () => {
    test('another tenant\'s ids are 404 on every id-taking route, and its data never shows', async () => {
      const sp = (await api(s, A.live, 'POST', '/spaces', { name: 'A private' })).body.id
      const folder = (await api(s, A.live, 'POST', '/folders', { space_id: sp, name: 'private folder' })).body.id
      const file = await scanned(s, A.live, (await uploadViaTicket(s, A.live, sp, 'private.txt', Buffer.from('A only'), { client_key: 'a-secret' })).id)
      const share = (await api(s, A.live, 'POST', '/shares', { file_id: file.id })).body.id
      const init = (await api(s, A.live, 'POST', '/uploads/initiate', { name: 'u.bin', size: 1, space_id: sp })).body
      const bSpace = await defaultSpace(s, B.live)
      const probes: Array<[string, string, unknown?]> = [
        ['GET', `/spaces/${sp as string}`], ['PATCH', `/spaces/${sp as string}`, { name: 'pwned' }], ['DELETE', `/spaces/${sp as string}?force=true`],
        ['POST', '/folders', { space_id: sp, name: 'x' }], ['GET', `/folders?space_id=${sp as string}`], ['GET', `/folders?parent_id=${folder as string}`],
        ['GET', `/folders/${folder as string}`], ['PATCH', `/folders/${folder as string}`, { name: 'pwned' }], ['DELETE', `/folders/${folder as string}`],
        ['POST', `/folders/${folder as string}/restore`], ['GET', `/folders/${folder as string}/stats`],
        ['POST', '/folders', { space_id: bSpace, parent_id: folder, name: 'x' }],
        ['GET', `/files?space_id=${sp as string}`], ['GET', `/files?folder_id=${folder as string}`],
        ['GET', `/files/${file.id as string}`], ['PATCH', `/files/${file.id as string}`, { name: 'pwned' }],
        ['PATCH', `/files/${file.id as string}`, { space_id: bSpace }], ['DELETE', `/files/${file.id as string}`],
        ['POST', `/files/${file.id as string}/restore`], ['GET', '/files/resolve?client_key=a-secret'],
        ['POST', '/uploads/initiate', { name: 'x', size: 1, space_id: sp }], ['POST', '/uploads/complete', { file_id: init.file_id, key: init.key }],
        ['POST', '/shares', { file_id: file.id }], ['GET', `/shares?file_id=${file.id as string}`], ['DELETE', `/shares/${share as string}`],
        ['DELETE', `/gdpr/files/${file.id as string}`], ['DELETE', `/gdpr/trash?space_id=${sp as string}`]
      ]
      for (const [method, path, body] of probes) {
        const r = await api(s, B.live, method, path, body)
        assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`)
        assert.equal(typeof r.body.detail, 'string')
      }
      const direct = await api(s, B.live, 'POST', '/files', multipart({ space_id: sp }, 'x.txt', 'x'))
      assert.equal(direct.status, 404)
      // B's lists show nothing of A's
      for (const path of ['/spaces', '/files', '/folders?trashed=true', '/shares', '/files?trashed=true']) {
        const r = await api(s, B.live, 'GET', path)
        assert.ok(!JSON.stringify(r.body).includes(A.id), path)
      }
      // and A's data is intact
      assert.equal((await api(s, A.live, 'GET', `/files/${file.id as string}`)).body.name, 'private.txt')
      assert.equal((await api(s, A.live, 'GET', `/spaces/${sp as string}`)).body.name, 'A private')
    })

    test('a fck_test_ key works on a separate environment: live ids are 404 there, and test data never shows live', async () => {
      const liveSpaces = (await api(s, A.live, 'GET', '/spaces')).body.items
      const testSpaces = (await api(s, A.test, 'GET', '/spaces')).body.items
      assert.equal(testSpaces.length, 1) // its own "My files"
      assert.ok(!liveSpaces.some((x: any) => x.id === testSpaces[0].id))
      assert.equal(testSpaces[0].tenant_id, A.id)
      const liveFile = (await api(s, A.live, 'GET', '/files')).body.items[0]
      assert.equal((await api(s, A.test, 'GET', `/files/${liveFile.id as string}`)).status, 404)
      assert.equal((await api(s, A.test, 'GET', `/spaces/${liveSpaces[0].id as string}`)).status, 404)
      const tf = await uploadViaTicket(s, A.test, testSpaces[0].id, 'test.txt', Buffer.from('test data'), { client_key: 'shared-key' })
      assert.equal((await api(s, A.live, 'GET', `/files/${tf.id as string}`)).status, 404)
      assert.equal((await api(s, A.live, 'GET', '/files/resolve?client_key=shared-key')).status, 404)
      assert.ok(!(await api(s, A.live, 'GET', '/files?limit=200')).body.items.some((f: any) => f.id === tf.id))
      assert.deepEqual((await api(s, A.test, 'GET', '/files')).body.items.map((f: any) => f.id), [tf.id])
    })
  })

  describe('mounting and the OpenAPI document', () => {
    test('the OpenAPI document lists every route under the prefix, with the key header', async () => {
      const res = await fetch(`${s.url}${PREFIX}/openapi.json`)
      assert.equal(res.status, 200)
      const doc = await res.json() as any
      assert.equal(doc.info.title, 'FluidCloud API')
      for (const p of ['/spaces', '/spaces/{id}', '/folders', '/folders/{id}/restore', '/folders/{id}/stats', '/files', '/files/resolve', '/files/{id}', '/uploads/initiate', '/uploads/complete', '/shares', '/shares/{id}', '/quota', '/gdpr/files/{id}', '/gdpr/trash', '/me']) {
        assert.ok(doc.paths[p] !== undefined, p)
      }
      assert.equal(doc.components.securitySchemes.apiKey.name, 'X-API-Key')
      assert.ok(doc.servers.some((x: any) => x.url === PREFIX))
      // the gateway's own document does not pick up FluidCloud's routes
      const gw = await (await fetch(`${s.url}/api/v1/openapi.json`)).json() as any
      assert.ok(!Object.keys(gw.paths).some(p => p.includes('/spaces')))
    })
  })
})

/** a raw HTTP GET with a chosen Host header (fetch does not let one set it) */
function getWithHost (base: string, path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: { host, ...headers } }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        let body: any = text
        try { body = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('FluidCloud at /api/v1 on CAIRN_CLOUD_HOST, and rate limits', () => {
  let s: TestServer
  let t: CloudTenant
  before(async () => {
    s = await startServer({
      CAIRN_CLOUD_HOST: 'api-cloud.example.test',
      CAIRN_CLOUD_PREFIX: '/fc/v1',
      CAIRN_CLOUD_REQUESTS_PER_MINUTE: '12',
      CAIRN_CLOUD_SHARES_PER_MINUTE: '2',
      CAIRN_CLOUD_UPLOADS_PER_MINUTE: '2'
    })
    t = await tenant(s)
  })
  after(async () => { await s.close() })

  test('requests for the cloud host reach FluidCloud at /api/v1; every other host keeps the IPFS Gateway API there', async () => {
    const cloud = await getWithHost(s.url, '/api/v1/spaces', 'api-cloud.example.test:443', { 'x-api-key': t.live })
    assert.equal(cloud.status, 200)
    assert.equal(cloud.body.items[0].name, 'My files')
    const doc = await getWithHost(s.url, '/api/v1/openapi.json', 'API-CLOUD.example.test')
    assert.equal(doc.body.info.title, 'FluidCloud API')
    const unknown = await getWithHost(s.url, '/api/v1/nope', 'api-cloud.example.test', { 'x-api-key': t.live })
    assert.deepEqual(Object.keys(unknown.body), ['detail'])
    // the gateway API on any other host: its own envelope, and it does not know fck_ keys
    const gw = await getWithHost(s.url, '/api/v1/files', 'localhost', { 'x-api-key': t.live })
    assert.equal(gw.status, 401)
    assert.equal(gw.body.status, 401)
    assert.equal(gw.body.detail, undefined)
    const gwUsers = await getWithHost(s.url, '/api/v1/openapi.json', 'other.example.test')
    assert.notEqual(gwUsers.body.info.title, 'FluidCloud API')
    // the prefix works on every host
    assert.equal((await api(s, t.live, 'GET', '/spaces'.replace(/^/, '')).catch(() => undefined))?.status ?? 0, 404) // PREFIX is /fc/v1 here
    const viaPrefix = await fetch(`${s.url}/fc/v1/spaces`, { headers: { 'x-api-key': t.live } })
    assert.equal(viaPrefix.status, 200)
  })

  test('per-action caps and the per-key cap answer 429 with Retry-After', async () => {
    const k = (await s.core.cloudTenants.createKey(t.id, { label: 'limited' })).key
    const sp = (await (await fetch(`${s.url}/fc/v1/spaces`, { headers: { 'x-api-key': k } })).json() as any).items[0].id
    const initiate = async (): Promise<Response> => await fetch(`${s.url}/fc/v1/uploads/initiate`, { method: 'POST', headers: { 'x-api-key': k, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'a', size: 1, space_id: sp }) })
    assert.equal((await initiate()).status, 201)
    assert.equal((await initiate()).status, 201)
    const third = await initiate()
    assert.equal(third.status, 429)
    const retry = Number(third.headers.get('retry-after'))
    assert.ok(retry >= 1 && retry <= 60)
    assert.match((await third.json() as any).detail, /^Too many requests/)
    // other routes still work until the per-key cap
    let last: Response | undefined
    for (let i = 0; i < 12; i++) {
      last = await fetch(`${s.url}/fc/v1/quota`, { headers: { 'x-api-key': k } })
      if (last.status === 429) break
    }
    assert.equal(last?.status, 429)
    assert.ok(Number(last?.headers.get('retry-after')) >= 1)
    // another key of the same tenant has its own counters
    assert.equal((await fetch(`${s.url}/fc/v1/quota`, { headers: { 'x-api-key': t.test } })).status, 200)
  })
})
