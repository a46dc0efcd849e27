/**
 * Upload sessions on PostgreSQL, where transactions run side by side: the migration runs, a
 * whole multipart upload works, and parts sent at once cannot together pass the size rule.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { serviceOrSkip } from './helpers/services.js'
import { serverOnFreshDatabase } from './helpers/pg.js'
import { type TestServer } from './helpers/server.js'
import { json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL upload sessions')
const KiB = 1024

describe('Upload sessions on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let s!: TestServer
  serverOnFreshDatabase(pgUrl as string, { CAIRN_SESSION_SWEEP_INTERVAL_SECONDS: '0' }, server => { s = server })

  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers }
    let payload: BodyInit | undefined
    if (body instanceof Uint8Array) payload = body as BodyInit
    else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json' }
    return await fetch(`${s.url}${path}`, { method, headers: h, body: payload })
  }

  test('parts sent at once stay within the size rule; the upload completes into the account\'s files', async () => {
    const a = await s.account()
    const sess = await json(await post(`${s.url}/session`, undefined, { rules: { maxTotalMegaBytes: 1 } }, { 'x-api-key': a.key }))
    const token = sess.credentials.token as string
    const u = await json(await call('POST', '/buckets', token, { totalParts: 6 }))
    const parts = [1, 2, 3, 4, 5, 6].map(n => deterministicBytes(300 * KiB, `pg-${n}`))
    const results = await Promise.all(parts.map(async (bytes, i) => await call('PUT', '/buckets', token, bytes, {
      partNumber: String(i + 1), key: u.key, uploadId: u.uploadId, 'content-type': 'application/octet-stream'
    })))
    const ok = results.filter(r => r.status === 200).length
    assert.deepEqual(results.map(r => r.status).filter(st => st !== 200 && st !== 413), [])
    assert.ok(ok >= 1 && ok <= 3, `${ok} parts of 300 KiB kept under a 1 MiB rule`)
    const f = await json(await call('GET', `/buckets/file/${u.key as string}`, token))
    assert.ok(f.size <= 1024 * KiB)
    assert.equal(f.partsReceived, ok)

    const small = await json(await call('POST', '/buckets', token, { totalParts: 2 }))
    await call('PUT', '/buckets', token, Buffer.from('two '), { partNumber: '2', key: small.key, uploadId: small.uploadId })
    await call('PUT', '/buckets', token, Buffer.from('one '), { partNumber: '1', key: small.key, uploadId: small.uploadId })
    const both = await Promise.all([1, 2].map(async () => await call('POST', '/buckets/complete', token, { key: small.key })))
    const statuses = both.map(r => r.status).sort()
    assert.ok(statuses[0] === 200 && (statuses[1] === 200 || statuses[1] === 409), statuses.join(','))
    const done = await json(both.find(r => r.status === 200) as Response)
    const cat = await post(`${s.url}/api/v0/cat?arg=${done.cid as string}`, a.auth)
    assert.equal(await cat.text(), 'one two ')
  })
})
