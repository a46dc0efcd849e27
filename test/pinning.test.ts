/**
 * The IPFS Pinning Service API (/pins) over real HTTP on loopback: Bearer auth, every list
 * filter, add/get/replace/delete, the spec's error shape, pins keeping content from the
 * collector, and background fetches from a second Cairn server's trustless gateway (its files
 * origin), from a pin's origins, and from a tampered upstream that must end `failed`.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { TrustlessFetcher } from '../src/adapters/trustless-fetcher.js'
import { serviceOrSkip } from './helpers/services.js'
import { pgDatabases } from './helpers/pg.js'

const NOWHERE = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' // a CID no one stores

interface Acct { id: string, zelid: string, key: string, auth: string }

function pins (s: TestServer, a: Acct) {
  const h = { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' }
  return {
    add: async (body: unknown) => await fetch(`${s.url}/pins`, { method: 'POST', headers: h, body: JSON.stringify(body) }),
    replace: async (id: string, body: unknown) => await fetch(`${s.url}/pins/${id}`, { method: 'POST', headers: h, body: JSON.stringify(body) }),
    get: async (id: string) => await fetch(`${s.url}/pins/${id}`, { headers: { authorization: h.authorization } }),
    del: async (id: string) => await fetch(`${s.url}/pins/${id}`, { method: 'DELETE', headers: { authorization: h.authorization } }),
    list: async (query = '') => await fetch(`${s.url}/pins${query === '' ? '' : '?' + query}`, { headers: { authorization: h.authorization } })
  }
}

async function put (s: TestServer, a: Acct, name: string, data: Uint8Array | string): Promise<string> {
  const res = await post(`${s.url}/api/v0/put`, a.auth, form([{ name, data }]))
  assert.equal(res.status, 200)
  return (await json(res)).files[0].hash
}

/** wait (polling) until the pin leaves queued/pinning */
async function settled (s: TestServer, a: Acct, id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const p = await json(await pins(s, a).get(id))
    if (p.status === 'pinned' || p.status === 'failed') return p
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`pin ${id} never settled`)
}

async function listen (server: Server): Promise<string> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** An upstream that answers every CID with wrong bytes: a CAR whose block does not hash to its CID, and raw blocks likewise. */
function tamperedGateway (): Server {
  return createServer((req, res) => {
    const m = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
    if (m === null) { res.writeHead(404).end(); return }
    const cid = CID.parse(m[1])
    const evil = new TextEncoder().encode('not the bytes you asked for')
    if ((req.url ?? '').includes('format=car')) {
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.car; version=1' })
      const { writer, out } = CarWriter.create([cid])
      void (async () => { await writer.put({ cid, bytes: evil }); await writer.close() })()
      void (async () => { for await (const chunk of out) res.write(chunk); res.end() })()
      return
    }
    res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(evil)
  })
}

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL pinning')

pinningSuite('Pinning Service API', async () => ({ env: {}, cleanup: async () => {} }))
describe('on PostgreSQL', { skip: pgUrl === undefined }, () => {
  pinningSuite('Pinning Service API on PostgreSQL', async () => {
    const dbs = pgDatabases(pgUrl as string)
    const db = await dbs.fresh()
    return { env: { CAIRN_DATABASE_URL: db.url }, cleanup: async () => { await dbs.drop(db.name); await dbs.end() } }
  })
})

function pinningSuite (label: string, store: () => Promise<{ env: Record<string, string>, cleanup: () => Promise<void> }>): void {
  describe(label, () => {
    let s: TestServer
    let a: Acct
    let cleanup: () => Promise<void>
    before(async () => {
      const st = await store()
      cleanup = st.cleanup
      s = await startServer({ CAIRN_PIN_TIMEOUT_SECONDS: '2', CAIRN_GC_GRACE_SECONDS: '0', ...st.env })
      a = await s.account()
    })
    after(async () => { await s.close(); await cleanup() })

    test('Bearer auth: missing or wrong token is 401 in the spec\'s error shape', async () => {
      const none = await fetch(`${s.url}/pins`)
      assert.equal(none.status, 401)
      assert.equal((await json(none)).error.reason, 'UNAUTHORIZED')
      const wrong = await fetch(`${s.url}/pins`, { headers: { authorization: 'Bearer cairn_nope' } })
      assert.equal(wrong.status, 401)
      const body = await json(wrong)
      assert.equal(body.error.reason, 'UNAUTHORIZED')
      assert.equal(typeof body.error.details, 'string')
      // FluxDrive's Basic credentials are not a Bearer token
      assert.equal((await fetch(`${s.url}/pins`, { headers: { authorization: a.auth } })).status, 401)
    })

    test('a pin of stored content is pinned at once (202), with delegates, and get/list show it', async () => {
      const cid = await put(s, a, 'hello.txt', 'hello pins\n')
      const res = await pins(s, a).add({ cid, name: 'hello.txt', meta: { app: 'test' } })
      assert.equal(res.status, 202)
      const p = await json(res)
      assert.equal(p.status, 'pinned')
      assert.equal(p.pin.cid, cid)
      assert.equal(p.pin.name, 'hello.txt')
      assert.deepEqual(p.pin.meta, { app: 'test' })
      assert.deepEqual(p.pin.origins, [])
      assert.ok(Array.isArray(p.delegates) && p.delegates.length >= 1)
      assert.match(p.delegates[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http$/)
      assert.ok(!Number.isNaN(Date.parse(p.created)))
      const got = await json(await pins(s, a).get(p.requestid))
      assert.deepEqual(got, p)
      const listed = await json(await pins(s, a).list())
      assert.ok(listed.results.some((r: any) => r.requestid === p.requestid))
    })

    test('bad input is 400 BAD_REQUEST; unknown or another account\'s pin is 404 NOT_FOUND', async () => {
      for (const body of [{ cid: 'not-a-cid' }, {}, { cid: NOWHERE, name: 'x'.repeat(256) }, { cid: NOWHERE, meta: { a: { b: 'c' } } }, { cid: NOWHERE, origins: ['/ip4/203.0.113.1/tcp/80/http', '/ip4/203.0.113.1/tcp/80/http'] }]) {
        const res = await pins(s, a).add(body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal((await json(res)).error.reason, 'BAD_REQUEST')
      }
      for (const q of ['limit=0', 'limit=1001', 'limit=x', 'status=done', 'match=fuzzy', 'before=yesterday', 'meta=notjson', 'cid=nope', 'cid=' + Array(11).fill(NOWHERE).join(',')]) {
        const res = await pins(s, a).list(q)
        assert.equal(res.status, 400, q)
        assert.equal((await json(res)).error.reason, 'BAD_REQUEST')
      }
      const res = await pins(s, a).get('00000000-0000-0000-0000-000000000000')
      assert.equal(res.status, 404)
      assert.equal((await json(res)).error.reason, 'NOT_FOUND')
      const mine = await json(await pins(s, a).add({ cid: NOWHERE }))
      const b = await s.account()
      assert.equal((await pins(s, b).get(mine.requestid)).status, 404)
      assert.equal((await pins(s, b).del(mine.requestid)).status, 404)
      assert.equal((await pins(s, b).replace(mine.requestid, { cid: NOWHERE })).status, 404)
      assert.equal((await pins(s, a).del(mine.requestid)).status, 202)
    })

    test('content that cannot be fetched is queued, then failed with the reason after the timeout', async () => {
      const res = await pins(s, a).add({ cid: NOWHERE, name: 'lost' })
      assert.equal(res.status, 202)
      const p = await json(res)
      assert.ok(p.status === 'queued' || p.status === 'pinning')
      const done = await settled(s, a, p.requestid)
      assert.equal(done.status, 'failed')
      assert.match(done.info.status_details, /not found within 2 s/)
      // the default list shows pinned pins only
      const listed = await json(await pins(s, a).list())
      assert.ok(!listed.results.some((r: any) => r.requestid === p.requestid))
      const failed = await json(await pins(s, a).list('status=failed'))
      assert.ok(failed.results.some((r: any) => r.requestid === p.requestid))
      // with another filter and no status, every status matches ("when no filter is provided, only successful pins")
      const named = await json(await pins(s, a).list('name=lost'))
      assert.deepEqual(named.results.map((r: any) => r.requestid), [p.requestid])
      assert.equal((await json(await pins(s, a).list('name=lost&status=pinned'))).count, 0)
    })

    test('every list filter: cid, name in four match modes, status, before/after, limit, meta', async () => {
      const c = await s.account()
      const api = pins(s, c)
      const cids = [await put(s, c, 'one', 'one'), await put(s, c, 'two', 'two'), await put(s, c, 'three', 'three')]
      const made: any[] = []
      for (const [i, [cid, name, meta]] of ([[cids[0], 'Report.PDF', { app: 'a', n: '1' }], [cids[1], 'report.pdf', { app: 'b' }], [cids[2], 'notes 100%_x', { app: 'a', n: '2' }]] as const).entries()) {
        made.push(await json(await api.add({ cid, name, meta })))
        if (i < 2) await new Promise(resolve => setTimeout(resolve, 5))
      }
      const ids = async (q: string): Promise<string[]> => (await json(await api.list(q))).results.map((r: any) => r.pin.name)
      assert.deepEqual(await ids(''), ['notes 100%_x', 'report.pdf', 'Report.PDF'], 'newest first')
      assert.deepEqual(await ids('name=report.pdf'), ['report.pdf'])
      assert.deepEqual(await ids('name=report.pdf&match=exact'), ['report.pdf'])
      assert.deepEqual(await ids('name=REPORT.pdf&match=iexact'), ['report.pdf', 'Report.PDF'])
      assert.deepEqual(await ids('name=port.p&match=partial'), ['report.pdf'])
      assert.deepEqual(await ids('name=PORT&match=ipartial'), ['report.pdf', 'Report.PDF'])
      assert.deepEqual(await ids(`name=${encodeURIComponent('100%_')}&match=partial`), ['notes 100%_x'], 'LIKE wildcards are plain characters')
      assert.deepEqual(await ids(`name=${encodeURIComponent('%')}&match=ipartial`), ['notes 100%_x'])
      assert.deepEqual(await ids(`cid=${cids[0]},${cids[2]}`), ['notes 100%_x', 'Report.PDF'])
      assert.deepEqual(await ids(`cid=${CID.parse(cids[1]).toV1().toString()}`), ['report.pdf'], 'either spelling of a CID')
      assert.deepEqual(await ids('status=queued,pinning'), [])
      assert.deepEqual(await ids('status=pinned,failed&limit=2'), ['notes 100%_x', 'report.pdf'])
      const page = await json(await api.list('limit=1'))
      assert.equal(page.count, 3, 'count is every match, results one page')
      assert.equal(page.results.length, 1)
      assert.deepEqual(await ids(`before=${encodeURIComponent(made[2].created)}`), ['report.pdf', 'Report.PDF'])
      assert.deepEqual(await ids(`after=${encodeURIComponent(made[0].created)}`), ['notes 100%_x', 'report.pdf'])
      assert.deepEqual(await ids(`after=${encodeURIComponent(made[0].created)}&before=${encodeURIComponent(made[2].created)}`), ['report.pdf'])
      assert.deepEqual(await ids(`meta=${encodeURIComponent('{"app":"a"}')}`), ['notes 100%_x', 'Report.PDF'])
      assert.deepEqual(await ids(`meta=${encodeURIComponent('{"app":"a","n":"1"}')}`), ['Report.PDF'])
      assert.deepEqual(await ids(`meta=${encodeURIComponent('{"app":"A"}')}`), [], 'meta values match exactly')
      const metaPage = await json(await api.list(`meta=${encodeURIComponent('{"app":"a"}')}&limit=1`))
      assert.equal(metaPage.count, 2)
      assert.equal(metaPage.results.length, 1)
    })

    test('replace makes a new pin and removes the old; delete answers 202', async () => {
      const c = await s.account()
      const api = pins(s, c)
      const x = await put(s, c, 'x', 'x content')
      const y = await put(s, c, 'y', 'y content')
      const old = await json(await api.add({ cid: x, name: 'x' }))
      const res = await api.replace(old.requestid, { cid: y, name: 'y' })
      assert.equal(res.status, 202)
      const made = await json(res)
      assert.notEqual(made.requestid, old.requestid)
      assert.equal(made.pin.cid, y)
      assert.equal(made.status, 'pinned')
      assert.equal((await api.get(old.requestid)).status, 404)
      const del = await api.del(made.requestid)
      assert.equal(del.status, 202)
      assert.equal((await api.get(made.requestid)).status, 404)
      assert.equal((await api.del(made.requestid)).status, 404)
    })

    test('a pin keeps its content from the collector; deleting the last pin frees it', async () => {
      const c = await s.account()
      const data = randomBytes(300_000)
      const cid = await put(s, c, 'keep.bin', data)
      const p1 = await json(await pins(s, c).add({ cid }))
      const p2 = await json(await pins(s, c).add({ cid, name: 'second' }))
      // the FluxDrive entry goes: only the pins hold the content now
      assert.equal((await post(`${s.url}/api/v0/rm?arg=${cid}`, c.auth)).status, 200)
      await s.core.gc()
      const cat = await post(`${s.url}/api/v0/cat?arg=${cid}`, c.auth)
      assert.equal(cat.status, 200)
      assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
      assert.equal(await s.core.drive.usage(c.id), data.length, 'two pins of one CID count once')
      assert.equal((await pins(s, c).del(p1.requestid)).status, 202)
      await s.core.gc()
      assert.equal((await post(`${s.url}/api/v0/cat?arg=${cid}`, c.auth)).status, 200, 'the second pin still holds it')
      assert.equal((await pins(s, c).del(p2.requestid)).status, 202)
      assert.equal(await s.core.drive.usage(c.id), 0)
      await s.core.gc()
      assert.equal(await s.core.content.isStored(CID.parse(cid)), false, 'collected once no pin holds it')
    })

    test('a pin counts against the quota: over capacity is 409 INSUFFICIENT_FUNDS', async () => {
      const big = await s.account()
      const cid = await put(s, big, 'big.bin', randomBytes(200_000))
      const small = await s.account({ capacity: 1000 })
      const res = await pins(s, small).add({ cid })
      assert.equal(res.status, 409)
      assert.equal((await json(res)).error.reason, 'INSUFFICIENT_FUNDS')
      assert.equal((await json(await pins(s, small).list('status=queued,pinning,pinned,failed'))).count, 0, 'nothing half-made')
    })

    test('a file inside a stored folder is pinned from the local store as a DAG of its own', async () => {
      const c = await s.account()
      const fd = form([{ name: 'dir/a.txt', data: 'inside a folder' }, { name: 'dir/b.txt', data: 'another' }])
      const res = await post(`${s.url}/api/v0/putfolder?name=dir`, c.auth, fd)
      assert.equal(res.status, 200)
      const folder = await json(res)
      const member = await s.core.metadata.db.selectFrom('content_members').select('cid').where('path', 'like', '%a.txt').executeTakeFirstOrThrow()
      const p = await json(await pins(s, c).add({ cid: member.cid }))
      const done = await settled(s, c, p.requestid)
      assert.equal(done.status, 'pinned', JSON.stringify(done))
      assert.ok(folder)
    })

    test('origins: multiaddrs and URLs of HTTP gateways; private networks refused unless allowed', async () => {
      const f = new TrustlessFetcher({ allowPrivate: false })
      assert.equal(f.originUrl('/ip4/203.0.113.5/tcp/8080/http'), 'http://203.0.113.5:8080')
      assert.equal(f.originUrl('/dns4/gw.example.org/tcp/443/https/p2p/QmPeer'), 'https://gw.example.org:443')
      assert.equal(f.originUrl('/ip6/2001:db8::1/tcp/80/http'), 'http://[2001:db8::1]:80')
      assert.equal(f.originUrl('https://gw.example.org/some/path'), 'https://gw.example.org')
      assert.equal(f.originUrl('/ip4/203.0.113.5/tcp/4001/p2p/QmPeer'), undefined, 'libp2p only: not reachable over HTTP')
      assert.equal(f.originUrl('/ip4/203.0.113.5/udp/4001/quic'), undefined)
      await assert.rejects(f.checkOrigin('http://127.0.0.1:8080'), /private network/)
      await assert.rejects(f.checkOrigin('http://[::1]:8080'), /private network/)
      await assert.rejects(f.checkOrigin('http://192.168.1.10'), /private network/)
      await f.checkOrigin('http://203.0.113.5:8080')
      await new TrustlessFetcher({ allowPrivate: true }).checkOrigin('http://127.0.0.1:8080')
    })
  })

}

describe('Pinning Service API: fetching from upstream trustless gateways', () => {
  let upstream: TestServer
  let s: TestServer
  let viaOrigins: TestServer
  let failsFast: TestServer
  let tampered: Server
  let tamperedUrl: string
  before(async () => {
    upstream = await startServer()
    tampered = tamperedGateway()
    tamperedUrl = await listen(tampered)
    // the tampered gateway is asked first: what it answers is refused, the next source is tried
    // a generous timeout where the fetch must succeed even on a loaded machine, a short one where it must fail
    s = await startServer({ CAIRN_PIN_UPSTREAMS: `${tamperedUrl},${upstream.filesUrl}`, CAIRN_PIN_TIMEOUT_SECONDS: '30' })
    failsFast = await startServer({ CAIRN_PIN_UPSTREAMS: `${tamperedUrl},${upstream.filesUrl}`, CAIRN_PIN_TIMEOUT_SECONDS: '2' })
    viaOrigins = await startServer({ CAIRN_PIN_ORIGINS_ALLOW_PRIVATE: 'true', CAIRN_PIN_TIMEOUT_SECONDS: '30' })
  })
  after(async () => {
    await s.close()
    await failsFast.close()
    await viaOrigins.close()
    await upstream.close()
    await new Promise(resolve => tampered.close(resolve))
  })

  test('content on the upstream is fetched, verified, stored and pinned', async () => {
    const up = await upstream.account()
    const data = randomBytes(1_100_000) // five 256 KiB leaves under a root: a real DAG
    const cid = await put(upstream, up, 'remote.bin', data)
    const a = await s.account()
    const res = await pins(s, a).add({ cid, name: 'remote' })
    assert.equal(res.status, 202)
    assert.notEqual((await json(res)).status, 'pinned')
    const done = await settled(s, a, (await json(await pins(s, a).list('status=queued,pinning,pinned,failed'))).results[0].requestid)
    assert.equal(done.status, 'pinned', JSON.stringify(done))
    // the bytes are here now: readable by the account and served by this server's gateway
    const cat = await post(`${s.url}/api/v0/cat?arg=${cid}`, a.auth)
    assert.equal(cat.status, 200)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
    const gw = await fetch(`${s.filesUrl}/ipfs/${cid}`)
    assert.equal(gw.status, 200)
    assert.ok(Buffer.from(await gw.arrayBuffer()).equals(data))
    assert.deepEqual((await s.core.fsck()).problems, [])
  })

  test('a folder on the upstream is fetched whole', async () => {
    const up = await upstream.account()
    const res = await post(`${upstream.url}/api/v0/putfolder?name=site`, up.auth, form([{ name: 'site/index.html', data: '<h1>hi</h1>' }, { name: 'site/img/a.bin', data: randomBytes(5000) }]))
    const cid = (await json(res)).folder.hash
    const a = await s.account()
    const p = await json(await pins(s, a).add({ cid }))
    const done = await settled(s, a, p.requestid)
    assert.equal(done.status, 'pinned', JSON.stringify(done))
    const page = await fetch(`${s.filesUrl}/ipfs/${cid}/site/index.html`)
    assert.equal(page.status, 200, await (await fetch(`${s.filesUrl}/ipfs/${cid}/`)).text())
    assert.equal(await page.text(), '<h1>hi</h1>')
  })

  test('a CID only the tampered upstream answers for ends failed, saying why', async () => {
    const a = await failsFast.account()
    const p = await json(await pins(failsFast, a).add({ cid: NOWHERE }))
    const done = await settled(failsFast, a, p.requestid)
    assert.equal(done.status, 'failed')
    assert.match(done.info.status_details, /does not match its CID/)
    assert.equal(await failsFast.core.content.isStored(CID.parse(NOWHERE)), false, 'nothing of it was kept')
  })

  test('a pin\'s origins are fetched from (multiaddr of the upstream\'s files origin)', async () => {
    const up = await upstream.account()
    const cid = await put(upstream, up, 'origin.bin', randomBytes(70_000))
    const a = await viaOrigins.account()
    const port = new URL(upstream.filesUrl).port
    const p = await json(await pins(viaOrigins, a).add({ cid, origins: [`/ip4/127.0.0.1/tcp/${port}/http`] }))
    const done = await settled(viaOrigins, a, p.requestid)
    assert.equal(done.status, 'pinned', JSON.stringify(done))
  })

  test('a loopback origin is refused by default', async () => {
    const up = await upstream.account()
    const cid = await put(upstream, up, 'private.bin', randomBytes(1000))
    const a = await s.account()
    const port = new URL(upstream.filesUrl).port
    // the upstream list has it too: use a CID only the origin could give, via a fresh server without upstreams
    const lone = await startServer({ CAIRN_PIN_TIMEOUT_SECONDS: '1' })
    try {
      const b = await lone.account()
      const p = await json(await pins(lone, b).add({ cid, origins: [`/ip4/127.0.0.1/tcp/${port}/http`] }))
      const done = await settled(lone, b, p.requestid)
      assert.equal(done.status, 'failed')
      assert.match(done.info.status_details, /private network/)
    } finally {
      await lone.close()
    }
    assert.ok(a)
  })
})
