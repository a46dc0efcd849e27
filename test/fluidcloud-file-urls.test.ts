/**
 * FluidCloud download and preview URLs (GET /files/{id}/download-url, /preview-url): short-lived
 * signed links on the cookieless files origin; the bytes never pass through the API.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { api, defaultSpace, filesUrl, PREFIX, scanned, scopedKey, tenant, uploadViaTicket, type CloudTenant } from './helpers/fluidcloud.js'
import { EICAR } from '../src/adapters/scan/builtin-scanner.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

describe('FluidCloud download and preview URLs', () => {
  let s: TestServer
  let A: CloudTenant
  let B: CloudTenant
  let fileId: string
  const data = deterministicBytes(300 * 1024, 'file-urls')
  before(async () => {
    s = await startServer({ CAIRN_CLOUD_FILE_URL_SECONDS: '120' })
    A = await tenant(s)
    B = await tenant(s)
    const f = await uploadViaTicket(s, A.live, await defaultSpace(s, A.live), 'report "q3".pdf', data, { mime: 'application/pdf' })
    assert.equal((await scanned(s, A.live, f.id)).scan_status, 'clean')
    fileId = f.id
  })
  after(async () => { await s.close() })

  test('download-url answers a URL object; the files origin serves the bytes as an attachment, with no key', async () => {
    const r = await api(s, A.live, 'GET', `/files/${fileId}/download-url`)
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.body).sort(), ['disposition', 'expires_at', 'url'])
    assert.equal(r.body.disposition, 'attachment')
    assert.match(r.body.expires_at, ISO)
    const ttl = Date.parse(r.body.expires_at) - Date.now()
    assert.ok(ttl > 60_000 && ttl <= 120_000, String(ttl))
    assert.ok(r.body.url.startsWith(`${s.config.filesOrigin}/f/${fileId}/attachment?expires=`), r.body.url)
    const res = await fetch(filesUrl(s, r.body.url))
    assert.equal(res.status, 200)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(data))
    assert.equal(res.headers.get('content-type'), 'application/pdf')
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-security-policy') ?? '', /(^|; )sandbox$/)
    assert.equal(res.headers.get('cache-control'), 'private, no-store')
    assert.equal(res.headers.get('set-cookie'), null)
    const part = await fetch(filesUrl(s, r.body.url), { headers: { range: 'bytes=10-19' } })
    assert.equal(part.status, 206)
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), Buffer.from(data.subarray(10, 20)))
    const head = await fetch(filesUrl(s, r.body.url), { method: 'HEAD' })
    assert.equal(head.headers.get('content-length'), String(data.byteLength))
  })

  test('preview-url serves inline, under the same sandbox CSP and nosniff', async () => {
    const r = await api(s, A.live, 'GET', `/files/${fileId}/preview-url`)
    assert.equal(r.status, 200)
    assert.equal(r.body.disposition, 'inline')
    assert.ok(r.body.url.includes(`/f/${fileId}/inline?`))
    const res = await fetch(filesUrl(s, r.body.url))
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-disposition') ?? '', /^inline;/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-security-policy') ?? '', /(^|; )sandbox$/)
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /allow-scripts|script-src/)
    assert.equal((await res.arrayBuffer()).byteLength, data.byteLength)
  })

  test('a URL works before its expiry and is 403 after, by the server\'s clock; a tampered URL is 403', async () => {
    const r = await api(s, A.live, 'GET', `/files/${fileId}/download-url`)
    const url = filesUrl(s, r.body.url)
    const ok = await fetch(url)
    assert.equal(ok.status, 200)
    await ok.arrayBuffer()
    // the same file, signed with an expiry a moment ago (as the URL above will be after its TTL)
    const expired = filesUrl(s, await s.core.cloud.fileUrls.url(fileId, 'attachment', Date.now() - 2000))
    const gone = await fetch(expired, { headers: { date: new Date(Date.now() - 86_400_000).toUTCString() } })
    assert.equal(gone.status, 403)
    assert.match(await gone.text(), /expired/)
    // moving the expiry forward, or asking for the other disposition, breaks the signature
    assert.equal((await fetch(url.replace(/expires=\d+/, 'expires=99999999999'))).status, 403)
    assert.equal((await fetch(url.replace('/attachment?', '/inline?'))).status, 403)
    assert.equal((await fetch(url.replace(/sig=[^&]+/, 'sig=' + 'A'.repeat(43)))).status, 403)
    assert.equal((await fetch(url.split('?')[0])).status, 403)
  })

  test('a file that is not clean is 409 {detail}, at the API and at the files origin', async () => {
    const sp = await defaultSpace(s, A.live)
    const bad = await uploadViaTicket(s, A.live, sp, 'eicar.com', Buffer.from(EICAR, 'latin1'))
    assert.equal((await scanned(s, A.live, bad.id)).scan_status, 'infected')
    for (const path of ['download-url', 'preview-url']) {
      const r = await api(s, A.live, 'GET', `/files/${bad.id as string}/${path}`)
      assert.equal(r.status, 409)
      assert.match(r.body.detail, /scan_status='infected'/)
    }
    // a URL minted while clean stops serving when the file is no longer clean
    const r = await api(s, A.live, 'GET', `/files/${fileId}/download-url`)
    await s.core.metadata.db.updateTable('cloud_files').set({ scan_status: 'pending' }).where('id', '=', fileId).execute()
    try {
      assert.equal((await fetch(filesUrl(s, r.body.url))).status, 409)
      assert.equal((await api(s, A.live, 'GET', `/files/${fileId}/preview-url`)).status, 409)
    } finally {
      await s.core.metadata.db.updateTable('cloud_files').set({ scan_status: 'clean' }).where('id', '=', fileId).execute()
    }
  })

  test('another tenant\'s file, an unknown id and a trashed file are 404; files:read is required', async () => {
    for (const path of ['download-url', 'preview-url']) {
      const other = await api(s, B.live, 'GET', `/files/${fileId}/${path}`)
      assert.equal(other.status, 404)
      assert.equal(typeof other.body.detail, 'string')
      assert.equal((await api(s, A.test, 'GET', `/files/${fileId}/${path}`)).status, 404) // the test environment is another tenant space
      assert.equal((await api(s, A.live, 'GET', `/files/00000000-0000-4000-8000-000000000000/${path}`)).status, 404)
      assert.equal((await api(s, A.live, 'GET', `/files/nope/${path}`)).status, 404)
      assert.equal((await api(s, undefined, 'GET', `/files/${fileId}/${path}`)).status, 401)
    }
    const writeOnly = await scopedKey(s, A.id, ['files:write'])
    const denied = await api(s, writeOnly, 'GET', `/files/${fileId}/download-url`)
    assert.equal(denied.status, 403)
    assert.equal(denied.body.detail.error, 'insufficient_scope')
    const readOnly = await scopedKey(s, A.id, ['files:read'])
    assert.equal((await api(s, readOnly, 'GET', `/files/${fileId}/download-url`)).status, 200)
    // Trash: no new URL, and a URL minted before stops serving
    const sp = await defaultSpace(s, A.live)
    const t = await uploadViaTicket(s, A.live, sp, 'soon-trashed.txt', Buffer.from('bye'))
    await scanned(s, A.live, t.id)
    const u = await api(s, A.live, 'GET', `/files/${t.id as string}/download-url`)
    assert.equal((await api(s, A.live, 'DELETE', `/files/${t.id as string}`)).status, 200)
    assert.equal((await fetch(filesUrl(s, u.body.url))).status, 404)
    assert.equal((await api(s, A.live, 'GET', `/files/${t.id as string}/download-url`)).status, 404)
  })

  test('the routes are in the OpenAPI document', async () => {
    const doc = await (await fetch(`${s.url}${PREFIX}/openapi.json`)).json() as any
    const paths = Object.keys(doc.paths ?? {})
    assert.ok(paths.some(p => p.endsWith('/files/{id}/download-url')), paths.filter(p => p.includes('files')).join(' '))
    assert.ok(paths.some(p => p.endsWith('/files/{id}/preview-url')))
  })
})
