/**
 * What the gateway serves (CAIRN_GATEWAY_POLICY: pinned, all, signed), signed URLs (the core
 * function and `cairn gateway sign`), and the files origin itself: a second listener that
 * never takes or sets credentials, started by `cairn serve` next to the API.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { loadConfig, ConfigError } from '../src/config.js'
import { startServer, type TestServer } from './helpers/server.js'
import { cli, kill9, serveProcess } from './helpers/process.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { fixture, gw, importCarHttp, parseCar } from './helpers/ipfs.js'

const MISSING = 'QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk' // file-3k-and-3-blocks-missing-block.car: its second leaf is absent
const MISSING_LEAVES = ['QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF', 'QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV']

describe('gateway policy: pinned (the default)', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })

  test('serves what an account references, and every block of it, until it is removed', async () => {
    const a = await s.account()
    const data = deterministicBytes(600 * 1024, 'pinned-policy')
    const put = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'p.bin', data }])))
    const cid = put.hash as string
    const whole = await gw(s, `/ipfs/${cid}`)
    assert.equal(whole.res.status, 200)
    assert.deepEqual(whole.body, data)
    const car = await parseCar((await gw(s, `/ipfs/${cid}?format=car`)).body)
    const leaf = car.blocks[1].cid
    assert.equal((await gw(s, `/ipfs/${leaf}?format=raw`)).res.status, 200, 'a block of a pinned DAG')
    assert.equal((await gw(s, `/ipfs/${CID.parse(cid).toV1().toString()}`)).res.status, 200, 'its CIDv1 spelling too')

    assert.equal((await post(`${s.url}/api/v0/rm?arg=${cid}`, a.auth)).status, 200)
    assert.equal((await gw(s, `/ipfs/${cid}`)).res.status, 404, 'removed: no longer pinned, though still stored until collected')
    assert.equal((await gw(s, `/ipfs/${leaf}?format=raw`)).res.status, 404)
  })

  test('blocks imported with pin-roots=false are stored but not served', async () => {
    const a = await s.account()
    const car = fixture('gateway-raw-block.car')
    assert.equal((await importCarHttp(s, a.auth, car, '?pin-roots=false')).status, 200)
    const root = (await parseCar(car)).roots[0]
    assert.equal(await s.core.content.isStored(CID.parse(root)), true)
    assert.equal((await gw(s, `/ipfs/${root}/`)).res.status, 404)
  })

  test('the API origin serves no /ipfs/ content', async () => {
    const a = await s.account()
    await importCarHttp(s, a.auth, fixture('gateway-raw-block.car'))
    const root = (await parseCar(fixture('gateway-raw-block.car'))).roots[0]
    const res = await fetch(`${s.url}/ipfs/${root}/dir/ascii.txt`)
    assert.equal(res.status, 404)
    assert.doesNotMatch(res.headers.get('content-type') ?? '', /html/)
    assert.equal((await gw(s, `/ipfs/${root}/dir/ascii.txt`)).res.status, 200)
  })
})

describe('gateway policy: all', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_GATEWAY_POLICY: 'all' }) })
  after(async () => { await s.close() })

  test('serves everything stored, pinned or not; a DAG with a missing block serves the ranges it holds and cuts the rest', async () => {
    const a = await s.account()
    assert.equal((await importCarHttp(s, a.auth, fixture('trustless_gateway_car/file-3k-and-3-blocks-missing-block.car'), '?pin-roots=false')).status, 200)
    const first = await gw(s, `/ipfs/${MISSING}?format=car&entity-bytes=0:1023`)
    assert.equal(first.res.status, 200)
    assert.deepEqual((await parseCar(first.body)).blocks.map(b => b.cid), [MISSING, MISSING_LEAVES[0]])
    const last = await gw(s, `/ipfs/${MISSING}?format=car&entity-bytes=2048:*`)
    assert.deepEqual((await parseCar(last.body)).blocks.map(b => b.cid), [MISSING, MISSING_LEAVES[1]])
    const block = await gw(s, `/ipfs/${MISSING}?format=car&dag-scope=block`)
    assert.deepEqual((await parseCar(block.body)).blocks.map(b => b.cid), [MISSING])

    // the whole DAG needs the missing block: the stream is cut, never ended as if complete
    let outcome = 'complete'
    try {
      const r = await fetch(`${s.filesUrl}/ipfs/${MISSING}?format=car`)
      assert.equal(r.status, 200)
      await r.arrayBuffer()
    } catch {
      outcome = 'cut'
    }
    assert.equal(outcome, 'cut')
    assert.equal((await gw(s, '/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')).res.status, 404, 'what is not stored is still 404')
  })
})

describe('gateway policy: signed', () => {
  let s: TestServer
  let root: string
  before(async () => {
    s = await startServer({ CAIRN_GATEWAY_POLICY: 'signed', CAIRN_FILES_ORIGIN: 'https://files.example.test/' })
    const a = await s.account()
    await importCarHttp(s, a.auth, fixture('path_gateway_unixfs/dir-with-files.car'))
    root = (await parseCar(fixture('path_gateway_unixfs/dir-with-files.car'))).roots[0]
  })
  after(async () => { await s.close() })

  test('unsigned requests are 403, even for pinned content; the probe still answers', async () => {
    const { res, body } = await gw(s, `/ipfs/${root}/hello.txt`)
    assert.equal(res.status, 403)
    assert.match(body.toString(), /signed URLs only/)
    assert.equal((await gw(s, '/ipfs/bafkqaaa?format=raw')).res.status, 200)
  })

  test('a signed URL serves its CID and every path below it, until it expires', async () => {
    const signed = await s.core.gateway.sign(CID.parse(root), 600)
    assert.equal(signed.url, `https://files.example.test/ipfs/${root}?exp=${signed.exp}&sig=${signed.sig}`)
    const q = `?exp=${signed.exp}&sig=${signed.sig}`
    assert.equal((await gw(s, `/ipfs/${root}/hello.txt${q}`)).body.toString(), 'hello world\n')
    const v0 = CID.parse(root).toV0().toString()
    assert.equal((await gw(s, `/ipfs/${v0}/hello.txt${q}`)).res.status, 200, 'the signature covers both spellings of the CID')
    const redirect = await gw(s, `/ipfs/${root}${q}`)
    assert.equal(redirect.res.status, 301)
    assert.equal(redirect.res.headers.get('location'), `/ipfs/${root}/${q}`, 'the redirect keeps the signature')
    const listing = await gw(s, `/ipfs/${root}/${q}`)
    assert.equal(listing.res.status, 200)
    assert.ok(listing.body.toString().includes(`href="./hello.txt${q.replace(/&/g, '&amp;')}"`), 'listing links carry the signature')

    const tampered = signed.sig.slice(0, -2) + (signed.sig.endsWith('AA') ? 'BB' : 'AA')
    assert.equal((await gw(s, `/ipfs/${root}/hello.txt?exp=${signed.exp}&sig=${tampered}`)).res.status, 403)
    assert.equal((await gw(s, `/ipfs/${root}/hello.txt?exp=${signed.exp + 1}&sig=${signed.sig}`)).res.status, 403, 'the expiry is signed')
    const ascii = 'bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm'
    assert.equal((await gw(s, `/ipfs/${ascii}${q}`)).res.status, 403, 'the signature is for one CID')

    const expired = await s.core.gateway.sign(CID.parse(root), 60, Date.now() - 3_600_000)
    const old = await gw(s, `/ipfs/${root}/hello.txt?exp=${expired.exp}&sig=${expired.sig}`)
    assert.equal(old.res.status, 403)
    assert.match(old.body.toString(), /expired/)
    await assert.rejects(s.core.gateway.sign(CID.parse(root), 0), /ttl/)
  })

  test('the operator API signs too (admin keys only)', async () => {
    const admin = await s.core.accounts.create({ plan: 'PRO', role: 'admin' })
    const { key } = await s.core.accounts.createKey(admin.id)
    const res = await fetch(`${s.url}/admin/v1/gateway/sign`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ cid: root, ttl: 60 }) })
    assert.equal(res.status, 200)
    const out = await res.json() as { url: string, exp: number, sig: string }
    assert.equal((await gw(s, `/ipfs/${root}/hello.txt?exp=${out.exp}&sig=${out.sig}`)).res.status, 200)
    const user = await s.account()
    const refused = await fetch(`${s.url}/admin/v1/gateway/sign`, { method: 'POST', headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ cid: root }) })
    assert.equal(refused.status, 403)
  })

  test('cairn gateway sign prints a working URL on the files origin', async () => {
    const r = cli(s.dataDir, ['gateway', 'sign', root, '--ttl', '120', '--json'], { CAIRN_GATEWAY_POLICY: 'signed', CAIRN_FILES_ORIGIN: 'https://files.example.test' })
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.ok(out.url.startsWith(`https://files.example.test/ipfs/${root}?exp=`))
    const path = out.url.slice('https://files.example.test'.length)
    assert.equal((await gw(s, path.replace('?', '/hello.txt?'))).body.toString(), 'hello world\n', 'the server and the CLI share the signing key')
  })
})

describe('the files origin', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })

  test('never sets cookies, ignores credentials, answers CORS preflights', async () => {
    const a = await s.account()
    await importCarHttp(s, a.auth, fixture('gateway-raw-block.car'))
    const root = (await parseCar(fixture('gateway-raw-block.car'))).roots[0]
    const withCreds = await gw(s, `/ipfs/${root}/dir/ascii.txt`, { cookie: 'session=abc', authorization: a.auth })
    const without = await gw(s, `/ipfs/${root}/dir/ascii.txt`)
    assert.equal(withCreds.res.status, 200)
    assert.deepEqual(withCreds.body, without.body)
    for (const r of [withCreds.res, without.res]) {
      assert.equal(r.headers.get('set-cookie'), null)
      assert.equal(r.headers.get('access-control-allow-origin'), '*')
    }
    const pre = await fetch(`${s.filesUrl}/ipfs/${root}`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
    assert.equal(pre.status, 204)
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /GET/)
    const unknown = await gw(s, '/api/v0/ls')
    assert.equal(unknown.res.status, 404, 'no API on the files origin')
  })

  test('configuration: CAIRN_FILES_PORT, CAIRN_FILES_ORIGIN and CAIRN_GATEWAY_POLICY are checked', () => {
    const c = loadConfig({ CAIRN_HOST: '0.0.0.0', CAIRN_FILES_PORT: '9001' })
    assert.equal(c.filesPort, 9001)
    assert.equal(c.filesOrigin, 'http://127.0.0.1:9001')
    assert.equal(c.gatewayPolicy, 'pinned')
    assert.equal(loadConfig({ CAIRN_FILES_ORIGIN: 'https://cdn.example/' }).filesOrigin, 'https://cdn.example')
    assert.throws(() => loadConfig({ CAIRN_GATEWAY_POLICY: 'everything' }), ConfigError)
    assert.throws(() => loadConfig({ CAIRN_FILES_ORIGIN: 'ftp://x' }), ConfigError)
    assert.throws(() => loadConfig({ CAIRN_GATEWAY_SIGNING_KEY: 'short' }), ConfigError)
  })

  test('cairn serve starts the files listener next to the API', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'cairn-files-'))
    const p = await serveProcess(dir)
    try {
      const m = /files \(gateway \/ipfs\/, policy pinned\) on (http:\/\/\S+)/.exec(p.stdout())
      assert.ok(m !== null, p.stdout())
      const probe = await fetch(`${m[1]}/ipfs/bafkqaaa?format=raw`)
      assert.equal(probe.status, 200)
      assert.notEqual(new URL(m[1]).port, new URL(p.url).port)
    } finally {
      await kill9(p)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
