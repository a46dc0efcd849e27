/**
 * tus 1.0 at /files/tus over real HTTP on loopback, with the official tus-js-client where a
 * client is needed and raw requests where the protocol itself is under test.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { tusUpload } from './helpers/tus.js'

const TUS = '/files/tus'

async function raw (url: string, method: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
  return await fetch(url, { method, headers: { 'tus-resumable': '1.0.0', ...headers }, body: body as BodyInit | undefined })
}

function metadataOf (header: string | null): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of (header ?? '').split(',')) {
    const [k, v] = pair.trim().split(' ')
    if (k !== undefined && k !== '') out[k] = v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8')
  }
  return out
}

async function create (s: TestServer, key: string, length: number, extra: Record<string, string> = {}): Promise<string> {
  const res = await raw(`${s.url}${TUS}`, 'POST', { 'x-api-key': key, 'upload-length': String(length), ...extra })
  assert.equal(res.status, 201, await res.text())
  const loc = res.headers.get('location')
  assert.ok(loc !== null)
  return loc
}

describe('tus 1.0 at /files/tus', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_SESSION_SWEEP_INTERVAL_SECONDS: '0' }) })
  after(async () => { await s.close() })

  test('OPTIONS advertises tus 1.0 and its extensions without credentials', async () => {
    const res = await fetch(`${s.url}${TUS}`, { method: 'OPTIONS' })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('tus-version'), '1.0.0')
    const ext = (res.headers.get('tus-extension') ?? '').split(',')
    for (const e of ['creation', 'termination', 'expiration', 'checksum']) assert.ok(ext.includes(e), `${e} in ${ext.join(',')}`)
    assert.ok((res.headers.get('tus-checksum-algorithm') ?? '').split(',').includes('sha1'))
    assert.ok(Number(res.headers.get('tus-max-size')) > 0)
  })

  test('an upload with tus-js-client is imported: CID in a header and in the metadata, the file in FluxDrive, the temp file gone', async () => {
    const a = await s.account()
    const data = deterministicBytes(5 * 1024 * 1024 + 7, 'tus-basic')
    const { url, cid } = await tusUpload(data, {
      endpoint: `${s.url}${TUS}`,
      headers: { 'x-api-key': a.key },
      metadata: { filename: 'big.bin', filetype: 'application/octet-stream' },
      chunkSize: 2 * 1024 * 1024
    }).done
    const put = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'same.bin', data }])))
    assert.equal(cid, put.files[0].hash)

    const head = await raw(url, 'HEAD', { 'x-api-key': a.key })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('upload-offset'), String(data.length))
    assert.equal(head.headers.get('upload-length'), String(data.length))
    const meta = metadataOf(head.headers.get('upload-metadata'))
    assert.equal(meta.cid, cid)
    assert.equal(meta.filename, 'big.bin')

    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    const listed = ls.files.filter((f: any) => f.hash === cid)
    assert.ok(listed.some((f: any) => f.name === 'big.bin' && f.size === data.length), JSON.stringify(ls.files))
    const left = await readdir(join(s.dataDir, 'tus'))
    assert.ok(!left.includes(new URL(url).pathname.split('/').pop() ?? ''), `temp file removed: ${left.join(',')}`)
  })

  test('segments: one long PATCH is cut into durable segments, PATCHes of odd sizes carry their partial chunk; both give Kubo\'s CID and keep no copy', async () => {
    const a = await s.account()
    const db = s.core.metadata.db
    // tus-js-client's default: the whole file in one PATCH (40 MiB: cut every 16 MiB)
    const long = deterministicBytes(40 * 1024 * 1024 + 3, 'tus-one-patch')
    const one = await tusUpload(long, { endpoint: `${s.url}${TUS}`, headers: { 'x-api-key': a.key }, metadata: { filename: 'long.bin' }, chunkSize: Infinity }).done
    const put = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'long-put.bin', data: long }])))
    assert.equal(one.cid, put.files[0].hash)
    const filePack = await db.selectFrom('contents').select('pack_id').where('cid', '=', one.cid as string).executeTakeFirstOrThrow()
    const owned = await db.selectFrom('packs').select('id').where('part_of', '=', filePack.pack_id).execute()
    assert.equal(owned.length, 3, 'the file owns its three segments: nothing was copied')
    assert.equal((await db.selectFrom('tus_segments').select('upload_id').execute()).length, 0, 'no segment rows are left')

    // PATCHes of 1,000,000 bytes (not a multiple of 256 KiB): each answers every byte taken
    const odd = deterministicBytes(4_500_000, 'tus-odd-patches')
    const url = await create(s, a.key, odd.length)
    for (let at = 0; at < odd.length; at += 1_000_000) {
      const end = Math.min(odd.length, at + 1_000_000)
      const res = await raw(url, 'PATCH', { 'x-api-key': a.key, 'upload-offset': String(at), 'content-type': 'application/offset+octet-stream' }, odd.subarray(at, end))
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('upload-offset'), String(end))
      if (end === odd.length) {
        const other = await s.account()
        const oddPut = await json(await post(`${s.url}/api/v0/put`, other.auth, form([{ name: 'odd.bin', data: odd }])))
        assert.equal(res.headers.get('cairn-cid'), oddPut.files[0].hash)
      }
    }
    const cat = await post(`${s.url}/api/v0/cat?arg=${one.cid as string}&offset=${16 * 1024 * 1024 - 100}&length=200`, a.auth)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(long.subarray(16 * 1024 * 1024 - 100, 16 * 1024 * 1024 + 100)), 'a range across two segments')
    assert.deepEqual((await s.core.fsck()).problems, [])
  })

  test('credentials: none is 401, a Bearer API key works, another account\'s upload is 404', async () => {
    const a = await s.account()
    const b = await s.account()
    const none = await raw(`${s.url}${TUS}`, 'POST', { 'upload-length': '3' })
    assert.equal(none.status, 401)
    const badKey = await raw(`${s.url}${TUS}`, 'POST', { 'upload-length': '3', 'x-api-key': 'cairn_nope' })
    assert.equal(badKey.status, 401)
    const viaBearer = await raw(`${s.url}${TUS}`, 'POST', { 'upload-length': '3', authorization: `Bearer ${a.key}` })
    assert.equal(viaBearer.status, 201)
    const url = await create(s, a.key, 3)
    assert.equal((await raw(url, 'HEAD', { 'x-api-key': b.key })).status, 404)
    assert.equal((await raw(url, 'PATCH', { 'x-api-key': b.key, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, Buffer.from('abc'))).status, 404)
    assert.equal((await raw(url, 'DELETE', { 'x-api-key': b.key })).status, 404)
    assert.equal((await raw(url, 'HEAD', { 'x-api-key': a.key })).status, 200)
    // a client cannot claim someone else's upload through its metadata
    const forged = await create(s, a.key, 1, { 'upload-metadata': `cairn-owner ${Buffer.from(`account:${b.id}`).toString('base64')}` })
    assert.equal((await raw(forged, 'HEAD', { 'x-api-key': b.key })).status, 404)
  })

  test('checksum: a mismatching PATCH is 460 and not kept; a matching one is; unknown algorithms are 400', async () => {
    const a = await s.account()
    const url = await create(s, a.key, 11)
    const body = Buffer.from('hello world')
    const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('base64')
    const patch = async (checksum: string): Promise<Response> => await raw(url, 'PATCH', {
      'x-api-key': a.key, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'upload-checksum': checksum
    }, body)
    const bad = await patch(`sha1 ${sha1(Buffer.from('something else'))}`)
    assert.equal(bad.status, 460)
    const head = await raw(url, 'HEAD', { 'x-api-key': a.key })
    assert.equal(head.headers.get('upload-offset'), '0', 'the mismatching bytes were not kept')
    assert.equal((await patch('crc99 AAAA')).status, 400)
    const good = await patch(`sha1 ${sha1(body)}`)
    assert.equal(good.status, 204)
    assert.equal(good.headers.get('upload-offset'), '11')
    // Kubo's `ipfs add` of "hello world"
    assert.equal(good.headers.get('cairn-cid'), 'Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD')
  })

  test('several PATCHes, one refused by its checksum in the middle: the CID is the one-shot put\'s, and only one file is added', async () => {
    // PATCH bodies are imported as they arrive (writer.ts): a refused one must leave no byte in the file
    const a = await s.account()
    const data = deterministicBytes(3 * 1024 * 1024 + 777, 'tus-eager')
    const url = await create(s, a.key, data.byteLength)
    const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('base64')
    const patch = async (from: number, to: number, checksum?: string): Promise<Response> => await raw(url, 'PATCH', {
      'x-api-key': a.key, 'upload-offset': String(from), 'content-type': 'application/offset+octet-stream',
      ...(checksum === undefined ? {} : { 'upload-checksum': checksum })
    }, data.subarray(from, to))
    const MiB = 1024 * 1024
    assert.equal((await patch(0, MiB)).status, 204)
    // the same length of other bytes, with their own checksum claimed for ours: refused, not kept
    const wrong = Buffer.alloc(MiB, 0x55)
    const refused = await raw(url, 'PATCH', {
      'x-api-key': a.key, 'upload-offset': String(MiB), 'content-type': 'application/offset+octet-stream', 'upload-checksum': `sha1 ${sha1(data.subarray(MiB, 2 * MiB))}`
    }, wrong)
    assert.equal(refused.status, 460)
    assert.equal((await patch(MiB, 2 * MiB, `sha1 ${sha1(data.subarray(MiB, 2 * MiB))}`)).status, 204)
    const last = await patch(2 * MiB, data.byteLength)
    assert.equal(last.status, 204)
    const other = await s.account()
    const oneShot = await json(await post(`${s.url}/api/v0/put`, other.auth, form([{ name: 'x.bin', data }])))
    const cid = last.headers.get('cairn-cid')
    assert.ok(cid !== null)
    const cat = Buffer.from(await (await post(`${s.url}/api/v0/cat?arg=${cid}`, a.auth)).arrayBuffer())
    assert.ok(cat.equals(data), 'the stored bytes are the uploaded ones')
    assert.equal(cid, oneShot.files[0].hash)
    const listed = (await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.filter((f: { hash: string }) => f.hash === cid)
    assert.equal(listed.length, 1)
  })

  test('a PATCH body longer than the upload\'s remaining length is 413: with Content-Length nothing is kept, streamed (chunked) what fits is', async () => {
    const a = await s.account()
    const url = await create(s, a.key, 10)
    const headers = { 'x-api-key': a.key, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'tus-resumable': '1.0.0' }
    const res = await raw(url, 'PATCH', headers, Buffer.alloc(25, 7))
    assert.equal(res.status, 413)
    assert.equal((await raw(url, 'HEAD', { 'x-api-key': a.key })).headers.get('upload-offset'), '0')
    const chunked = await fetch(url, {
      method: 'PATCH',
      headers,
      body: new ReadableStream({ start (c) { c.enqueue(new Uint8Array(6).fill(1)); c.enqueue(new Uint8Array(19).fill(2)); c.close() } }),
      duplex: 'half'
    } as RequestInit)
    assert.equal(chunked.status, 413)
    assert.equal((await raw(url, 'HEAD', { 'x-api-key': a.key })).headers.get('upload-offset'), '10')
  })

  test('termination: DELETE ends an unfinished upload', async () => {
    const a = await s.account()
    const url = await create(s, a.key, 100)
    await raw(url, 'PATCH', { 'x-api-key': a.key, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, Buffer.alloc(40, 1))
    const del = await raw(url, 'DELETE', { 'x-api-key': a.key })
    assert.equal(del.status, 204)
    assert.equal((await raw(url, 'HEAD', { 'x-api-key': a.key })).status, 404)
    const id = new URL(url).pathname.split('/').pop() ?? ''
    assert.ok(!(await readdir(join(s.dataDir, 'tus'))).some(n => n.startsWith(id)))
    // the import that had started on the first PATCH is abandoned: no file, no space used
    await sleep(200)
    assert.deepEqual((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files, [])
    assert.equal(await s.core.drive.usage(a.id), 0)
  })

  test('limits: an upload larger than the capacity left is refused at creation', async () => {
    const a = await s.account({ capacity: 1000 })
    const res = await raw(`${s.url}${TUS}`, 'POST', { 'x-api-key': a.key, 'upload-length': '5000' })
    assert.equal(res.status, 413)
  })

  test('with a session token the file lands in the session\'s bucket', async () => {
    const a = await s.account()
    const sess = await json(await post(`${s.url}/session`, undefined, {}, { 'x-api-key': a.key }))
    const token = sess.credentials.token as string
    const data = Buffer.from('uploaded by a session member over tus')
    const { cid } = await tusUpload(data, { endpoint: `${s.url}${TUS}`, headers: { authorization: `Bearer ${token}` }, metadata: { filename: 'enc-name' } }).done
    const list = await (await fetch(`${s.url}/buckets`, { headers: { authorization: `Bearer ${token}` } })).json() as any[]
    assert.equal(list.length, 1)
    assert.equal(list[0].cid, cid)
    assert.equal(list[0].completed, true)
    assert.equal(list[0].encryptedName, 'enc-name')
    assert.equal(list[0].size, data.length)
  })
})

describe('tus expiration', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_TUS_EXPIRY_SECONDS: '1', CAIRN_SESSION_SWEEP_INTERVAL_SECONDS: '1' }) })
  after(async () => { await s.close() })

  test('an unfinished upload answers Upload-Expires and is gone after it', async () => {
    const a = await s.account()
    const res = await raw(`${s.url}${TUS}`, 'POST', { 'x-api-key': a.key, 'upload-length': '10' })
    assert.equal(res.status, 201)
    assert.ok(Date.parse(res.headers.get('upload-expires') ?? '') > 0, 'Upload-Expires is an HTTP date')
    const url = res.headers.get('location') ?? ''
    // the sweep runs every second; wait until it has run past the expiry
    let status = 200
    for (let i = 0; i < 50 && status !== 404; i++) {
      await sleep(200)
      status = (await raw(url, 'HEAD', { 'x-api-key': a.key })).status
    }
    assert.equal(status, 404)
  })
})
