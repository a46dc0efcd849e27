/**
 * @cairn/sdk against a real server on loopback: accounts, files (multipart and tus), pins,
 * tasks, FluidCloud, wallet login, typed errors and abort.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { codeIn, eventually, freshEmail, outbox, PASSWORD } from './helpers/gateway.js'
import { tenant } from './helpers/fluidcloud.js'
import { btcWallet } from './helpers/wallets.js'
import { CairnClient, AuthError, NotFoundError, CairnApiError, RateLimitedError, type Progress } from '../packages/sdk/src/index.js'
import { fileFromPath } from '../packages/sdk/src/node.js'

async function readAll (stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) parts.push(chunk)
  return Buffer.concat(parts)
}

describe('@cairn/sdk against a real server', () => {
  let s: TestServer
  let tmp: string
  before(async () => {
    s = await startServer({
      CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0',
      CAIRN_GATEWAY_UPLOADS_PER_HOUR: '0',
      CAIRN_GATEWAY_RETRIEVALS_PER_HOUR: '0',
      CAIRN_GATEWAY_CALLS_PER_HOUR: '0',
      CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '2',
      CAIRN_GC_GRACE_SECONDS: '0'
    })
    tmp = await mkdtemp(join(tmpdir(), 'cairn-sdk-'))
  })
  after(async () => { await s.close(); await rm(tmp, { recursive: true, force: true }) })

  async function registered (opts: Partial<ConstructorParameters<typeof CairnClient>[0]> = {}): Promise<{ client: CairnClient, email: string }> {
    const email = freshEmail()
    const { apiKey } = await new CairnClient({ baseUrl: s.url }).keys.register(email, PASSWORD)
    assert.match(apiKey, /^ak_/)
    return { client: new CairnClient({ baseUrl: s.url, apiKey, ...opts }), email }
  }

  test('register, upload (Blob and a path), list, get as a stream, delete', async () => {
    const { client, email } = await registered()
    const st = await client.keys.status()
    assert.equal(st.email, email)
    assert.equal(st.file_count, 0)

    const small = await client.files.upload(new Blob(['hello world\n'], { type: 'text/plain' }), { name: 'hello.txt' })
    assert.equal(small.cid, 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4')
    assert.equal(small.original_filename, 'hello.txt')
    assert.equal(small.size, 12)

    const data = deterministicBytes(300_000, 'sdk-path')
    const path = join(tmp, 'photo.bin')
    await writeFile(path, data)
    const events: Progress[] = []
    const fromPath = await client.files.upload(await fileFromPath(path), { onProgress: p => events.push(p) })
    assert.equal(fromPath.original_filename, 'photo.bin')
    assert.equal(fromPath.size, data.byteLength)
    assert.ok(events.length >= 2, `progress events: ${events.length}`)
    assert.deepEqual(events.at(-1), { loaded: data.byteLength, total: data.byteLength })
    for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded)

    const page = await client.files.list({ pageSize: 1, sortBy: 'size', sortOrder: 'asc' })
    assert.equal(page.meta.total, 2)
    assert.equal(page.files.length, 1)
    assert.equal(page.files[0].cid, small.cid)
    const all: string[] = []
    for await (const f of client.files.iterate({ pageSize: 1 })) all.push(f.cid)
    assert.deepEqual(all.sort(), [small.cid, fromPath.cid].sort())

    const got = await client.files.get(fromPath.cid)
    assert.equal(got.size, data.byteLength)
    assert.equal(got.filename, 'photo.bin')
    assert.ok((await readAll(got.body)).equals(data))
    const part = await client.files.get(small.cid, { range: [0, 4] })
    assert.equal((await readAll(part.body)).toString(), 'hello')

    // a stream of unknown size goes as a streamed multipart upload
    const streamed = await client.files.upload(new Blob(['from a stream']).stream(), { name: 's.txt' })
    assert.equal((await client.files.info(streamed.cid)).original_filename, 's.txt')

    await client.files.delete(small.cid)
    await assert.rejects(client.files.info(small.cid), NotFoundError)
    assert.equal((await client.files.list()).meta.total, 2)
  })

  test('a key renewed by the emailed code; the old key is then refused as AuthError 403', async () => {
    const { client, email } = await registered()
    const anon = new CairnClient({ baseUrl: s.url })
    await anon.keys.renewChallenge(email)
    const mail = await eventually('the renewal mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${email}`)))
    const wrong = await anon.keys.renew(email, '000000').catch(err => err)
    assert.ok(wrong instanceof AuthError)
    const key = await anon.keys.renew(email, codeIn(mail))
    assert.match(key, /^ak_/)
    assert.equal((await new CairnClient({ baseUrl: s.url, apiKey: key }).keys.status()).email, email)
    const old = await client.keys.status().catch(err => err)
    assert.ok(old instanceof AuthError)
    assert.equal(old.status, 403)
  })

  test('above the threshold an upload goes over tus in chunks, with progress, and resumes after an abort', async () => {
    const { client } = await registered({ resumableThreshold: 2 ** 20, chunkSize: 2 ** 20 })
    const data = deterministicBytes(3 * 2 ** 20 + 12345, 'sdk-tus')
    const events: number[] = []
    const bigPath = join(tmp, 'big.bin')
    await writeFile(bigPath, data)
    // from a path: the file is read chunk by chunk (Blob slices of the file)
    const f = await client.files.upload(await fileFromPath(bigPath), { onProgress: p => { events.push(p.loaded); assert.equal(p.total, data.byteLength) } })
    assert.deepEqual(events, [0, 2 ** 20, 2 * 2 ** 20, 3 * 2 ** 20, data.byteLength])
    assert.match(f.cid, /^bafybei/)
    assert.equal(f.original_filename, 'big.bin')
    assert.equal(f.size, data.byteLength)
    assert.ok((await readAll((await client.files.get(f.cid)).body)).equals(data))
    // the same bytes through the multipart upload give the same CID
    const plain = await client.files.upload(new Blob([data as BlobPart]), { name: 'plain.bin', resumable: false })
    assert.equal(plain.cid, f.cid)

    // abort after the first chunk, then resume from the URL the first attempt handed out
    const other = deterministicBytes(3 * 2 ** 20, 'sdk-tus-resume')
    const ac = new AbortController()
    let url: string | undefined
    await assert.rejects(client.files.upload(new Blob([other as BlobPart]), {
      name: 'resumed.bin', signal: ac.signal, onResumeUrl: u => { url = u }, onProgress: p => { if (p.loaded >= 2 ** 20) ac.abort() }
    }), (err: any) => err.name === 'AbortError')
    assert.ok(url !== undefined)
    const resumedEvents: number[] = []
    // a stream source this time: the client skips what the server already has
    const resumed = await client.files.upload(new Blob([other as BlobPart]).stream(), { name: 'resumed.bin', size: other.byteLength, resumeUrl: url, onProgress: p => resumedEvents.push(p.loaded) })
    assert.ok(resumedEvents[0] >= 2 ** 20, `resumed from ${resumedEvents[0]}`)
    assert.equal(resumedEvents.at(-1), other.byteLength)
    assert.ok((await readAll((await client.files.get(resumed.cid)).body)).equals(other))
  })

  test('a tus PATCH whose connection drops mid-chunk is resumed from the server\'s offset', async () => {
    // a TCP proxy in front of the server that cuts one connection once 1.5 MiB went through it
    const target = Number(new URL(s.url).port)
    let cut = false
    const proxy = createNetServer(client => {
      const upstream = connect(target, '127.0.0.1')
      let bytes = 0
      client.on('data', (c: Buffer) => {
        bytes += c.byteLength
        if (!cut && bytes > 1.5 * 2 ** 20) { cut = true; client.destroy(); upstream.destroy(); return }
        upstream.write(c)
      })
      upstream.pipe(client)
      client.on('error', () => {}); upstream.on('error', () => {})
      client.on('close', () => upstream.destroy()); upstream.on('close', () => client.destroy())
    })
    await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
    try {
      const { client: direct } = await registered()
      const via = new CairnClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, apiKey: direct.transport.accountKey, chunkSize: 2 ** 20 })
      const data = deterministicBytes(3 * 2 ** 20, 'sdk-tus-drop')
      const f = await via.files.upload(new Blob([data as BlobPart]), { name: 'dropped.bin', resumable: true })
      assert.ok(cut, 'the proxy cut a connection')
      assert.equal(f.size, data.byteLength)
      assert.ok((await readAll((await direct.files.get(f.cid)).body)).equals(data))
    } finally {
      proxy.close()
    }
  })

  test('pin and unpin a file; a pin of the Pinning Service API added, listed and deleted', async () => {
    const { client } = await registered()
    const f = await client.files.upload(new Blob([deterministicBytes(5000, 'sdk-pin') as BlobPart]), { name: 'p.bin' })
    await client.files.unpin(f.cid)
    assert.equal((await client.files.info(f.cid)).pinned, false)
    await client.files.pin(f.cid)
    assert.equal((await client.files.info(f.cid)).pinned, true)
    const conflict = await client.files.pin(f.cid).catch(e => e)
    assert.ok(conflict instanceof CairnApiError)
    assert.equal(conflict.status, 409)
    assert.equal(conflict.code, 'Conflict')

    const added = await client.pins.add({ cid: f.cid, name: 'sdk-pin', meta: { app: 'sdk' } })
    assert.equal(added.status, 'pinned')
    const listed = await client.pins.list({ name: 'sdk', match: 'partial' })
    assert.equal(listed.count, 1)
    assert.equal(listed.results[0].requestid, added.requestid)
    assert.equal((await client.pins.get(added.requestid)).pin.meta?.app, 'sdk')
    await client.pins.delete(added.requestid)
    const gone = await client.pins.get(added.requestid).catch(e => e)
    assert.ok(gone instanceof NotFoundError)
    assert.equal(gone.code, 'NOT_FOUND')
  })

  test('a bulk delete over the sync limit is a task, waited for', async () => {
    const { client } = await registered()
    const cids: string[] = []
    for (let i = 0; i < 3; i++) cids.push((await client.files.upload(new Blob([`file ${i}`]), { name: `f${i}.txt` })).cid)
    const r = await client.files.deleteMany(cids)
    assert.ok('taskId' in r)
    const task = await client.tasks.wait(r.taskId, { intervalMs: 50 })
    assert.equal(task.state, 'SUCCESS')
    assert.equal(task.result.deleted, 3)
    assert.equal((await client.files.list()).meta.total, 0)
    // a small one answers at once
    const one = await client.files.upload(new Blob(['x1']), { name: 'x' })
    assert.deepEqual(await client.files.deleteMany([one.cid]), { deleted: 1, failed: [] })
    await assert.rejects(client.tasks.get('00000000-0000-4000-8000-000000000000'), NotFoundError)
  })

  test('typed errors: 401 from a wrong key, 404 from each dialect', async () => {
    const bad = new CairnClient({ baseUrl: s.url, apiKey: 'ak_wrong', cloudKey: 'fck_live_' + '0'.repeat(64) })
    const e = await bad.keys.status().catch(err => err)
    assert.ok(e instanceof AuthError)
    assert.equal(e.status, 401)
    assert.equal(e.code, 'Unauthorized')
    assert.equal(typeof e.message, 'string')
    assert.equal((e.body as any).status, 401)
    const p = await bad.pins.list().catch(err => err)
    assert.ok(p instanceof AuthError)
    assert.equal(p.code, 'UNAUTHORIZED')
    const c = await bad.cloud.spaces.list().catch(err => err)
    assert.ok(c instanceof AuthError)
    assert.equal(typeof (c.body as any).detail, 'string')
    const { client } = await registered()
    const nf = await client.files.get('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4').catch(err => err)
    assert.ok(nf instanceof NotFoundError)
    assert.equal(nf.status, 404)
    await assert.rejects(new CairnClient({ baseUrl: s.url }).keys.status(), /apiKey/)
  })

  test('abort: an aborted signal stops a call, and an upload in flight', async () => {
    const { client } = await registered()
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(client.files.list({ signal: ac.signal }), (err: any) => err.name === 'AbortError')
    // an upload whose source stalls: the abort ends it, and nothing is stored
    const ac2 = new AbortController()
    let sent = 0
    const stalling = new ReadableStream<Uint8Array>({
      pull: async controller => {
        if (sent < 3) { sent++; controller.enqueue(new Uint8Array(65536).fill(sent)); return }
        await new Promise(() => {}) // never more
      }
    })
    const upload = client.files.upload(stalling, { name: 'stalled.bin', signal: ac2.signal })
    setTimeout(() => { ac2.abort(new Error('user cancelled')) }, 100)
    await assert.rejects(upload, (err: any) => err.message === 'user cancelled' || err.name === 'AbortError')
    assert.equal((await client.files.list()).meta.total, 0)
  })

  test('wallet login answers a session; the wallet user\'s keys are made, listed, used and revoked', async () => {
    const w = btcWallet()
    const client = new CairnClient({ baseUrl: s.url })
    const session = await client.wallet.login(w.address, w.sign)
    assert.equal(session.zelid, w.address)
    assert.equal(session.privilege, 'user')
    assert.ok(session.expireAt > Date.now())
    const made = await client.keys.create({ name: 'laptop', expiresIn: 3600 })
    assert.match(made.key, /^cairn_/)
    assert.deepEqual((await client.keys.list()).map(k => k.id), [made.id])
    const basic = new CairnClient({ baseUrl: s.url, basic: { zelid: w.address, key: made.key } })
    const up = await basic.files.upload(new Blob(['wallet file']), { name: 'w.txt' })
    assert.equal((await basic.files.list()).files[0].cid, up.cid)
    await client.keys.revoke(made.id)
    await assert.rejects(basic.files.list(), AuthError)
    await client.wallet.logout()
    await assert.rejects(new CairnClient({ baseUrl: s.url, session }).keys.list(), AuthError)
  })

  test('FluidCloud: a space, a direct upload, a public and an expiring link fetched from the files origin, revoke, quota', async () => {
    const t = await tenant(s)
    const client = new CairnClient({ baseUrl: s.url, cloudKey: t.live, filesOrigin: s.filesUrl })
    assert.equal((await client.cloud.me()).environment, 'live')
    const space = await client.cloud.spaces.create({ name: 'Photos', app: 'sdk' })
    assert.equal(space.name, 'Photos')
    const folder = await client.cloud.folders.create({ space_id: space.id, name: '2026' })
    const data = deterministicBytes(70_000, 'sdk-cloud')
    const f = await client.cloud.files.upload(new Blob([data as BlobPart], { type: 'application/octet-stream' }), { spaceId: space.id, folderId: folder.id, name: 'a.bin', clientKey: 'sdk/a.bin' })
    assert.equal(f.size, data.byteLength)
    assert.equal(f.folder_id, folder.id)
    assert.equal((await client.cloud.files.waitScanned(f.id)).scan_status, 'clean')
    assert.equal((await client.cloud.files.resolve('sdk/a.bin')).id, f.id)
    const listed = await client.cloud.files.list({ spaceId: space.id, folderId: folder.id })
    assert.deepEqual(listed.items.map(x => x.id), [f.id])

    const pub = await client.cloud.shares.create({ file_id: f.id })
    assert.equal(pub.kind, 'permanent')
    assert.ok(pub.url !== undefined)
    const res = await client.cloud.fetchLink(pub.url)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data))
    const exp = await client.cloud.shares.create({ file_id: f.id, expires_in_days: 1 })
    assert.equal(exp.kind, 'expiring')
    const head = await client.cloud.fetchLink(exp.url as string, { range: [0, 9] })
    assert.equal(head.status, 206)
    assert.equal((await head.arrayBuffer()).byteLength, 10)
    const q = await client.cloud.quota()
    assert.equal(q.links_used, 1)
    assert.ok(q.bytes_used >= data.byteLength)
    assert.deepEqual(q.by_app.find(a => a.app === 'sdk'), { app: 'sdk', bytes: data.byteLength, files: 1 })
    const revoked = await client.cloud.shares.delete(exp.id)
    assert.ok(revoked?.revoked_at != null)
    await assert.rejects(client.cloud.fetchLink(exp.url as string), NotFoundError)
    assert.equal((await client.cloud.quota()).links_used, 0)
    const nf = await client.cloud.files.get('00000000-0000-4000-8000-000000000000').catch(err => err)
    assert.ok(nf instanceof NotFoundError)
    assert.equal(nf.message, 'file not found')

    // the presigned flow: initiate, PUT to the files origin, complete
    const big = deterministicBytes(200_000, 'sdk-cloud-ticket')
    const viaTicket = await client.cloud.files.upload(new Blob([big as BlobPart]), { spaceId: space.id, name: 'b.bin', direct: false })
    assert.equal(viaTicket.size, big.byteLength)
    const progress: number[] = []
    const streamed = await client.cloud.files.upload(new Blob([big as BlobPart]).stream(), { spaceId: space.id, name: 'c.bin', size: big.byteLength, direct: false, onProgress: p => progress.push(p.loaded) })
    assert.equal(streamed.cid, viaTicket.cid)
    assert.equal(progress.at(-1), big.byteLength)
    await client.cloud.files.erase(viaTicket.id)
    await assert.rejects(client.cloud.files.get(viaTicket.id), NotFoundError)
  })
})

describe('@cairn/sdk and the Gateway API\'s hourly limit', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0', CAIRN_GATEWAY_CALLS_PER_HOUR: '1' }) })
  after(async () => { await s.close() })

  test('a Retry-After longer than maxRetryAfter is thrown at once as RateLimitedError', async () => {
    const { apiKey } = await new CairnClient({ baseUrl: s.url }).keys.register(freshEmail(), PASSWORD)
    const client = new CairnClient({ baseUrl: s.url, apiKey })
    await client.keys.status()
    const e = await client.keys.status().catch(err => err)
    assert.ok(e instanceof RateLimitedError, String(e))
    assert.equal(e.status, 429)
    assert.ok(e.retryAfter !== undefined && e.retryAfter > 60, `retryAfter ${e.retryAfter}`)
    assert.equal(typeof e.message, 'string')
  })
})
