/**
 * CAR in and out: /api/v0/dag/import and /api/v0/dag/export as Kubo names them, and the
 * `cairn car` commands. Imported blocks are verified against their CIDs; an export
 * re-imported elsewhere gives the same CIDs and the same bytes.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { packFiles, startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { fixture, gw, importCarHttp, parseCar } from './helpers/ipfs.js'

const DIR = 'bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy'
const ASCII = 'bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm'
const TWO = 'bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu' // subdir-with-two-single-block-files.car
const MISSING = 'QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk' // file-3k-and-3-blocks-missing-block.car

async function rows (s: TestServer, table: 'packs' | 'contents' | 'entries'): Promise<number> {
  const r = await s.core.metadata.db.selectFrom(table).select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(r.n)
}

/** a copy of a CAR with one byte of one block's data changed (the block keeps its CID) */
async function corrupt (car: Uint8Array, cid: string): Promise<Uint8Array> {
  const block = (await parseCar(car)).blocks.find(b => b.cid === cid)
  assert.ok(block !== undefined)
  const at = Buffer.from(car).indexOf(Buffer.from(block.bytes))
  assert.ok(at > 0)
  const out = new Uint8Array(car)
  out[at + block.bytes.byteLength - 2] ^= 0x01
  return out
}

async function carOf (roots: CID[], blocks: Array<{ cid: string, bytes: Uint8Array }>): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(roots)
  const parts: Uint8Array[] = []
  const reading = (async () => { for await (const c of out) parts.push(c) })()
  for (const b of blocks) await writer.put({ cid: CID.parse(b.cid), bytes: b.bytes })
  await writer.close()
  await reading
  return Buffer.concat(parts)
}

describe('CAR import and export', () => {
  let s: TestServer
  let other: TestServer
  before(async () => { s = await startServer(); other = await startServer() })
  after(async () => { await s.close(); await other.close() })

  test('dag/import answers Kubo\'s NDJSON, makes the root an entry, counts it, and serves it', async () => {
    const a = await s.account()
    const res = await importCarHttp(s, a.auth, fixture('path_gateway_unixfs/dir-with-files.car'), '?stats=true')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/json')
    const lines = (await res.text()).trim().split('\n').map(l => JSON.parse(l))
    assert.deepEqual(lines[0], { Root: { Cid: { '/': DIR }, PinErrorMsg: '' } })
    assert.deepEqual(lines[1], { Stats: { BlockCount: 9, BlockBytesCount: 1541 } })

    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.equal(ls.files.length, 1)
    assert.equal(ls.files[0].hash, DIR)
    const st = await json(await post(`${s.url}/api/v0/status`, a.auth))
    assert.ok(st.result.storage_used > 1026, 'the directory counts against the quota')
    const cat = await post(`${s.url}/api/v0/cat?arg=${DIR}/hello.txt`, a.auth)
    assert.equal(await cat.text(), 'hello world\n')
    assert.equal((await gw(s, `/ipfs/${DIR}/hello.txt`)).body.toString(), 'hello world\n')

    // the same CAR again: no second entry, and its pack is dropped as a duplicate
    const packs = (await packFiles(s.dataDir)).length
    const again = await importCarHttp(s, a.auth, fixture('path_gateway_unixfs/dir-with-files.car'))
    assert.equal(again.status, 200)
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 1)
    assert.equal((await packFiles(s.dataDir)).length, packs)
  })

  test('a block whose bytes do not match its CID fails the import, and nothing is kept', async () => {
    const a = await s.account()
    const before = { packs: (await packFiles(s.dataDir)).length, contents: await rows(s, 'contents'), entries: await rows(s, 'entries') }
    const bad = await corrupt(fixture('trustless_gateway_car/subdir-with-two-single-block-files.car'), ASCII)
    const res = await importCarHttp(s, a.auth, bad)
    assert.equal(res.status, 400)
    const body = await json(res)
    assert.match(body.error, new RegExp(`block ${ASCII} does not match its CID`))
    assert.equal(body.Message, body.error, 'Kubo clients read Message')
    assert.deepEqual({ packs: (await packFiles(s.dataDir)).length, contents: await rows(s, 'contents'), entries: await rows(s, 'entries') }, before)
    assert.equal((await json(await post(`${s.url}/api/v0/status`, a.auth))).result.storage_used, 0)
    assert.equal((await gw(s, `/ipfs/${TWO}/`)).res.status, 404)
  })

  test('a malformed CAR and a CAR with no file part are 400', async () => {
    const a = await s.account()
    assert.equal((await importCarHttp(s, a.auth, new TextEncoder().encode('not a car at all'))).status, 400)
    assert.equal((await post(`${s.url}/api/v0/dag/import`, a.auth, form([], { x: 'y' }))).status, 400)
    assert.equal((await importCarHttp(s, 'Basic eDp5', fixture('gateway-raw-block.car'))).status, 401)
  })

  test('an incomplete DAG is refused with pin-roots; with pin-roots=false its blocks are stored, unreferenced', async () => {
    const a = await s.account()
    const car = fixture('trustless_gateway_car/file-3k-and-3-blocks-missing-block.car')
    const refused = await importCarHttp(s, a.auth, car)
    assert.equal(refused.status, 400)
    assert.match((await json(refused)).error, /incomplete/)
    const stored = await importCarHttp(s, a.auth, car, '?pin-roots=false')
    assert.equal(stored.status, 200)
    assert.deepEqual(JSON.parse(await stored.text()), { Root: { Cid: { '/': MISSING }, PinErrorMsg: '' } })
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
    assert.equal((await json(await post(`${s.url}/api/v0/status`, a.auth))).result.storage_used, 0)
    const row = await s.core.metadata.db.selectFrom('contents').select('released_at').where('cid', '=', MISSING).executeTakeFirstOrThrow()
    assert.notEqual(row.released_at, null, 'released at once: the collector frees it after the grace period')
    assert.equal((await gw(s, `/ipfs/${MISSING}?format=raw`)).res.status, 404, 'the default gateway policy serves only pinned content')
  })

  test('a CAR with two roots: one pack, both roots entries', async () => {
    const a = await s.account()
    const one = await parseCar(fixture('trustless_gateway_car/subdir-with-two-single-block-files.car'))
    const two = await parseCar(fixture('gateway-cache/fixtures.car'))
    const car = await carOf([CID.parse(one.roots[0]), CID.parse(two.roots[0])], [...one.blocks, ...two.blocks])
    const packs = (await packFiles(s.dataDir)).length
    const res = await importCarHttp(s, a.auth, car)
    assert.equal(res.status, 200)
    const roots = (await res.text()).trim().split('\n').map(l => JSON.parse(l).Root.Cid['/'])
    assert.deepEqual(roots, [one.roots[0], two.roots[0]])
    assert.equal((await packFiles(s.dataDir)).length, packs + 1)
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.deepEqual(ls.files.map((f: { hash: string }) => f.hash).sort(), [...roots].sort())
    assert.equal((await gw(s, `/ipfs/${two.roots[0]}/root2/root3/root4/index.html`)).body.toString(), 'hello\n')
    const fsck = await s.core.fsck()
    assert.deepEqual(fsck.problems, [])
  })

  test('a file root gets a sniffed type, as an upload does', async () => {
    const a = await s.account()
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a7e6c4e30000000049454e44ae426082', 'hex')
    const text = new TextEncoder().encode('just some text\n')
    const blocks = await Promise.all([png, text].map(async bytes => ({ cid: CID.createV1(0x55, await sha256.digest(bytes)).toString(), bytes })))
    const res = await importCarHttp(s, a.auth, await carOf(blocks.map(b => CID.parse(b.cid)), blocks))
    assert.equal(res.status, 200)
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    const types = Object.fromEntries(ls.files.map((f: { hash: string, mimetype: string }) => [f.hash, f.mimetype]))
    assert.deepEqual(types, { [blocks[0].cid]: 'image/png', [blocks[1].cid]: 'text/plain' })
  })

  test('export, then import elsewhere: the same CIDs, the same bytes, the same CAR', async () => {
    const a = await s.account()
    const data = deterministicBytes(700 * 1024, 'car-roundtrip')
    const put = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'big.bin', data }])))
    const fileCid = put.hash as string
    const folder = await json(await post(`${s.url}/api/v0/putfolder`, a.auth, form([
      { name: 'site/index.html', data: '<h1>hi</h1>' }, { name: 'site/a/b.txt', data: 'bee' }, { name: 'site/big.bin', data }
    ], { name: 'site' })))
    const folderCid = folder.folder.hash as string
    assert.ok(typeof folderCid === 'string' && folderCid.startsWith('Qm'), JSON.stringify(folder))

    for (const cid of [fileCid, folderCid]) {
      const res = await post(`${s.url}/api/v0/dag/export?arg=${cid}`, a.auth)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/vnd.ipld.car')
      const car = new Uint8Array(await res.arrayBuffer())
      const parsed = await parseCar(car)
      assert.deepEqual(parsed.roots, [cid])
      assert.equal(new Set(parsed.blocks.map(b => b.cid)).size, parsed.blocks.length, 'each block once')
      for (const b of parsed.blocks) {
        const c = CID.parse(b.cid)
        assert.deepEqual((await sha256.digest(b.bytes)).digest, c.multihash.digest, `block ${b.cid} verifies`)
      }

      const b2 = await other.account()
      const imported = await importCarHttp(other, b2.auth, car)
      assert.equal(imported.status, 200)
      assert.equal(JSON.parse(await imported.text()).Root.Cid['/'], cid)
      const again = await post(`${other.url}/api/v0/dag/export?arg=${cid}`, b2.auth)
      assert.deepEqual(new Uint8Array(await again.arrayBuffer()), car, 'the re-export is byte for byte the export')
    }
    const b3 = (await other.account())
    await importCarHttp(other, b3.auth, new Uint8Array(await (await post(`${s.url}/api/v0/dag/export?arg=${fileCid}`, a.auth)).arrayBuffer()))
    const cat = await post(`${other.url}/api/v0/cat?arg=${fileCid}`, b3.auth)
    assert.deepEqual(Buffer.from(await cat.arrayBuffer()), data)
    const page = await post(`${other.url}/api/v0/cat?arg=${folderCid}/index.html`, (await other.account()).auth)
    assert.equal(page.status, 404, 'another account of the second server holds nothing')
  })

  test('dag/export of a CID the account does not hold is 404', async () => {
    const a = await s.account()
    const b = await s.account()
    await importCarHttp(s, a.auth, fixture('gateway-raw-block.car'))
    const root = (await parseCar(fixture('gateway-raw-block.car'))).roots[0]
    assert.equal((await post(`${s.url}/api/v0/dag/export?arg=${root}`, a.auth)).status, 200)
    assert.equal((await post(`${s.url}/api/v0/dag/export?arg=${root}`, b.auth)).status, 404)
    assert.equal((await post(`${s.url}/api/v0/dag/export?arg=nope`, a.auth)).status, 400)
  })
})

describe('cairn car import / export (CLI)', () => {
  const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js')
  let dataDir: string
  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'cairn-car-cli-')) })
  after(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const run = (args: string[]): { status: number | null, stdout: Buffer, stderr: string } => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'silent' } })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
  }

  test('import a CAR into an account, export it back: the same blocks', async () => {
    const made = run(['account', 'create', '--json'])
    assert.equal(made.status, 0, made.stderr)
    const accountId = JSON.parse(made.stdout.toString()).account_id as string
    const carPath = join(dataDir, 'in.car')
    await writeFile(carPath, fixture('trustless_gateway_car/subdir-with-mixed-block-files.car'))
    const imported = run(['car', 'import', carPath, '--account', accountId, '--json'])
    assert.equal(imported.status, 0, imported.stderr)
    const out = JSON.parse(imported.stdout.toString())
    const root = out.roots[0].cid as string
    assert.equal(out.entries.length, 1)

    const exported = run(['car', 'export', root])
    assert.equal(exported.status, 0, exported.stderr)
    const a = await parseCar(exported.stdout)
    const b = await parseCar(fixture('trustless_gateway_car/subdir-with-mixed-block-files.car'))
    assert.deepEqual(a.roots, [root])
    assert.deepEqual(new Set(a.blocks.map(x => x.cid)), new Set(b.blocks.map(x => x.cid)))

    const bad = run(['car', 'import', join(dataDir, 'missing.car'), '--account', accountId])
    assert.notEqual(bad.status, 0)
    const unknown = run(['car', 'export', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /not stored/)
  })
})
