/**
 * FluidCloud `POST /uploads/import-url`: the server fetches one file from a public URL. By
 * default loopback and private addresses are refused (no connection made to them); with
 * CAIRN_CLOUD_IMPORT_ALLOW_PRIVATE a local HTTP server stands in for a public one.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { api, defaultSpace, PREFIX, scanned, scopedKey, tenant, type CloudTenant } from './helpers/fluidcloud.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const data = deterministicBytes(200 * 1024 + 7, 'import-url')

describe('FluidCloud import-url', () => {
  let origin: Server
  let base: string
  let hits = 0
  before(async () => {
    origin = createServer((req, res) => {
      hits++
      if (req.url === '/files/photo.png') { res.writeHead(200, { 'content-type': 'image/png', 'content-length': data.byteLength }); res.end(data); return }
      if (req.url === '/redirect') { res.writeHead(302, { location: '/files/photo.png' }); res.end(); return }
      if (req.url === '/loop') { res.writeHead(302, { location: '/loop' }); res.end(); return }
      res.writeHead(404).end('no')
    })
    await new Promise<void>(resolve => origin.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  })
  after(async () => { await new Promise(resolve => origin.close(resolve)) })

  describe('by default (public addresses only)', () => {
    let s: TestServer
    let A: CloudTenant
    before(async () => { s = await startServer({ CAIRN_CLOUD_IMPORTS_PER_MINUTE: '0' }); A = await tenant(s) })
    after(async () => { await s.close() })

    test('loopback, private, link-local and mapped addresses, by literal or by name, are refused with 422 and never contacted', async () => {
      const sp = await defaultSpace(s, A.live)
      const before = hits
      const port = new URL(base).port
      for (const url of [`${base}/files/photo.png`, `http://localhost:${port}/files/photo.png`, `http://[::1]:${port}/x`, `http://[::ffff:127.0.0.1]:${port}/x`,
        'http://10.0.0.1/x', 'http://192.168.1.1/x', 'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0:1/x']) {
        const r = await api(s, A.live, 'POST', '/uploads/import-url', { url, space_id: sp })
        assert.equal(r.status, 422, url)
        assert.match(r.body.detail, /private network/, url)
      }
      assert.equal(hits, before)
      for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'http://user:pw@example.com/x']) {
        const r = await api(s, A.live, 'POST', '/uploads/import-url', { url, space_id: sp })
        assert.equal(r.status, 422, url)
        assert.equal(typeof r.body.detail, 'string')
      }
    })

    test('the route needs files:write, and another tenant\'s space is 404', async () => {
      const B = await tenant(s)
      const readOnly = await scopedKey(s, A.id, ['files:read'])
      const sp = await defaultSpace(s, A.live)
      assert.equal((await api(s, readOnly, 'POST', '/uploads/import-url', { url: 'http://example.com/x', space_id: sp })).status, 403)
      assert.equal((await api(s, B.live, 'POST', '/uploads/import-url', { url: 'http://example.com/x', space_id: sp })).status, 404)
    })

    test('the route is in the OpenAPI document', async () => {
      const doc = await (await fetch(`${s.url}${PREFIX}/openapi.json`)).json() as any
      assert.ok(doc.paths['/uploads/import-url'] !== undefined)
    })
  })

  describe('with private addresses allowed (a local server stands in for a public one)', () => {
    let s: TestServer
    let A: CloudTenant
    before(async () => { s = await startServer({ CAIRN_CLOUD_IMPORT_ALLOW_PRIVATE: 'true', CAIRN_CLOUD_IMPORTS_PER_MINUTE: '5' }); A = await tenant(s) })
    after(async () => { await s.close() })

    test('a URL becomes a file: the exact bytes, its name and type, scanned clean; redirects are followed', async () => {
      const sp = await defaultSpace(s, A.live)
      const r = await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/files/photo.png`, space_id: sp, client_key: 'imported/photo' })
      assert.equal(r.status, 201, JSON.stringify(r.body))
      assert.equal(r.body.name, 'photo.png')
      assert.equal(r.body.mime, 'image/png')
      assert.equal(r.body.size, data.byteLength)
      assert.equal(r.body.sha256, sha256(data))
      assert.equal(r.body.client_key, 'imported/photo')
      assert.equal((await scanned(s, A.live, r.body.id)).scan_status, 'clean')
      const named = await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/redirect`, space_id: sp, name: 'renamed.png' })
      assert.equal(named.status, 201)
      assert.equal(named.body.name, 'renamed.png')
      assert.equal(named.body.sha256, sha256(data))
    })

    test('an error answer or a redirect loop is 422; the per-key cap answers 429', async () => {
      const sp = await defaultSpace(s, A.live)
      const missing = await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/nope`, space_id: sp })
      assert.equal(missing.status, 422)
      assert.match(missing.body.detail, /HTTP 404/)
      const loop = await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/loop`, space_id: sp })
      assert.equal(loop.status, 422)
      assert.match(loop.body.detail, /redirected/)
      // 5 per minute: 4 used above
      assert.equal((await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/nope`, space_id: sp })).status, 422)
      const capped = await api(s, A.live, 'POST', '/uploads/import-url', { url: `${base}/files/photo.png`, space_id: sp })
      assert.equal(capped.status, 429)
    })

    test('a file larger than the storage pool is 402 before its bytes are stored', async () => {
      const t = await tenant(s, { capacity: 100 * 1024 })
      const r = await api(s, t.live, 'POST', '/uploads/import-url', { url: `${base}/files/photo.png`, space_id: await defaultSpace(s, t.live) })
      assert.equal(r.status, 402)
      assert.equal(r.body.detail.error, 'quota_exceeded')
    })
  })
})
