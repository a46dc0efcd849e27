/**
 * FluidCloud multipart upload tickets: from CAIRN_CLOUD_MULTIPART_THRESHOLD up, initiate answers
 * one presigned URL per part; the client PUTs each part, keeps its ETag, and complete assembles
 * them. On the filesystem store (signed part URLs on the files origin) and on S3 (Swift: real
 * presigned UploadPart URLs of the bucket).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { freshBucket, s3ProcessEnv, s3TestEnv } from './helpers/s3.js'
import { api, defaultSpace, filesUrl, scanned, tenant, uploadViaTicket, type CloudTenant } from './helpers/fluidcloud.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** PUT every part of a multipart ticket; answers [{part_number, etag}] */
async function putParts (s: TestServer, init: any, data: Uint8Array): Promise<Array<{ part_number: number, etag: string }>> {
  const out = []
  for (const p of init.parts) {
    const body = data.subarray((p.part_number - 1) * init.part_size, p.part_number * init.part_size)
    const res = await fetch(filesUrl(s, p.url), { method: 'PUT', headers: init.headers, body: body as unknown as BodyInit })
    assert.equal(res.status, 200, await res.clone().text())
    const etag = res.headers.get('etag')
    assert.ok(etag !== null)
    out.push({ part_number: p.part_number, etag })
  }
  return out
}

describe('FluidCloud multipart uploads (filesystem store)', () => {
  let s: TestServer
  let A: CloudTenant
  let B: CloudTenant
  let space: string
  before(async () => {
    s = await startServer({ CAIRN_CLOUD_MULTIPART_THRESHOLD: '100KiB', CAIRN_CLOUD_MULTIPART_PART_SIZE: '40KiB' })
    A = await tenant(s)
    B = await tenant(s)
    space = await defaultSpace(s, A.live)
  })
  after(async () => { await s.close() })

  test('below the threshold an upload is one PUT; from it up, part tickets on the files origin', async () => {
    const small = await api(s, A.live, 'POST', '/uploads/initiate', { name: 'a.bin', size: 100 * 1024 - 1, space_id: space })
    assert.equal(small.body.mode, 'single')
    assert.equal(typeof small.body.upload_url, 'string')
    const big = await api(s, A.live, 'POST', '/uploads/initiate', { name: 'b.bin', size: 100 * 1024, space_id: space })
    assert.equal(big.status, 201)
    assert.equal(big.body.mode, 'multipart')
    assert.equal(big.body.upload_url, undefined)
    assert.equal(big.body.part_size, 40 * 1024)
    assert.deepEqual(big.body.parts.map((p: any) => p.part_number), [1, 2, 3])
    assert.ok(big.body.parts[1].url.startsWith(`${s.config.filesOrigin}/uploads/${big.body.file_id as string}/parts/2?expires=`))
  })

  test('parts PUT out of order, then complete with their ETags: one file with the exact bytes, scanned clean', async () => {
    const data = deterministicBytes(100 * 1024 + 12_345, 'multipart fs')
    const init = (await api(s, A.live, 'POST', '/uploads/initiate', { name: 'big.bin', size: data.byteLength, space_id: space, client_key: 'mp/big' })).body
    assert.equal(init.parts.length, 3)
    const parts = (await putParts(s, { ...init, parts: [...init.parts].reverse() }, data)).reverse()
    // a part answers its MD5 as the ETag, as S3 does
    assert.equal(parts[0].etag, `"${createHash('md5').update(data.subarray(0, 40 * 1024)).digest('hex')}"`)
    const done = await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, parts, sha256: sha256(data) })
    assert.equal(done.status, 201, JSON.stringify(done.body))
    assert.equal(done.body.size, data.byteLength)
    assert.equal(done.body.sha256, sha256(data))
    assert.equal((await scanned(s, A.live, done.body.id)).scan_status, 'clean')
    const link = await api(s, A.live, 'GET', `/files/${done.body.id as string}/download-url`)
    const res = await fetch(filesUrl(s, link.body.url))
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(data))
    // completing again answers the same file; the parts are gone from staging
    assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, parts })).body.id, done.body.id)
  })

  test('complete refuses missing, duplicate, wrong or absent ETags (422 {detail}); a part may be sent again', async () => {
    const data = deterministicBytes(130 * 1024, 'multipart bad')
    const init = (await api(s, A.live, 'POST', '/uploads/initiate', { name: 'bad.bin', size: data.byteLength, space_id: space })).body
    assert.equal(init.parts.length, 4)
    const parts = await putParts(s, init, data)
    const complete = async (body: Record<string, unknown>): Promise<{ status: number, body: any }> => await api(s, A.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, ...body })
    for (const bad of [
      {},
      { parts: parts.slice(0, 3) },
      { parts: [parts[0], parts[0], parts[2], parts[3]] },
      { parts: [{ ...parts[0], etag: '"' + '0'.repeat(32) + '"' }, ...parts.slice(1)] },
      { parts: [{ ...parts[0], part_number: 9 }, ...parts.slice(1)] }
    ]) {
      const r = await complete(bad)
      assert.equal(r.status, 422, JSON.stringify(bad))
      assert.equal(typeof r.body.detail, 'string')
    }
    // a part too large, or beyond the last, is refused at the files origin
    const tooBig = await fetch(filesUrl(s, init.parts[3].url), { method: 'PUT', body: new Uint8Array(40 * 1024) })
    assert.equal(tooBig.status, 413)
    const forged = init.parts[0].url.replace('/parts/1?', '/parts/2?')
    assert.equal((await fetch(filesUrl(s, forged), { method: 'PUT', body: 'x' })).status, 403)
    // the single-PUT URL does not take a multipart upload's bytes
    const single = init.parts[0].url.replace('/parts/1?', '?')
    assert.notEqual((await fetch(filesUrl(s, single), { method: 'PUT', body: 'x' })).status, 200)
    // part 2 sent again with other bytes: its new ETag is the one complete takes
    const again = await fetch(filesUrl(s, init.parts[1].url), { method: 'PUT', body: new Uint8Array(40 * 1024) })
    parts[1] = { part_number: 2, etag: again.headers.get('etag') ?? '' }
    const done = await complete({ parts })
    assert.equal(done.status, 201, JSON.stringify(done.body))
    const want = Buffer.from(data)
    want.fill(0, 40 * 1024, 80 * 1024)
    assert.equal(done.body.sha256, sha256(want))
  })

  test('parts to a single upload are refused; another tenant cannot complete the upload (404)', async () => {
    const data = deterministicBytes(120 * 1024, 'multipart tenant')
    const init = (await api(s, A.live, 'POST', '/uploads/initiate', { name: 't.bin', size: data.byteLength, space_id: space })).body
    const parts = await putParts(s, init, data)
    assert.equal((await api(s, B.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, parts })).status, 404)
    const small = await uploadViaTicket(s, A.live, space, 'small.bin', new Uint8Array(10))
    assert.equal(small.size, 10)
    const one = (await api(s, A.live, 'POST', '/uploads/initiate', { name: 'one.bin', size: 3, space_id: space })).body
    assert.equal((await api(s, A.live, 'POST', '/uploads/complete', { file_id: one.file_id, key: one.key, parts })).status, 422)
  })
})

const s3 = s3TestEnv()
if (s3 !== undefined) {
  describe('FluidCloud multipart uploads on S3 (Swift)', () => {
    let s: TestServer
    let t: CloudTenant
    let drop: () => Promise<void>
    before(async () => {
      const b = await freshBucket(s3)
      drop = b.drop
      // S3 takes parts of 5 MiB and more (the last may be smaller)
      s = await startServer({ ...s3ProcessEnv(s3, b.bucket), CAIRN_CLOUD_MULTIPART_THRESHOLD: '6MiB', CAIRN_CLOUD_MULTIPART_PART_SIZE: '5MiB' })
      t = await tenant(s)
    })
    after(async () => { await s?.close(); await drop?.() })

    test('initiate answers real presigned UploadPart URLs of the bucket; complete assembles the parts by their ETags', async () => {
      const data = deterministicBytes(11 * 1024 * 1024 + 333, 'multipart s3')
      const init = (await api(s, t.live, 'POST', '/uploads/initiate', { name: 'big.bin', size: data.byteLength, space_id: await defaultSpace(s, t.live) })).body
      assert.equal(init.mode, 'multipart')
      assert.equal(init.parts.length, 3)
      const u = new URL(init.parts[0].url)
      assert.equal(u.origin, new URL(s3.endpoint).origin) // the bucket itself
      assert.equal(u.searchParams.get('partNumber'), '1')
      assert.ok(u.searchParams.get('uploadId') !== null)
      assert.ok(u.searchParams.get('X-Amz-Signature') !== null)
      const parts = await putParts(s, init, data)
      // a wrong ETag is refused by the bucket at complete: 422
      const wrong = await api(s, t.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, parts: [{ part_number: 1, etag: '"' + '0'.repeat(32) + '"' }, ...parts.slice(1)] })
      assert.equal(wrong.status, 422, JSON.stringify(wrong.body))
      const done = await api(s, t.live, 'POST', '/uploads/complete', { file_id: init.file_id, key: init.key, parts, sha256: sha256(data) })
      assert.equal(done.status, 201, JSON.stringify(done.body))
      assert.equal(done.body.size, data.byteLength)
      assert.equal((await scanned(s, t.live, done.body.id)).scan_status, 'clean')
      const link = await api(s, t.live, 'GET', `/files/${done.body.id as string}/download-url`)
      assert.equal(sha256(Buffer.from(await (await fetch(filesUrl(s, link.body.url))).arrayBuffer())), sha256(data))
    })
  })
}
