/**
 * Range requests to the path gateway, and the short way a plain `GET /ipfs/<cid>` of a file
 * takes once the gateway has served that file (dialects/ipfs-gateway/index.ts, knownFiles):
 * the same status, headers and bytes as the long way (the same URL with a query parameter,
 * which never takes the short way), for ranges inside a leaf, across leaf boundaries, the
 * last byte, suffixes and open ends; and the policy still asked every time.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { gw } from './helpers/ipfs.js'
import { freeSpanBuffers } from '../src/core/content/span-pool.js'

const LEAF = 256 * 1024
/** five whole 256 KiB leaves and a short sixth */
const SIZE = 5 * LEAF + 12345

/** the headers a client sees, without the ones that change by the second */
function headersOf (res: Response): Record<string, string> {
  const out: Record<string, string> = {}
  res.headers.forEach((v, k) => { if (k !== 'date' && k !== 'keep-alive' && k !== 'connection') out[k] = v })
  return out
}

describe('gateway: range requests of a known file', () => {
  let s: TestServer
  let data: Buffer
  let cid: string
  let auth: string

  before(async () => {
    s = await startServer()
    const a = await s.account()
    auth = a.auth
    data = deterministicBytes(SIZE, 'gateway-ranges')
    cid = (await json(await post(`${s.url}/api/v0/put`, auth, form([{ name: 'r.bin', data }])))).hash as string
    assert.match(cid, /^Qm/, 'CIDv0 with 256 KiB dag-pb leaves, as Kubo adds it')
    // the first request takes the long way and makes the file known
    const first = await gw(s, `/ipfs/${cid}`)
    assert.equal(first.res.status, 200)
    assert.deepEqual(first.body, data)
  })
  after(async () => { await s.close() })

  const cases: Array<{ name: string, range: (size: number) => string, status: number, start?: number, end?: number }> = [
    { name: 'inside the first leaf', range: () => 'bytes=0-99', status: 206, start: 0, end: 100 },
    { name: 'across one leaf boundary', range: () => `bytes=${LEAF - 10}-${LEAF + 9}`, status: 206, start: LEAF - 10, end: LEAF + 10 },
    { name: 'exactly one leaf', range: () => `bytes=${LEAF}-${2 * LEAF - 1}`, status: 206, start: LEAF, end: 2 * LEAF },
    { name: '1 MiB across four boundaries (streamed)', range: () => `bytes=${LEAF / 2}-${LEAF / 2 + 1024 * 1024 - 1}`, status: 206, start: LEAF / 2, end: LEAF / 2 + 1024 * 1024 },
    { name: 'the last byte', range: n => `bytes=${n - 1}-${n - 1}`, status: 206, start: SIZE - 1, end: SIZE },
    { name: 'open-ended from the last leaf', range: () => `bytes=${5 * LEAF + 7}-`, status: 206, start: 5 * LEAF + 7, end: SIZE },
    { name: 'open-ended from the middle', range: () => 'bytes=300000-', status: 206, start: 300000, end: SIZE },
    { name: 'a suffix', range: () => 'bytes=-20000', status: 206, start: SIZE - 20000, end: SIZE },
    { name: 'a suffix longer than the file', range: n => `bytes=-${n + 5}`, status: 206, start: 0, end: SIZE },
    { name: 'an end past the file', range: n => `bytes=${n - 3}-${n + 100}`, status: 206, start: SIZE - 3, end: SIZE },
    { name: 'a start past the file', range: n => `bytes=${n}-`, status: 416 },
    { name: 'several ranges (the whole file instead)', range: () => 'bytes=0-1,5-6', status: 200, start: 0, end: SIZE }
  ]

  for (const c of cases) {
    test(`${c.name}: the right bytes, and the same answer as the long way`, async () => {
      const headers = { range: c.range(SIZE) }
      const short = await gw(s, `/ipfs/${cid}`, headers)
      const long = await gw(s, `/ipfs/${cid}?long=way`, headers)
      assert.equal(short.res.status, c.status)
      assert.equal(long.res.status, c.status)
      const sh = headersOf(short.res)
      const lh = headersOf(long.res)
      assert.deepEqual(sh, lh)
      if (c.status === 416) {
        assert.equal(sh['content-range'], `bytes */${SIZE}`)
        return
      }
      const expected = data.subarray(c.start, c.end)
      assert.equal(short.body.byteLength, expected.byteLength)
      assert.ok(short.body.equals(expected), 'the bytes of the range')
      assert.ok(long.body.equals(expected))
      assert.equal(sh['content-length'], String(expected.byteLength))
      if (c.status === 206) assert.equal(sh['content-range'], `bytes ${c.start ?? 0}-${(c.end ?? 0) - 1}/${SIZE}`)
      assert.equal(sh.etag, `"${cid}"`)
      assert.equal(sh['accept-ranges'], 'bytes')
      assert.equal(sh['x-ipfs-path'], `/ipfs/${cid}`)
      assert.equal(sh['cache-control'], 'public, max-age=29030400, immutable')
    })
  }

  test('HEAD, If-None-Match and an Accept that asks for a block answer as the long way does', async () => {
    const head = await gw(s, `/ipfs/${cid}`, { range: 'bytes=10-19' }, 'HEAD')
    assert.equal(head.res.status, 206)
    assert.equal(head.res.headers.get('content-length'), '10')
    assert.equal(head.body.byteLength, 0)
    assert.deepEqual(headersOf(head.res), headersOf((await gw(s, `/ipfs/${cid}?long=way`, { range: 'bytes=10-19' }, 'HEAD')).res))

    const notModified = await gw(s, `/ipfs/${cid}`, { 'if-none-match': `"${cid}"`, range: 'bytes=0-9' })
    assert.equal(notModified.res.status, 304)
    assert.deepEqual(headersOf(notModified.res), headersOf((await gw(s, `/ipfs/${cid}?long=way`, { 'if-none-match': `"${cid}"` })).res))

    // the same URL with Accept: a block is its raw root block, not the file's bytes
    const raw = await gw(s, `/ipfs/${cid}`, { accept: 'application/vnd.ipld.raw' })
    assert.equal(raw.res.status, 200)
    assert.equal(raw.res.headers.get('content-type'), 'application/vnd.ipld.raw')
    assert.ok(raw.body.byteLength < 1024, 'the root node, not the file')
  })

  test('range answers in parallel each get their own bytes, and their span buffers go back to the pool', async () => {
    const ranges = Array.from({ length: 24 }, (_, i) => {
      const start = (i * 97 * 1024 + i) % (SIZE - 1)
      return { start, end: Math.min(SIZE, start + [1, 5000, 300 * 1024, 1024 * 1024][i % 4]) }
    })
    for (let round = 0; round < 2; round++) {
      await Promise.all(ranges.map(async r => {
        const got = await gw(s, `/ipfs/${cid}`, { range: `bytes=${r.start}-${r.end - 1}` })
        assert.equal(got.res.status, 206)
        assert.ok(got.body.equals(data.subarray(r.start, r.end)), `bytes ${r.start}-${r.end - 1}`)
      }))
    }
    assert.ok(freeSpanBuffers() > 0, 'sent span buffers were handed back for reuse')
  })

  test('a client that stops reading still gets its bytes intact while other range answers run', async () => {
    const MiB = 1024 * 1024
    const slow = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${s.filesUrl}/ipfs/${cid}`, { headers: { range: `bytes=1-${MiB}` } }, resolve)
      req.once('error', reject)
      req.end()
    })
    slow.pause()
    assert.equal(slow.statusCode, 206)
    for (let i = 0; i < 12; i++) {
      const start = (i * 61 * 1024) % (SIZE - MiB)
      const got = await gw(s, `/ipfs/${cid}`, { range: `bytes=${start}-${start + MiB - 1}` })
      assert.ok(got.body.equals(data.subarray(start, start + MiB)))
    }
    const parts: Buffer[] = []
    slow.on('data', (d: Buffer) => parts.push(d))
    slow.resume()
    await once(slow, 'end')
    assert.ok(Buffer.concat(parts).equals(data.subarray(1, MiB + 1)), 'the paused answer is intact')
  })

  test('removed content is a 404 at once, though its answer was known', async () => {
    const other = deterministicBytes(3 * LEAF + 1, 'gateway-ranges-removed')
    const put = await json(await post(`${s.url}/api/v0/put`, auth, form([{ name: 'gone.bin', data: other }])))
    const gone = put.hash as string
    const r1 = await gw(s, `/ipfs/${gone}`, { range: `bytes=${LEAF - 1}-${LEAF}` })
    assert.equal(r1.res.status, 206)
    assert.ok(r1.body.equals(other.subarray(LEAF - 1, LEAF + 1)))
    assert.equal((await gw(s, `/ipfs/${gone}`, { range: 'bytes=0-0' })).res.status, 206)

    assert.equal((await post(`${s.url}/api/v0/rm?arg=${gone}`, auth)).status, 200)
    const after = await gw(s, `/ipfs/${gone}`, { range: 'bytes=0-0' })
    assert.equal(after.res.status, 404, 'no longer pinned: not served, though still stored until collected')
    assert.equal((await gw(s, `/ipfs/${gone}`)).res.status, 404)
    assert.equal((await gw(s, `/ipfs/${gone}`, { 'cache-control': 'only-if-cached' })).res.status, 412, 'and only-if-cached says it is not held')

    // pinned again: served again
    await post(`${s.url}/api/v0/put`, auth, form([{ name: 'back.bin', data: other }]))
    const back = await gw(s, `/ipfs/${gone}`, { range: 'bytes=-1' })
    assert.equal(back.res.status, 206)
    assert.ok(back.body.equals(other.subarray(other.byteLength - 1)))
  })
})
