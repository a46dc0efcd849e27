/**
 * The Kubo RPC subset on /api/v0, driven by the official kubo-rpc-client against a real
 * server on loopback, with FluxDrive's Basic credentials; and FluxDrive's own calls (cat, get,
 * ls) unchanged for its clients.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { create, type KuboRPCClient } from 'kubo-rpc-client'
import { CID } from 'multiformats/cid'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const HELLO_V0 = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o' // `ipfs add` of "hello world\n"
const HELLO_V1 = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4' // --cid-version=1 (raw leaf)

async function concat (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of it) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

async function all<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function untar (bytes: Buffer): Promise<Map<string, Buffer | 'dir'>> {
  const out = new Map<string, Buffer | 'dir'>()
  const ex = extract()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = []
      stream.on('data', (c: unknown) => { parts.push(c as Buffer) })
      stream.on('end', () => { out.set(h.name, h.type === 'directory' ? 'dir' : Buffer.concat(parts)); next() })
    })
    ex.on('finish', resolve)
    ex.on('error', reject)
  })
  Readable.from([bytes]).pipe(ex)
  await done
  return out
}

describe('Kubo RPC with kubo-rpc-client', () => {
  let s: TestServer
  let a: Awaited<ReturnType<TestServer['account']>>
  let ipfs: KuboRPCClient
  before(async () => {
    s = await startServer({ CAIRN_GC_GRACE_SECONDS: '0' })
    a = await s.account()
    ipfs = create({ url: `${s.url}/api/v0`, headers: { authorization: a.auth } })
  })
  after(async () => { await s.close() })

  test('without credentials every Kubo call is refused', async () => {
    const anon = create({ url: `${s.url}/api/v0` })
    await assert.rejects(anon.version(), /Invalid credentials|Unauthorized|401/)
    await assert.rejects(anon.add('x'), /Invalid credentials|Unauthorized|401/)
  })

  test('add answers Kubo\'s CIDs (v0 by default, v1 with raw leaves) and cat reads them back', async () => {
    const r0 = await ipfs.add('hello world\n')
    assert.equal(r0.cid.toString(), HELLO_V0)
    assert.equal(r0.size, 20)
    const r1 = await ipfs.add('hello world\n', { cidVersion: 1, rawLeaves: true })
    assert.equal(r1.cid.toString(), HELLO_V1)
    assert.equal((await concat(ipfs.cat(HELLO_V0))).toString(), 'hello world\n')
    assert.equal((await concat(ipfs.cat(HELLO_V1, { offset: 6, length: 5 }))).toString(), 'world')
    assert.equal((await concat(ipfs.cat(HELLO_V0, { offset: 6 }))).toString(), 'world\n')
    // the file is in the account's FluxDrive list too
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.ok(ls.files.some((f: any) => f.hash === HELLO_V0))
  })

  test('add: a large file matches a second add with only-hash; cat offset/length over leaf boundaries', async () => {
    const data = randomBytes(700_000)
    const hashed = await ipfs.add(data, { onlyHash: true })
    assert.equal(await s.core.content.isStored(hashed.cid), false, 'only-hash stores nothing')
    const added = await ipfs.add(data)
    assert.equal(added.cid.toString(), hashed.cid.toString())
    const mid = await concat(ipfs.cat(added.cid, { offset: 262_000, length: 300_000 }))
    assert.ok(mid.equals(data.subarray(262_000, 562_000)))
    const tail = await concat(ipfs.cat(added.cid, { offset: -100 }))
    assert.ok(tail.equals(data.subarray(data.length - 100)))
  })

  test('add: unsupported layouts are refused, not faked', async () => {
    await assert.rejects(ipfs.add('x', { chunker: 'rabin-262144-524288-1048576' }), /chunker/)
    await assert.rejects(ipfs.add('x', { cidVersion: 0, rawLeaves: true }), /raw-leaves/)
    assert.equal((await ipfs.add('chunked', { chunker: 'size-262144' })).cid.version, 0)
  })

  test('add wrap-with-directory and directories from paths; ls?arg= answers Kubo\'s shape; get a tar', async () => {
    const files = [{ path: 'site/index.html', content: new TextEncoder().encode('<p>hi</p>') }, { path: 'site/css/a.css', content: new TextEncoder().encode('p{}') }]
    const out = await all(ipfs.addAll(files))
    const root = out.find(o => o.path === 'site')
    assert.ok(root !== undefined, JSON.stringify(out.map(o => o.path)))
    assert.ok(out.some(o => o.path === 'site/index.html'))
    const links = await all(ipfs.ls(root.cid))
    assert.deepEqual(links.map(l => [l.name, l.type]).sort(), [['css', 'dir'], ['index.html', 'file']])
    assert.equal(links.find(l => l.name === 'index.html')?.size, 9)
    const inner = await all(ipfs.ls(`${root.cid.toString()}/css`))
    assert.deepEqual(inner.map(l => l.name), ['a.css'])

    const wrapped = await all(ipfs.addAll([{ path: 'one.txt', content: new TextEncoder().encode('1') }, { path: 'two.txt', content: new TextEncoder().encode('2') }], { wrapWithDirectory: true }))
    const wrapper = wrapped[wrapped.length - 1]
    assert.equal(wrapper.path, '')
    assert.deepEqual((await all(ipfs.ls(wrapper.cid))).map(l => l.name), ['one.txt', 'two.txt'])

    const tar = await untar(await concat(ipfs.get(root.cid, { archive: true })))
    assert.equal(tar.get(`${root.cid.toString()}/index.html`)?.toString(), '<p>hi</p>')
    assert.equal(tar.get(`${root.cid.toString()}/css/a.css`)?.toString(), 'p{}')
    const one = await untar(await concat(ipfs.get(HELLO_V0, { archive: true })))
    assert.equal(one.get(HELLO_V0)?.toString(), 'hello world\n')
  })

  test('block/get and block/stat of a file\'s blocks; another account\'s blocks are not found', async () => {
    const data = randomBytes(300_000) // two leaves
    const added = await ipfs.add(data)
    const rootBlock = await ipfs.block.get(added.cid)
    const stat = await ipfs.block.stat(added.cid)
    assert.equal(stat.size, rootBlock.byteLength)
    assert.equal(stat.cid.toString(), added.cid.toString())
    const leaves = (await import('@ipld/dag-pb')).decode(rootBlock).Links.map(l => l.Hash)
    assert.equal(leaves.length, 2)
    const leaf = await ipfs.block.get(leaves[0])
    assert.ok(leaf.byteLength > 262_144)
    const b = await s.account()
    const other = create({ url: `${s.url}/api/v0`, headers: { authorization: b.auth } })
    await assert.rejects(other.block.get(leaves[0]), /not found/)
    await assert.rejects(other.block.stat(added.cid), /not found/)
  })

  test('pin/ls, pin/rm, pin/add; add with pin=false leaves the content to the collector', async () => {
    const pinned = (await all(ipfs.pin.ls())).map(p => p.cid.toString())
    assert.ok(pinned.includes(HELLO_V0))
    assert.ok((await all(ipfs.pin.ls())).every(p => p.type === 'recursive'))
    const data = randomBytes(5000)
    const added = await ipfs.add(data, { pin: false })
    assert.ok(!(await all(ipfs.pin.ls())).some(p => p.cid.equals(added.cid)))
    assert.deepEqual((await all(ipfs.pin.addAll([added.cid]))).map(String), [added.cid.toString()])
    assert.ok((await all(ipfs.pin.ls({ paths: [added.cid] }))).some(p => p.cid.equals(added.cid)))
    assert.deepEqual((await ipfs.pin.rm(added.cid)).toString(), added.cid.toString())
    await assert.rejects(ipfs.pin.rm(added.cid), /not pinned/)
    await assert.rejects(all(ipfs.pin.ls({ paths: [added.cid] })), /not pinned/)
    await s.core.gc()
    assert.equal(await s.core.content.isStored(added.cid), false, 'unpinned content is collected')
    await assert.rejects(ipfs.pin.add(added.cid), /garbage-collected/)
    await assert.rejects(ipfs.pin.add(CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')), /not stored here/)
    // stored content of another account: pinning it here makes an entry of this account
    const b = await s.account()
    const theirs = await create({ url: `${s.url}/api/v0`, headers: { authorization: b.auth } }).add('theirs')
    assert.equal((await ipfs.pin.add(theirs.cid)).toString(), theirs.cid.toString())
    assert.equal((await concat(ipfs.cat(theirs.cid))).toString(), 'theirs')
  })

  test('pins made through /pins show in pin/ls', async () => {
    const cid = (await ipfs.add('pinned by the pinning service')).cid
    const c = await s.account()
    const res = await fetch(`${s.url}/pins`, { method: 'POST', headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ cid: cid.toString(), name: 'psa' }) })
    assert.equal(res.status, 202)
    const theirs = create({ url: `${s.url}/api/v0`, headers: { authorization: c.auth } })
    const ls = await all(theirs.pin.ls({ names: true }))
    assert.deepEqual(ls.map(p => [p.cid.toString(), p.name]), [[cid.toString(), 'psa']])
  })

  test('dag/export and dag/import round-trip through the client', async () => {
    const added = await ipfs.add(randomBytes(2000))
    const car = await concat(ipfs.dag.export(added.cid))
    const b = await s.account()
    const other = create({ url: `${s.url}/api/v0`, headers: { authorization: b.auth } })
    const roots = await all(other.dag.import([car]))
    assert.equal(roots[0].root.cid.toString(), added.cid.toString())
  })

  test('version and id', async () => {
    const v = await ipfs.version()
    assert.match(v.version, /^cairn-/)
    const id = await ipfs.id()
    assert.match(id.id.toString(), /^12D3KooW/)
    assert.equal(id.agentVersion, 'cairn/0.1.0')
    assert.equal((await ipfs.id()).id.toString(), id.id.toString(), 'stable')
  })

  test('FluxDrive\'s own cat, get and ls are unchanged', async () => {
    const put = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'note.txt', data: 'fluxdrive note', type: 'text/plain' }])))
    const cid = put.files[0].hash
    const get = await post(`${s.url}/api/v0/get?arg=${cid}`, a.auth)
    assert.equal(get.status, 200)
    assert.match(get.headers.get('content-disposition') ?? '', /attachment; filename="note.txt"/)
    assert.equal(await get.text(), 'fluxdrive note')
    const cat = await post(`${s.url}/api/v0/cat?arg=${cid}`, a.auth, undefined, { range: 'bytes=0-8' })
    assert.equal(cat.status, 206)
    assert.equal(await cat.text(), 'fluxdrive')
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.equal(ls.status, 'success')
    assert.ok(ls.files.some((f: any) => f.hash === cid && f.name === 'note.txt'))
    assert.ok(CID.parse(cid))
  })
})
