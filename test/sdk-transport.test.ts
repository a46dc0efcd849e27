/**
 * The SDK's transport against small real HTTP peers on loopback: 429 retried after
 * Retry-After, a long Retry-After surfaced, dropped connections retried for idempotent calls
 * only, abort of a hanging call, and each dialect's error envelope as typed errors.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CairnClient, CairnApiError, AuthError, NotFoundError, QuotaError, RateLimitedError, NetworkError } from '../packages/sdk/src/index.js'

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void

describe('@cairn/sdk transport', () => {
  let server: Server
  let url: string
  let handler: Handler = (_req, res) => { res.end() }
  let seen: Array<{ method: string, path: string, at: number, headers: IncomingMessage['headers'], bytes: number }> = []
  before(async () => {
    server = createServer((req, res) => {
      const r = { method: req.method ?? '', path: req.url ?? '', at: Date.now(), headers: req.headers, bytes: 0 }
      seen.push(r)
      const n = seen.length
      req.on('data', (c: Buffer) => { r.bytes += c.byteLength })
      req.on('end', () => { handler(req, res, n) })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
  const reset = (h: Handler): void => { seen = []; handler = h }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }

  test('a 429 with Retry-After: 1 is retried after a second, for a GET and a POST alike', async () => {
    const client = new CairnClient({ baseUrl: url, apiKey: 'ak_test' })
    reset((_req, res, n) => {
      if (n % 2 === 1) json(res, 429, { status: 429, error: 'Too Many Requests', message: 'Rate limit exceeded' }, { 'retry-after': '1' })
      else json(res, 200, { status: 200, data: { email: 'a@example.com' } })
    })
    const st = await client.keys.status()
    assert.equal(st.email, 'a@example.com')
    assert.equal(seen.length, 2)
    assert.ok(seen[1].at - seen[0].at >= 950, `waited ${seen[1].at - seen[0].at} ms`)
    assert.equal(seen[1].headers['x-api-key'], 'ak_test')
    // a POST that was refused with 429 was not processed: it is sent again too
    reset((_req, res, n) => {
      if (n === 1) json(res, 429, { error: { reason: 'RATE_LIMITED', details: 'slow down' } }, { 'retry-after': '1' })
      else json(res, 202, { requestid: 'r1', status: 'queued', created: '2026-11-24T00:00:00Z', pin: { cid: 'bafy' }, delegates: [] })
    })
    assert.equal((await client.pins.add({ cid: 'bafy' })).requestid, 'r1')
    assert.deepEqual(seen.map(r => r.method), ['POST', 'POST'])
    assert.equal(seen[0].headers.authorization, 'Bearer ak_test')
  })

  test('an upload streamed from a Blob (with progress) is streamed again after a 429; a caller\'s stream is not', async () => {
    const client = new CairnClient({ baseUrl: url, apiKey: 'k' })
    const data = new Uint8Array(200_000).fill(7)
    reset((_req, res, n) => {
      if (n === 1) json(res, 429, { status: 429, error: 'Too Many Requests', message: 'later' }, { 'retry-after': '0' })
      else json(res, 201, { status: 201, data: { cid: 'bafk', original_filename: 'a.bin', size: data.byteLength } })
    })
    const loaded: number[] = []
    const f = await client.files.upload(new Blob([data]), { name: 'a.bin', onProgress: p => loaded.push(p.loaded) })
    assert.equal(f.cid, 'bafk')
    assert.equal(seen.length, 2)
    assert.ok(seen[1].bytes > data.byteLength, `second attempt sent ${seen[1].bytes} bytes`)
    assert.match(String(seen[1].headers['content-type']), /^multipart\/form-data; boundary=/)
    assert.equal(loaded.at(-1), data.byteLength)
    reset((_req, res) => { json(res, 429, { status: 429, error: 'Too Many Requests', message: 'later' }, { 'retry-after': '0' }) })
    const e = await client.files.upload(new Blob([data]).stream(), { name: 'b.bin' }).catch(err => err)
    assert.ok(e instanceof RateLimitedError)
    assert.equal(seen.length, 1)
  })

  test('a Retry-After longer than maxRetryAfter, or retries used up, throw RateLimitedError', async () => {
    reset((_req, res) => { json(res, 429, { status: 429, error: 'Too Many Requests', message: 'Rate limit exceeded' }, { 'retry-after': '3600' }) })
    const e = await new CairnClient({ baseUrl: url, apiKey: 'k' }).files.list().catch(err => err)
    assert.ok(e instanceof RateLimitedError)
    assert.equal(e.retryAfter, 3600)
    assert.equal(e.code, 'Too Many Requests')
    assert.equal(e.message, 'Rate limit exceeded')
    assert.equal(seen.length, 1)
    reset((_req, res) => { json(res, 429, { detail: 'Too many requests — retry after 1 s' }, { 'retry-after': '0' }) })
    const e2 = await new CairnClient({ baseUrl: url, cloudKey: 'k', retries: 2 }).cloud.quota().catch(err => err)
    assert.ok(e2 instanceof RateLimitedError)
    assert.equal(seen.length, 3)
  })

  test('a dropped connection is retried for GET, never for POST', async () => {
    const dropFirst: Handler = (req, res, n) => {
      if (n === 1) { req.socket.destroy(); return }
      json(res, 200, { status: 200, data: [], meta: { page: 1, page_size: 50, total: 0, total_pages: 0 } })
    }
    reset(dropFirst)
    const client = new CairnClient({ baseUrl: url, apiKey: 'k' })
    assert.deepEqual((await client.files.list()).files, [])
    assert.equal(seen.length, 2)
    reset(dropFirst)
    const e = await client.keys.register('a@example.com', 'pw').catch(err => err)
    assert.ok(e instanceof NetworkError)
    assert.equal(seen.length, 1)
    // retries are bounded
    reset(req => { req.socket.destroy() })
    assert.ok(await new CairnClient({ baseUrl: url, apiKey: 'k', retries: 2 }).files.list().catch(err => err) instanceof NetworkError)
    assert.equal(seen.length, 3)
  })

  test('AbortSignal ends a call the server never answers, and the wait before a retry', async () => {
    reset(() => {}) // never answers
    const ac = new AbortController()
    const call = new CairnClient({ baseUrl: url, apiKey: 'k' }).files.info('bafy', { signal: ac.signal })
    setTimeout(() => { ac.abort() }, 50)
    await assert.rejects(call, (err: any) => err.name === 'AbortError')
    reset((_req, res) => { json(res, 429, { status: 429, error: 'Too Many Requests', message: 'later' }, { 'retry-after': '30' }) })
    const ac2 = new AbortController()
    const waiting = new CairnClient({ baseUrl: url, apiKey: 'k' }).files.list({ signal: ac2.signal })
    setTimeout(() => { ac2.abort() }, 50)
    await assert.rejects(waiting, (err: any) => err.name === 'AbortError')
    assert.equal(seen.length, 1)
    // tasks.wait between two polls
    reset((_req, res) => { json(res, 200, { status: 200, data: { task_id: 't1', state: 'STARTED' } }) })
    const ac3 = new AbortController()
    const wait = new CairnClient({ baseUrl: url, apiKey: 'k' }).tasks.wait('t1', { signal: ac3.signal, intervalMs: 30_000 })
    setTimeout(() => { ac3.abort(new Error('stop waiting')) }, 50)
    await assert.rejects(wait, /stop waiting/)
    assert.equal(seen.length, 1)
  })

  test('each dialect\'s envelope becomes a typed error with its code and message', async () => {
    const client = new CairnClient({ baseUrl: url, apiKey: 'k', cloudKey: 'c' })
    const cases: Array<[number, unknown, new (...a: any[]) => CairnApiError, string, string]> = [
      [401, { status: 401, error: 'Unauthorized', message: 'Invalid API key' }, AuthError, 'Unauthorized', 'Invalid API key'],
      [404, { error: { reason: 'NOT_FOUND', details: 'no such pin' } }, NotFoundError, 'NOT_FOUND', 'no such pin'],
      [409, { error: { reason: 'INSUFFICIENT_FUNDS', details: 'over capacity' } }, QuotaError, 'INSUFFICIENT_FUNDS', 'over capacity'],
      [402, { detail: { error: 'quota_exceeded', message: 'over the storage pool' } }, QuotaError, 'quota_exceeded', 'over the storage pool'],
      [403, { detail: { error: 'insufficient_scope', message: 'this key lacks the scope files:write' } }, AuthError, 'insufficient_scope', 'this key lacks the scope files:write'],
      [404, { detail: 'file not found' }, NotFoundError, 'not_found', 'file not found'],
      [404, { status: 'error', data: { code: 404, name: 'NotFound', message: 'No such key' } }, NotFoundError, 'NotFound', 'No such key'],
      [400, { error: 'Cannot complete: parts 2 are missing', code: 'invalid_argument' }, CairnApiError, 'invalid_argument', 'Cannot complete: parts 2 are missing'],
      [413, { error: 'File too large' }, QuotaError, 'payload_too_large', 'File too large'],
      [404, { error: { code: 'not_found', message: 'account not found' } }, NotFoundError, 'not_found', 'account not found'],
      [500, 'oops', CairnApiError, 'internal_server_error', 'oops']
    ]
    for (const [status, body, cls, code, message] of cases) {
      reset((_req, res) => { if (typeof body === 'string') res.writeHead(status).end(body); else json(res, status, body) })
      const e = await client.files.info('x').catch(err => err)
      assert.ok(e instanceof cls, `${status} ${JSON.stringify(body)}: ${e?.name}`)
      assert.equal(e.status, status)
      assert.equal(e.code, code)
      assert.equal(e.message, message)
      assert.deepEqual(e.body, body)
    }
  })
})
