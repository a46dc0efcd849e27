/**
 * FluidCloud against real services: presigned uploads straight to an S3 bucket (OpenStack
 * Swift's s3api, .ci/services/30-swift.sh) and scanning with ClamAV's clamd
 * (.ci/services/50-clamd.sh, a local signature database), over TCP and a unix socket.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { freshBucket, s3ProcessEnv, s3TestEnv } from './helpers/s3.js'
import { serviceOrSkip } from './helpers/services.js'
import { api, defaultSpace, filesUrl, scanned, tenant, uploadViaTicket, type CloudTenant } from './helpers/fluidcloud.js'
import { EICAR } from '../src/adapters/scan/builtin-scanner.js'
import { ClamdScanner } from '../src/adapters/scan/clamd-scanner.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
async function * chunks (b: Uint8Array, size = 7): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.byteLength; i += size) yield b.subarray(i, i + size)
}

const s3 = s3TestEnv()
if (s3 !== undefined) {
  describe('FluidCloud presigned uploads on S3 (Swift)', () => {
    let s: TestServer
    let t: CloudTenant
    let drop: () => Promise<void>
    before(async () => {
      const b = await freshBucket(s3)
      drop = b.drop
      s = await startServer(s3ProcessEnv(s3, b.bucket))
      t = await tenant(s)
    })
    after(async () => {
      await s.close()
      await drop()
    })

    test('initiate answers a real S3 presigned PUT URL; the client PUTs to the bucket; complete imports the object', async () => {
      const sp = await defaultSpace(s, t.live)
      const data = deterministicBytes(2 * 1024 * 1024 + 17, 'fluidcloud s3')
      const init = await api(s, t.live, 'POST', '/uploads/initiate', { name: 'big.bin', size: data.byteLength, space_id: sp, mime: 'application/x-test', client_key: 'runs/1/out.bin' })
      assert.equal(init.status, 201)
      const url = new URL(init.body.upload_url)
      assert.equal(url.origin, new URL(s3.endpoint).origin) // the bucket itself, not the API or the files origin
      assert.ok(url.searchParams.get('X-Amz-Signature') !== null)
      assert.equal(init.body.headers['content-type'], 'application/x-test')
      // the bucket checks the signature: a tampered URL is refused by S3
      const tampered = new URL(init.body.upload_url)
      tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64))
      assert.equal((await fetch(tampered, { method: 'PUT', headers: init.body.headers, body: data as unknown as BodyInit })).status, 403)
      const put = await fetch(init.body.upload_url, { method: 'PUT', headers: init.body.headers, body: data as unknown as BodyInit })
      assert.equal(put.status, 200)
      const done = await api(s, t.live, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key, sha256: sha256(data) })
      assert.equal(done.status, 201)
      assert.equal(done.body.size, data.byteLength)
      assert.equal(done.body.sha256, sha256(data))
      assert.match(done.body.cid, /^bafybei/)
      assert.equal(done.body.mime, 'application/x-test')
      assert.equal((await scanned(s, t.live, done.body.id)).scan_status, 'clean')
      // served from the files origin, read back from the bucket's pack
      const link = await api(s, t.live, 'POST', '/shares', { file_id: done.body.id, expires_in_days: 1 })
      const res = await fetch(filesUrl(s, link.body.url), { headers: { range: 'bytes=1048570-1048589' } })
      assert.equal(res.status, 206)
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(1048570, 1048590)))
      assert.equal((await api(s, t.live, 'GET', '/files/resolve?client_key=runs/1/out.bin')).body.id, done.body.id)
    })

    test('the EICAR file uploaded through S3 is quarantined too', async () => {
      const sp = await defaultSpace(s, t.live)
      const f = await uploadViaTicket(s, t.live, sp, 'eicar.txt', Buffer.from(EICAR, 'latin1'))
      assert.equal((await scanned(s, t.live, f.id)).scan_status, 'infected')
      assert.equal((await api(s, t.live, 'POST', '/shares', { file_id: f.id })).status, 409)
    })
  })
}

const clamdUrl = serviceOrSkip('CAIRN_TEST_CLAMD_URL', 'clamd')
if (clamdUrl !== undefined) {
  describe('FluidCloud scanning with clamd', () => {
    let s: TestServer
    let t: CloudTenant
    before(async () => {
      s = await startServer({ CAIRN_CLAMD_URL: clamdUrl })
      t = await tenant(s)
    })
    after(async () => { await s.close() })

    test('the server scans with clamd: EICAR is infected and quarantined, other files are clean and servable', async () => {
      assert.equal(s.core.scanner.name, 'clamd')
      const sp = await defaultSpace(s, t.live)
      const bad = await uploadViaTicket(s, t.live, sp, 'eicar.com', Buffer.from(EICAR, 'latin1'))
      const good = await uploadViaTicket(s, t.live, sp, 'fine.bin', deterministicBytes(300_000, 'clamd clean'))
      const b = await scanned(s, t.live, bad.id)
      assert.equal(b.scan_status, 'infected')
      assert.equal(b.status, 'quarantined')
      assert.equal((await api(s, t.live, 'POST', '/shares', { file_id: bad.id })).status, 409)
      const row = await s.core.metadata.db.selectFrom('cloud_files').select('scan_detail').where('id', '=', bad.id).executeTakeFirstOrThrow()
      assert.match(row.scan_detail ?? '', /EICAR/i)
      assert.equal((await scanned(s, t.live, good.id)).scan_status, 'clean')
      const link = await api(s, t.live, 'POST', '/shares', { file_id: good.id })
      assert.equal((await fetch(filesUrl(s, link.body.url))).status, 200)
    })

    test('the clamd adapter over TCP and the unix socket: INSTREAM in small chunks, PING', async () => {
      const urls = [clamdUrl]
      const sock = process.env.CAIRN_TEST_CLAMD_SOCKET
      if (sock !== undefined && sock !== '') urls.push(`unix:${sock}`)
      for (const url of urls) {
        const c = new ClamdScanner(url)
        await c.ping()
        const infected = await c.scan(chunks(Buffer.from(EICAR, 'latin1')))
        assert.equal(infected.verdict, 'infected', url)
        assert.match(infected.signature ?? '', /EICAR/i)
        assert.deepEqual(await c.scan(chunks(deterministicBytes(200_000, 'x'), 65_536)), { verdict: 'clean' })
        assert.deepEqual(await c.scan(chunks(new Uint8Array(0))), { verdict: 'clean' })
      }
    })

    test('a scanner that cannot be reached leaves the file in quarantine with scan_status error', async () => {
      const down = await startServer({ CAIRN_CLAMD_URL: 'tcp://127.0.0.1:9' })
      try {
        const t2 = await tenant(down)
        const sp = await defaultSpace(down, t2.live)
        const f = await uploadViaTicket(down, t2.live, sp, 'x.txt', Buffer.from('hello'))
        let st = 'pending'
        for (let i = 0; i < 300 && st === 'pending'; i++) {
          await new Promise(resolve => setTimeout(resolve, 50))
          st = (await api(down, t2.live, 'GET', `/files/${f.id as string}`)).body.scan_status
        }
        assert.equal(st, 'error')
        assert.equal((await api(down, t2.live, 'POST', '/shares', { file_id: f.id })).status, 409)
        // and /healthz names the scanner as the dependency that is down
        const h = await fetch(`${down.url}/healthz`)
        assert.equal(h.status, 503)
        const health = await h.json() as { dependencies: Record<string, { ok: boolean, kind: string }> }
        assert.deepEqual([health.dependencies.scanner.kind, health.dependencies.scanner.ok], ['clamd', false])
      } finally {
        await down.close()
      }
    })
  })
}
