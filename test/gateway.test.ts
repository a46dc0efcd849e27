/**
 * The IPFS Gateway API (/api/v1) over real HTTP on loopback, called as its docs' curl lines
 * and its clients call it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { deterministicBytes } from './helpers/data.js'
import { startServer, fakeZelid, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { call, codeIn, expectError, freshEmail, outbox, PASSWORD, register, settledTask, upload, eventually } from './helpers/gateway.js'

/** CIDv1 raw sha2-256 of bytes, computed by hand (base32 of the CID bytes), not by multiformats */
function rawCidV1 (data: Uint8Array): string {
  const bytes = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), createHash('sha256').update(data).digest()])
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = 0; let value = 0; let out = 'b'
  for (const byte of bytes) {
    value = (value << 8) | byte; bits += 8
    while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

const HELLO_V0 = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

describe('IPFS Gateway API', () => {
  let s: TestServer
  before(async () => {
    s = await startServer({
      CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0',
      CAIRN_GATEWAY_UPLOADS_PER_HOUR: '0',
      CAIRN_GATEWAY_RETRIEVALS_PER_HOUR: '0',
      CAIRN_GATEWAY_CALLS_PER_HOUR: '0',
      CAIRN_GATEWAY_MAX_FILE_SIZE: '2MiB',
      CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '3',
      CAIRN_GC_GRACE_SECONDS: '0'
    })
  })
  after(async () => { await s.close() })

  test('register answers 201 with an ak_ key shown once; the key works at once', async () => {
    const email = freshEmail()
    const res = await call(s.url, 'POST', '/users/register', { json: { email, password: PASSWORD } })
    assert.equal(res.status, 201)
    const body = await json(res)
    assert.equal(body.status, 201)
    assert.equal(body.message, 'User registered successfully')
    assert.equal(body.data.email, email)
    assert.match(body.data.api_key, /^ak_[A-Za-z0-9_-]{43}$/)
    assert.match(body.data.created_at, ISO)
    const st = await json(await call(s.url, 'GET', '/users/status', { key: body.data.api_key }))
    assert.equal(st.data.email, email)
    // only its hash is stored
    const keys = await s.core.metadata.db.selectFrom('api_keys').select(['key_hash', 'prefix']).execute()
    assert.ok(keys.every(k => k.key_hash !== body.data.api_key))
    assert.ok(keys.some(k => k.key_hash === createHash('sha256').update(body.data.api_key).digest('hex')))
    // the password is stored as argon2id
    const row = await s.core.metadata.db.selectFrom('accounts').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow()
    assert.match(row.password_hash ?? '', /^\$argon2id\$/)
  })

  test('register refuses a duplicate email (409), a malformed email and weak passwords (400, saying why)', async () => {
    const { email } = await register(s.url)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: email.toUpperCase(), password: PASSWORD } }), 409, /already exists/)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: 'not-an-email', password: PASSWORD } }), 400, /Invalid email address/)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: freshEmail(), password: 'Ab1' } }), 400, /at least 8 characters/)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: freshEmail(), password: 'alllowercase' } }), 400, /mix at least two/)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: freshEmail(), password: 'password123' } }), 400, /too common/)
    await expectError(await call(s.url, 'POST', '/users/register', { json: { email: freshEmail() } }), 400, /password/)
    await expectError(await call(s.url, 'POST', '/users/register', { body: '{"email": ', headers: { 'content-type': 'application/json' } }), 400, /JSON/i)
    await expectError(await call(s.url, 'POST', '/users/register', { body: 'email=x', headers: { 'content-type': 'text/plain' } }), 400)
  })

  test('missing or unknown key is 401; a suspended account and an invalidated key are 403', async () => {
    await expectError(await call(s.url, 'GET', '/users/status'), 401, /X-API-Key/)
    await expectError(await call(s.url, 'GET', '/files', { key: 'ak_nope' }), 401, /Invalid API key/)
    await expectError(await call(s.url, 'POST', '/files/upload', { key: 'ak_nope', body: upload('a.txt', 'x') }), 401)
    const u = await register(s.url)
    const account = await s.core.accounts.findByEmail(u.email)
    assert.ok(account !== undefined)
    await s.core.accounts.update(account.id, { active: false })
    await expectError(await call(s.url, 'GET', '/files', { key: u.key }), 403, /suspended/)
    await s.core.accounts.update(account.id, { active: true })
    assert.equal((await call(s.url, 'GET', '/files', { key: u.key })).status, 200)
    const [k] = await s.core.accounts.listKeys(account.id)
    await s.core.accounts.revokeKey(k.id)
    await expectError(await call(s.url, 'GET', '/files', { key: u.key }), 403, /invalidated/)
    // Bearer works as well as X-API-Key
    const v = await register(s.url)
    assert.equal((await fetch(`${s.url}/api/v1/users/status`, { headers: { authorization: `Bearer ${v.key}` } })).status, 200)
  })

  test('upload answers 201 with a bafkrei raw CIDv1 for a small file, and the record', async () => {
    const u = await register(s.url)
    const data = 'hello world\n'
    const res = await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('report.txt', data, 'text/plain') })
    assert.equal(res.status, 201)
    const body = await json(res)
    assert.equal(body.status, 201)
    assert.equal(body.message, 'File uploaded successfully')
    assert.equal(body.data.cid, rawCidV1(Buffer.from(data)))
    assert.match(body.data.cid, /^bafkrei/)
    assert.equal(body.data.original_filename, 'report.txt')
    assert.equal(body.data.size, 12)
    assert.equal(body.data.content_type, 'text/plain')
    assert.equal(body.data.pinned, true)
    assert.match(body.data.uploaded_at, ISO)
    // a file over one 1 MiB chunk is a dag-pb CIDv1
    const big = deterministicBytes(1024 * 1024 + 1, 'gw-big')
    const b = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('big.bin', big) }))
    assert.match(b.data.cid, /^bafybei/)
    assert.equal(b.data.size, big.length)
    const st = await json(await call(s.url, 'GET', '/users/status', { key: u.key }))
    assert.deepEqual({ ...st.data, created_at: undefined }, {
      email: u.email, created_at: undefined, file_count: 2, total_size_bytes: 12 + big.length, plan: 'STARTER', capacity_bytes: 10 * 1024 ** 3, key_status: 'active'
    })
    const viaPost = await json(await call(s.url, 'POST', '/users/status', { key: u.key }))
    assert.equal(viaPost.data.file_count, 2)
  })

  test('upload errors: no file, an empty file, two files, too large (413)', async () => {
    const u = await register(s.url)
    await expectError(await call(s.url, 'POST', '/files/upload', { key: u.key, json: { file: 'x' } }), 400, /No file uploaded/)
    await expectError(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('empty.txt', '') }), 400, /empty/)
    const two = upload('a.txt', 'a')
    two.append('file', new Blob(['b']), 'b.txt')
    await expectError(await call(s.url, 'POST', '/files/upload', { key: u.key, body: two }), 400, /one file/)
    await expectError(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('huge.bin', new Uint8Array(2 * 1024 * 1024 + 1)) }), 413, /exceeds/)
    const files = await json(await call(s.url, 'GET', '/files', { key: u.key }))
    assert.equal(files.meta.total, 0, 'nothing of the refused uploads was kept')
  })

  test('retrieve streams the bytes with Content-Type, supports Range, download=1; 404 for unknown or another\'s CID', async () => {
    const u = await register(s.url)
    const other = await register(s.url)
    const data = deterministicBytes(300_000, 'gw-retrieve')
    const { data: rec } = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('photo.bin', data, 'application/pdf') }))
    const res = await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/pdf')
    assert.equal(res.headers.get('accept-ranges'), 'bytes')
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data))

    const part = await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key, headers: { range: 'bytes=1000-1999' } })
    assert.equal(part.status, 206)
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${data.length}`)
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1000, 2000)))
    const tail = await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key, headers: { range: 'bytes=-10' } })
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10)))
    await expectError(await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key, headers: { range: `bytes=${data.length}-` } }), 416, /Range/)

    const dl = await call(s.url, 'GET', `/files/retrieve/${rec.cid}?download=1`, { key: u.key })
    assert.match(dl.headers.get('content-disposition') ?? '', /^attachment; filename="photo.bin"/)
    await dl.arrayBuffer()

    await expectError(await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: other.key }), 404, /not found/i)
    await expectError(await call(s.url, 'GET', `/files/retrieve/${rawCidV1(Buffer.from('never stored'))}`, { key: u.key }), 404)
    await expectError(await call(s.url, 'GET', '/files/retrieve/not-a-cid', { key: u.key }), 400, /Invalid/)
  })

  test('list pages newest first with a total; search, pinned filter and sorting', async () => {
    const u = await register(s.url)
    const cids: string[] = []
    for (let i = 0; i < 5; i++) {
      const r = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload(`file-${i}.txt`, 'x'.repeat(i + 1)) }))
      cids.push(r.data.cid)
    }
    const all = await json(await call(s.url, 'GET', '/files', { key: u.key }))
    assert.equal(all.status, 200)
    assert.deepEqual(all.data.map((f: any) => f.original_filename), ['file-4.txt', 'file-3.txt', 'file-2.txt', 'file-1.txt', 'file-0.txt'])
    assert.deepEqual(Object.keys(all.data[0]).sort(), ['cid', 'content_type', 'id', 'original_filename', 'pinned', 'size', 'uploaded_at'])
    assert.deepEqual(all.meta, { page: 1, page_size: 50, total: 5, total_pages: 1 })

    const p2 = await json(await call(s.url, 'GET', '/files?page=2&page_size=2', { key: u.key }))
    assert.deepEqual(p2.data.map((f: any) => f.original_filename), ['file-2.txt', 'file-1.txt'])
    assert.deepEqual(p2.meta, { page: 2, page_size: 2, total: 5, total_pages: 3 })
    const p4 = await json(await call(s.url, 'GET', '/files?page=4&page_size=2', { key: u.key }))
    assert.deepEqual(p4.data, [])
    assert.equal(p4.meta.total, 5)
    assert.equal((await json(await call(s.url, 'GET', '/files?page_size=100000', { key: u.key }))).meta.page_size, 500)
    await expectError(await call(s.url, 'GET', '/files?page=0', { key: u.key }), 400, /page/)
    await expectError(await call(s.url, 'GET', '/files?sort_by=color', { key: u.key }), 400, /sort_by/)

    const bySize = await json(await call(s.url, 'GET', '/files?sort_by=size&sort_order=asc', { key: u.key }))
    assert.deepEqual(bySize.data.map((f: any) => f.size), [1, 2, 3, 4, 5])
    const found = await json(await call(s.url, 'GET', '/files?search=file-3', { key: u.key }))
    assert.deepEqual(found.data.map((f: any) => f.original_filename), ['file-3.txt'])
    const byCid = await json(await call(s.url, 'GET', `/files?search=${cids[1]}`, { key: u.key }))
    assert.deepEqual(byCid.data.map((f: any) => f.cid), [cids[1]])
    const percent = await json(await call(s.url, 'GET', '/files?search=%25', { key: u.key }))
    assert.equal(percent.meta.total, 0, 'LIKE wildcards are matched literally')

    await call(s.url, 'POST', `/files/${cids[0]}/unpin`, { key: u.key })
    const unpinned = await json(await call(s.url, 'GET', '/files?pinned=false', { key: u.key }))
    assert.deepEqual(unpinned.data.map((f: any) => f.cid), [cids[0]])
    assert.equal((await json(await call(s.url, 'GET', '/files?pinned=true', { key: u.key }))).meta.total, 4)

    const one = await json(await call(s.url, 'GET', `/files/${cids[2]}`, { key: u.key }))
    assert.equal(one.data.original_filename, 'file-2.txt')
    await expectError(await call(s.url, 'GET', `/files/${rawCidV1(Buffer.from('nope'))}`, { key: u.key }), 404)
  })

  test('delete removes a file: gone from the list and from retrieve; deleting it again is 404', async () => {
    const u = await register(s.url)
    const { data: rec } = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('gone.txt', 'bye') }))
    const res = await call(s.url, 'DELETE', `/files/${rec.cid}`, { key: u.key })
    assert.equal(res.status, 200)
    const body = await json(res)
    assert.equal(body.message, 'File deleted successfully')
    assert.equal((await json(await call(s.url, 'GET', '/files', { key: u.key }))).meta.total, 0)
    await expectError(await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key }), 404)
    await expectError(await call(s.url, 'DELETE', `/files/${rec.cid}`, { key: u.key }), 404, /not found/i)
    await expectError(await call(s.url, 'DELETE', '/files/zzz', { key: u.key }), 400)
  })

  test('bulk delete: {deleted, failed:[{cid, reason}]} at once up to the threshold, a task over it', async () => {
    const u = await register(s.url)
    const other = await register(s.url)
    const cids: string[] = []
    for (let i = 0; i < 6; i++) cids.push((await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload(`b${i}.txt`, `bulk ${i}`) }))).data.cid)
    const unknown = rawCidV1(Buffer.from('not mine'))
    const res = await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: [cids[0], 'garbage', unknown] } })
    assert.equal(res.status, 200)
    const body = await json(res)
    assert.deepEqual(body.data, { deleted: 1, failed: [{ cid: 'garbage', reason: 'Invalid CID' }, { cid: unknown, reason: 'File not found' }] })
    const clean = await json(await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: [cids[1]] } }))
    assert.deepEqual(clean, { status: 200, message: 'Files deleted successfully', data: { deleted: 1, failed: [] } })

    await expectError(await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: [] } }), 400)
    await expectError(await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: { a: 1 } } }), 400)
    await expectError(await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: {} }), 400, /cids/)

    const started = await call(s.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids: [...cids.slice(2), unknown] } })
    assert.equal(started.status, 202)
    const task = await json(started)
    assert.match(task.data.task_id, /^[0-9a-f-]{36}$/)
    assert.equal(task.data.status_url, `/api/v1/tasks/${task.data.task_id}/status`)
    const done = await settledTask(s.url, u.key, task.data.task_id)
    assert.equal(done.state, 'SUCCESS')
    assert.deepEqual(done.result, { deleted: 4, failed: [{ cid: unknown, reason: 'File not found' }] })
    assert.match(done.created_at, ISO)
    assert.match(done.completed_at, ISO)
    assert.equal((await json(await call(s.url, 'GET', '/files', { key: u.key }))).meta.total, 0)

    // another account's task, and one that does not exist, are the same 404
    await expectError(await call(s.url, 'GET', `/tasks/${task.data.task_id}/status`, { key: other.key }), 404, /Task not found/)
    await expectError(await call(s.url, 'GET', '/tasks/00000000-0000-4000-8000-000000000000/status', { key: u.key }), 404)
    await expectError(await call(s.url, 'GET', '/tasks/nonsense/status', { key: u.key }), 404)
    // the service's upload-status path answers the same
    assert.equal((await json(await call(s.url, 'GET', `/files/upload/status/${task.data.task_id}`, { key: u.key }))).data.state, 'SUCCESS')
    // a finished task cannot be revoked, nor retried when it succeeded
    await expectError(await call(s.url, 'POST', `/tasks/${task.data.task_id}/revoke`, { key: u.key }), 409)
    await expectError(await call(s.url, 'POST', `/tasks/${task.data.task_id}/retry`, { key: u.key }), 409)
    assert.deepEqual((await json(await call(s.url, 'GET', '/tasks/failed', { key: u.key }))).data, [])
  })

  test('pin and unpin: 409 when already so; an unpinned file stays listed and its content may be collected', async () => {
    const u = await register(s.url)
    const data = deterministicBytes(5000, 'gw-pin')
    const { data: rec } = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('p.bin', data) }))
    await expectError(await call(s.url, 'POST', `/files/${rec.cid}/pin`, { key: u.key }), 409, /already pinned/)
    const un = await call(s.url, 'POST', `/files/${rec.cid}/unpin`, { key: u.key })
    assert.equal(un.status, 200)
    assert.equal((await json(un)).message, 'File unpinned successfully')
    await expectError(await call(s.url, 'POST', `/files/${rec.cid}/unpin`, { key: u.key }), 409, /not pinned/)
    const listed = await json(await call(s.url, 'GET', '/files', { key: u.key }))
    assert.deepEqual(listed.data.map((f: any) => [f.cid, f.pinned]), [[rec.cid, false]])

    // pinned again before the collector ran: content kept
    const pin = await call(s.url, 'POST', `/files/pin/${rec.cid}`, { key: u.key })
    assert.equal(pin.status, 200)
    assert.equal((await json(pin)).message, 'File pinned successfully')
    await s.core.gc()
    assert.equal((await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key })).status, 200)

    // unpinned, then collected: still listed, no bytes, and pinning cannot bring it back
    assert.equal((await call(s.url, 'POST', `/files/unpin/${rec.cid}`, { key: u.key })).status, 200)
    const gc = await s.core.gc()
    assert.ok(gc.contentsFreed >= 1)
    assert.equal((await json(await call(s.url, 'GET', '/files', { key: u.key }))).data[0].pinned, false)
    await expectError(await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key }), 404)
    await expectError(await call(s.url, 'POST', `/files/${rec.cid}/pin`, { key: u.key }), 422, /garbage-collected/)
    // uploading it again brings it back, pinned
    await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('p.bin', data) })
    assert.equal((await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: u.key })).status, 200)

    await expectError(await call(s.url, 'POST', `/files/${rawCidV1(Buffer.from('x'))}/pin`, { key: u.key }), 404)
    await expectError(await call(s.url, 'POST', '/files/bad/unpin', { key: u.key }), 400)
  })

  test('an unpinned file whose content another account pins keeps its bytes', async () => {
    const a = await register(s.url)
    const b = await register(s.url)
    const data = deterministicBytes(4000, 'gw-shared')
    const { data: rec } = await json(await call(s.url, 'POST', '/files/upload', { key: a.key, body: upload('s.bin', data) }))
    await call(s.url, 'POST', '/files/upload', { key: b.key, body: upload('s.bin', data) })
    await call(s.url, 'POST', `/files/${rec.cid}/unpin`, { key: a.key })
    await s.core.gc()
    const res = await call(s.url, 'GET', `/files/retrieve/${rec.cid}`, { key: a.key })
    assert.equal(res.status, 200)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data))
  })

  test('a background pin (?async=true) runs as a task', async () => {
    const u = await register(s.url)
    const { data: rec } = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('bg.txt', 'background') }))
    const started = await call(s.url, 'POST', `/files/${rec.cid}/unpin?async=true`, { key: u.key })
    assert.equal(started.status, 202)
    const t1 = await settledTask(s.url, u.key, (await json(started)).data.task_id)
    assert.equal(t1.state, 'SUCCESS')
    assert.equal(t1.type, 'files.pin')
    assert.equal(t1.result.pinned, false)
    const again = await call(s.url, 'POST', `/files/${rec.cid}/pin?async=1`, { key: u.key })
    assert.equal(again.status, 202)
    const t2 = await settledTask(s.url, u.key, (await json(again)).data.task_id)
    assert.deepEqual([t2.state, t2.result.pinned], ['SUCCESS', true])
    assert.equal((await json(await call(s.url, 'GET', `/files/${rec.cid}`, { key: u.key }))).data.pinned, true)
    await expectError(await call(s.url, 'POST', `/files/${rec.cid}/pin?async=true`, { key: u.key }), 409)
  })

  test('one account in both dialects: FluxDrive files appear as CIDv1 here, gateway files in FluxDrive, keys work in both', async () => {
    const zelid = fakeZelid()
    const email = freshEmail()
    const account = await s.core.accounts.create({ zelid, email })
    const { key: fluxKey } = await s.core.accounts.createKey(account.id)
    const { key: akKey } = await s.core.accounts.createKey(account.id, { prefix: 'ak_', name: 'gateway' })
    assert.match(akKey, /^ak_/)
    const basic = (k: string): string => 'Basic ' + Buffer.from(`${zelid}:${k}`).toString('base64')

    const put = await json(await post(`${s.url}/api/v0/put`, basic(fluxKey), form([{ name: 'hello.txt', data: 'hello world\n' }])))
    assert.equal(put.files[0].hash, HELLO_V0)
    const listed = await json(await call(s.url, 'GET', '/files', { key: akKey }))
    const v1 = CID.parse(HELLO_V0).toV1().toString() // the same DAG, spelled as CIDv1
    assert.match(v1, /^bafybei/)
    assert.deepEqual(listed.data.map((f: any) => f.cid), [v1])
    // either spelling retrieves it, with the FluxDrive key in X-API-Key too
    for (const [cid, key] of [[v1, akKey], [HELLO_V0, fluxKey]]) {
      const r = await call(s.url, 'GET', `/files/retrieve/${cid}`, { key })
      assert.equal(await r.text(), 'hello world\n', cid)
    }
    const up = await json(await call(s.url, 'POST', '/files/upload', { key: akKey, body: upload('g.txt', 'from the gateway') }))
    const ls = await json(await post(`${s.url}/api/v0/ls`, basic(akKey)))
    assert.deepEqual(ls.files.map((f: any) => f.hash).sort(), [HELLO_V0, up.data.cid].sort())
    const cat = await post(`${s.url}/api/v0/cat?arg=${up.data.cid}`, basic(akKey))
    assert.equal(await cat.text(), 'from the gateway')
    // deleted through one dialect, gone in the other
    assert.equal((await call(s.url, 'DELETE', `/files/${v1}`, { key: akKey })).status, 200)
    assert.equal((await post(`${s.url}/api/v0/cat?arg=${HELLO_V0}`, basic(fluxKey))).status, 404)
  })

  test('an operator-made account with a ZelID and an email gets its first ak_ key by renewal; its FluxDrive key stays valid', async () => {
    const zelid = fakeZelid()
    const email = freshEmail()
    const account = await s.core.accounts.create({ zelid, email })
    const { key: fluxKey } = await s.core.accounts.createKey(account.id)
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email } })
    const mail = await eventually('the mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${email}`)))
    const res = await json(await call(s.url, 'POST', '/users/renew', { json: { email, verification_code: codeIn(mail) } }))
    const ak = res.data.api_key as string
    assert.match(ak, /^ak_/)
    const basic = (k: string): string => 'Basic ' + Buffer.from(`${zelid}:${k}`).toString('base64')
    for (const k of [fluxKey, ak]) {
      assert.equal((await post(`${s.url}/api/v0/status`, basic(k))).status, 200)
      assert.equal((await call(s.url, 'GET', '/users/status', { key: k })).status, 200)
    }
  })

  test('renewal through the outbox: emailed code gives a new key, the old one is invalidated at once; codes are single use', async () => {
    const u = await register(s.url)
    // the old key in use (so the server has it cached) right up to the renewal
    assert.equal((await call(s.url, 'GET', '/users/status', { key: u.key })).status, 200)
    const before = (await outbox(s.dataDir)).length
    const ch = await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email.toUpperCase() } })
    assert.deepEqual(await json(ch), { status: 200, message: 'Verification code sent to email' })
    const mails = await eventually('the renewal mail', async () => { const m = await outbox(s.dataDir); return m.length > before ? m : undefined })
    const mail = mails.find(m => m.includes(`To: ${u.email}`))
    assert.ok(mail !== undefined)
    assert.match(mail, /Subject: Your API key renewal code: \d{6}/)
    const code = codeIn(mail)

    const res = await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: code } })
    const body = await json(res)
    assert.equal(res.status, 200, JSON.stringify(body))
    assert.equal(body.message, 'API key renewed successfully')
    assert.match(body.data.api_key, /^ak_/)
    assert.notEqual(body.data.api_key, u.key)
    assert.equal((await call(s.url, 'GET', '/users/status', { key: body.data.api_key })).status, 200)
    await expectError(await call(s.url, 'GET', '/users/status', { key: u.key }), 403, /invalidated/)
    // single use
    await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: code } }), 401, /Invalid or expired/)
  })

  test('renewal never reveals whether an email exists; wrong codes use up the tries', async () => {
    const before = (await outbox(s.dataDir)).length
    const nobody = freshEmail()
    const ch = await call(s.url, 'POST', '/users/renew/challenge', { json: { email: nobody } })
    assert.deepEqual(await json(ch), { status: 200, message: 'Verification code sent to email' })
    const unknown = await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: nobody, verification_code: '123456' } }), 401)

    const u = await register(s.url)
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const mail = await eventually('the mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${u.email}`)))
    assert.equal((await outbox(s.dataDir)).filter(m => m.includes(`To: ${nobody}`)).length, 0, 'no mail for an unknown email')
    assert.ok((await outbox(s.dataDir)).length > before)
    const code = codeIn(mail)
    const wrong = code === '000000' ? '000001' : '000000'
    const msg = await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: wrong } }), 401)
    assert.equal(msg, unknown, 'a wrong code and an unknown email read the same')
    for (let i = 0; i < 4; i++) await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: wrong } })
    // five wrong tries: the right code no longer works
    await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: code } }), 401)
    assert.equal((await call(s.url, 'GET', '/users/status', { key: u.key })).status, 200, 'the old key still works')

    await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: '12ab' } }), 400, /6 digits/)
    await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email } }), 400, /verification_code/)
    await expectError(await call(s.url, 'POST', '/users/renew/challenge', { json: { email: 'bad' } }), 400, /email/)
  })

  test('an expired code does not work', async () => {
    const u = await register(s.url)
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const mail = await eventually('the mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${u.email}`)))
    const account = await s.core.accounts.findByEmail(u.email)
    await s.core.metadata.db.updateTable('renewal_codes').set({ expires_at: Date.now() - 1 }).where('account_id', '=', account?.id ?? '').execute()
    await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: codeIn(mail) } }), 401)
  })

  test('unknown endpoints answer the envelope; the OpenAPI document describes the dialect', async () => {
    await expectError(await call(s.url, 'GET', '/nothing/here'), 404, /Unknown endpoint/)
    const doc = await json(await fetch(`${s.url}/api/v1/openapi.json`))
    assert.equal(doc.info.title, 'IPFS Gateway API')
    for (const p of ['/api/v1/users/register', '/api/v1/users/renew/challenge', '/api/v1/users/renew', '/api/v1/users/status',
      '/api/v1/files/upload', '/api/v1/files/retrieve/{cid}', '/api/v1/files', '/api/v1/files/{cid}', '/api/v1/files/delete/bulk',
      '/api/v1/files/{cid}/pin', '/api/v1/files/{cid}/unpin', '/api/v1/tasks/{task_id}/status']) {
      assert.ok(doc.paths[p] !== undefined, p)
    }
    assert.ok(Object.keys(doc.paths).every((p: string) => p.startsWith('/api/v1/')))
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key (ak_...)' })
    assert.deepEqual(doc.paths['/api/v1/users/register'].post.security, [])
  })
})

describe('IPFS Gateway API: rate limits', () => {
  let s: TestServer
  before(async () => {
    s = await startServer({
      CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '3',
      CAIRN_GATEWAY_CALLS_PER_HOUR: '2',
      CAIRN_GATEWAY_UPLOADS_PER_HOUR: '1',
      CAIRN_GATEWAY_RETRIEVALS_PER_HOUR: '1'
    })
  })
  after(async () => { await s.close() })

  test('per key and class, 429 with Retry-After in the envelope; account calls per client IP', async () => {
    const u = await register(s.url)
    const v = await register(s.url)
    await register(s.url)
    const r = await call(s.url, 'POST', '/users/register', { json: { email: freshEmail(), password: PASSWORD } })
    await expectError(r, 429, /Rate limit exceeded: try again in \d+ seconds/)
    assert.ok(Number(r.headers.get('retry-after')) >= 1)

    assert.equal((await call(s.url, 'GET', '/files', { key: u.key })).status, 200)
    assert.equal((await call(s.url, 'GET', '/users/status', { key: u.key })).status, 200)
    const limited = await call(s.url, 'GET', '/files', { key: u.key })
    await expectError(limited, 429)
    const seconds = Number(limited.headers.get('retry-after'))
    assert.ok(seconds >= 1 && seconds <= 3600, String(seconds))
    // uploads and retrievals count apart, and another key has its own budget
    const up = await json(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('a.txt', 'a') }))
    await expectError(await call(s.url, 'POST', '/files/upload', { key: u.key, body: upload('b.txt', 'b') }), 429)
    assert.equal((await call(s.url, 'GET', `/files/retrieve/${up.data.cid}`, { key: u.key })).status, 200)
    await expectError(await call(s.url, 'GET', `/files/retrieve/${up.data.cid}`, { key: u.key }), 429)
    assert.equal((await call(s.url, 'GET', '/files', { key: v.key })).status, 200)
  })
})
