/**
 * The IPFS gateway replayed against the gateway-conformance fixtures: each CAR is imported
 * through /api/v0/dag/import, then its roots and paths are requested from the files origin
 * and checked, header by header, against what the path and trustless gateway specifications
 * require (specs.ipfs.tech/http-gateways/path-gateway and trustless-gateway).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { CID } from 'multiformats/cid'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { startServer, type TestServer } from './helpers/server.js'
import { fixture, fixtureBlocks, gw, importCarHttp, parseCar } from './helpers/ipfs.js'

const IMMUTABLE = 'public, max-age=29030400, immutable'

// roots and members of the fixtures (read from the CARs with @ipld/car)
const DIR = 'bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy' // path_gateway_unixfs/dir-with-files.car
const ASCII = 'bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm'
const HELLO = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'
const MULTI = 'bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa'
const MULTI_LEAVES = [
  'bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm',
  'bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq',
  'bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue',
  'bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe',
  'bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm'
]
const SUBDIR_ROOT = 'bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu' // trustless_gateway_car/subdir-with-mixed-block-files.car
const SUBDIR = 'bafybeicnmple4ehlz3ostv2sbojz3zhh5q7tz5r2qkfdpqfilgggeen7xm'
const PERCENT_DIR = 'bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34'
const CACHE_ROOT = 'bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui' // gateway-cache: root2/root3/root4/index.html
const CACHE_CHAIN = [CACHE_ROOT, 'bafybeih2w7hjocxjg6g2ku25hvmd53zj7og4txpby3vsusfefw5rrg5sii', 'bafybeiawdvhmjcz65x5egzx4iukxc72hg4woks6v6fvgyupiyt3oczk5ja', 'bafybeifq2rzpqnqrsdupncmkmhs3ckxxjhuvdcbvydkgvch3ms24k5lo7q']
const LISTING_ROOT = 'bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i' // dir_listing: ą/ę/file-źł.txt
const HAMT_FIXTURE = 'trustless_gateway_car/single-layer-hamt-with-multi-block-files.car'
const CBOR_ROOT = 'bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim'
const CBOR_LEAF = 'bafyreiaefvpp22slf5bzd4lqgzwbztqahwlldtqkpgmlhv7mh23pudle7y'
const JSON_ROOT = 'baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq'
const DUP_ROOT = DIR // trustless_gateway_car/dir-with-duplicate-files.car is the same DAG: ascii.txt and ascii-copy.txt share a block
const SYMLINK_ROOT = 'QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt'
const TAR_ROOT = LISTING_ROOT
const OUTSIDE_ROOT = 'bafybeicaj7kvxpcv4neaqzwhrqqmdstu4dhrwfpknrgebq6nzcecfucvyu' // path_gateway_tar/outside-root.car: a "../foo" entry

const IMPORTED = [
  'path_gateway_unixfs/dir-with-files.car',
  'path_gateway_unixfs/dir-with-percent-encoded-filename.car',
  'path_gateway_unixfs/symlink.car',
  'trustless_gateway_car/subdir-with-mixed-block-files.car',
  'trustless_gateway_car/subdir-with-two-single-block-files.car',
  'trustless_gateway_car/dir-with-duplicate-files.car',
  'trustless_gateway_car/dir-with-dag-cbor-with-links.car',
  HAMT_FIXTURE,
  'gateway-cache/fixtures.car',
  'dir_listing/fixtures.car',
  'path_gateway_tar/outside-root.car',
  'path_gateway_tar/inside-root.car',
  'path_gateway_dag/dag-cbor-traversal.car',
  'path_gateway_dag/dag-json-traversal.car',
  'path_gateway_dag/plain-json.car',
  'path_gateway_dag/plain-cbor.car',
  'path_gateway_dag/dag-pb.car',
  'gateway-raw-block.car',
  'subdomain_gateway/fixtures.car',
  'redirects_file/redirects-spa.car'
]

function header (res: Response, name: string): string | null {
  return res.headers.get(name)
}

/** the headers every answer for immutable content carries */
function assertImmutable (res: Response, xIpfsPath: string, roots: string[]): void {
  assert.equal(header(res, 'cache-control'), IMMUTABLE)
  assert.equal(header(res, 'x-ipfs-path'), xIpfsPath)
  assert.equal(header(res, 'x-ipfs-roots'), roots.join(','))
  assert.equal(header(res, 'x-content-type-options'), 'nosniff')
  assert.match(header(res, 'vary') ?? '', /Accept/)
  assert.equal(header(res, 'set-cookie'), null)
}

describe('IPFS gateway: conformance fixtures', () => {
  let s: TestServer
  let blocks: Map<string, Uint8Array>
  before(async () => {
    s = await startServer()
    const a = await s.account({ plan: 'PRO' })
    for (const f of IMPORTED) {
      const res = await importCarHttp(s, a.auth, fixture(f))
      assert.equal(res.status, 200, `${f}: ${await res.clone().text()}`)
    }
    blocks = await fixtureBlocks('path_gateway_unixfs/dir-with-files.car')
  })
  after(async () => { await s.close() })

  describe('path gateway', () => {
    test('a file: bytes, sniffed type, ETag, immutable caching, X-Ipfs-Path and X-Ipfs-Roots', async () => {
      const { res, body } = await gw(s, `/ipfs/${DIR}/ascii.txt`)
      assert.equal(res.status, 200)
      assert.deepEqual(new Uint8Array(body), blocks.get(ASCII))
      assert.equal(header(res, 'content-type'), 'text/plain; charset=utf-8')
      assert.equal(header(res, 'etag'), `"${ASCII}"`)
      assert.equal(header(res, 'content-length'), String(body.byteLength))
      assert.equal(header(res, 'accept-ranges'), 'bytes')
      assert.equal(header(res, 'content-disposition'), null, 'no disposition without filename or download')
      assertImmutable(res, `/ipfs/${DIR}/ascii.txt`, [DIR, ASCII])
    })

    test('HEAD answers the same headers with no body', async () => {
      const get = await gw(s, `/ipfs/${DIR}/multiblock.txt`)
      const { res, body } = await gw(s, `/ipfs/${DIR}/multiblock.txt`, {}, 'HEAD')
      assert.equal(res.status, 200)
      assert.equal(body.byteLength, 0)
      for (const h of ['content-type', 'etag', 'content-length', 'cache-control', 'x-ipfs-path', 'x-ipfs-roots']) assert.equal(header(res, h), header(get.res, h), h)
      assert.equal(header(res, 'content-length'), '1026')
    })

    test('If-None-Match with the ETag answers 304 (also weak and in a list)', async () => {
      for (const inm of [`"${ASCII}"`, `W/"${ASCII}"`, `"other", "${ASCII}"`, '*']) {
        const { res, body } = await gw(s, `/ipfs/${DIR}/ascii.txt`, { 'if-none-match': inm })
        assert.equal(res.status, 304, inm)
        assert.equal(body.byteLength, 0)
        assert.equal(header(res, 'etag'), `"${ASCII}"`)
        assert.equal(header(res, 'cache-control'), IMMUTABLE)
      }
      const { res } = await gw(s, `/ipfs/${DIR}/ascii.txt`, { 'if-none-match': '"something-else"' })
      assert.equal(res.status, 200)
    })

    test('a single Range of a multi-block file: 206 and the exact bytes across leaves', async () => {
      const whole = (await gw(s, `/ipfs/${DIR}/multiblock.txt`)).body
      assert.equal(whole.byteLength, 1026)
      const { res, body } = await gw(s, `/ipfs/${DIR}/multiblock.txt`, { range: 'bytes=250-770' })
      assert.equal(res.status, 206)
      assert.equal(header(res, 'content-range'), 'bytes 250-770/1026')
      assert.equal(header(res, 'content-length'), '521')
      assert.deepEqual(body, whole.subarray(250, 771))
      const suffix = await gw(s, `/ipfs/${DIR}/multiblock.txt`, { range: 'bytes=-10' })
      assert.equal(suffix.res.status, 206)
      assert.deepEqual(suffix.body, whole.subarray(1016))
      const bad = await gw(s, `/ipfs/${DIR}/multiblock.txt`, { range: 'bytes=5000-6000' })
      assert.equal(bad.res.status, 416)
      assert.equal(header(bad.res, 'content-range'), 'bytes */1026')
    })

    test('a directory without its trailing slash is a 301 to it, keeping the query', async () => {
      for (const [path, location] of [[`/ipfs/${DIR}`, `/ipfs/${DIR}/`], [`/ipfs/${SUBDIR_ROOT}/subdir?filename=x`, `/ipfs/${SUBDIR_ROOT}/subdir/?filename=x`]]) {
        const { res } = await gw(s, path)
        assert.equal(res.status, 301, path)
        assert.equal(header(res, 'location'), location)
      }
    })

    test('a directory listing: every entry, linked, HTML-escaped, with no script', async () => {
      const { res, body } = await gw(s, `/ipfs/${DIR}/`)
      assert.equal(res.status, 200)
      assert.equal(header(res, 'content-type'), 'text/html; charset=utf-8')
      assert.match(header(res, 'etag') ?? '', new RegExp(`^"DirIndex-.+_CID-${DIR}"$`))
      assert.match(header(res, 'content-security-policy') ?? '', /default-src 'none'/)
      assertImmutable(res, `/ipfs/${DIR}/`, [DIR])
      const html = body.toString()
      for (const name of ['ascii-copy.txt', 'ascii.txt', 'hello.txt', 'multiblock.txt']) assert.ok(html.includes(`href="./${name}"`), name)
      assert.ok(html.includes(MULTI))
      assert.ok(!/<script/i.test(html))

      const unicode = await gw(s, `/ipfs/${LISTING_ROOT}/%C4%85/%C4%99/`)
      assert.equal(unicode.res.status, 200)
      assert.ok(unicode.body.toString().includes(`href="./${encodeURIComponent('file-źł.txt')}"`))
      assert.ok(unicode.body.toString().includes('>file-źł.txt<'))
      assert.ok(unicode.body.toString().includes('href="../"'), 'a link to the parent below the root')
    })

    test('a directory with index.html serves the page; X-Ipfs-Roots names one CID per path segment', async () => {
      const { res, body } = await gw(s, `/ipfs/${CACHE_ROOT}/root2/root3/root4/`)
      assert.equal(res.status, 200)
      assert.equal(body.toString(), 'hello\n')
      assert.match(header(res, 'content-type') ?? '', /^text\/html/)
      assert.match(header(res, 'content-security-policy') ?? '', /^sandbox/, 'pages run in an opaque origin')
      assertImmutable(res, `/ipfs/${CACHE_ROOT}/root2/root3/root4/`, CACHE_CHAIN)
    })

    test('a percent-encoded name is asked for encoded once more', async () => {
      const name = 'Portugal%2C+España=Peninsula Ibérica.txt'
      const { res, body } = await gw(s, `/ipfs/${PERCENT_DIR}/${encodeURIComponent(name)}`)
      assert.equal(res.status, 200)
      assert.equal(body.toString(), 'hello from a percent encoded filename\n')
    })

    test('CIDv0 and CIDv1 name the same DAG', async () => {
      const v0 = CID.parse(DIR).toV0().toString()
      const { res, body } = await gw(s, `/ipfs/${v0}/hello.txt`)
      assert.equal(res.status, 200)
      assert.equal(body.toString(), 'hello world\n')
      assert.equal(header(res, 'x-ipfs-path'), `/ipfs/${v0}/hello.txt`)
      const sym = await gw(s, `/ipfs/${SYMLINK_ROOT}/foo`)
      assert.equal(sym.res.status, 200)
      assert.equal(sym.body.toString(), 'content\n')
    })

    test('filename and download set Content-Disposition; HTML and SVG are sandboxed', async () => {
      const inline = await gw(s, `/ipfs/${HELLO}?filename=${encodeURIComponent('tést.txt')}`)
      assert.equal(header(inline.res, 'content-disposition'), 'inline; filename="t_st.txt"; filename*=UTF-8\'\'t%C3%A9st.txt')
      const dl = await gw(s, `/ipfs/${HELLO}?filename=a.txt&download=true`)
      assert.match(header(dl.res, 'content-disposition') ?? '', /^attachment; filename="a.txt"/)
      const asHtml = await gw(s, `/ipfs/${HELLO}?filename=page.html`)
      assert.match(header(asHtml.res, 'content-type') ?? '', /^text\/html/)
      assert.match(header(asHtml.res, 'content-security-policy') ?? '', /^sandbox allow-scripts/)
      assert.doesNotMatch(header(asHtml.res, 'content-security-policy') ?? '', /allow-same-origin/)
    })

    test('unknown paths and CIDs not stored are 404; a malformed CID is 400', async () => {
      assert.equal((await gw(s, `/ipfs/${DIR}/nope.txt`)).res.status, 404)
      assert.equal((await gw(s, '/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')).res.status, 404)
      const bad = await gw(s, '/ipfs/not-a-cid')
      assert.equal(bad.res.status, 400)
      assert.match(header(bad.res, 'content-type') ?? '', /^text\/plain/)
      assert.match(header(bad.res, 'cache-control') ?? '', /no-cache/)
    })

    test('dag-cbor and dag-json documents: served in their own type, traversed through links, converted with ?format', async () => {
      const doc = await gw(s, `/ipfs/${CBOR_ROOT}`)
      assert.equal(doc.res.status, 200)
      assert.equal(header(doc.res, 'content-type'), 'application/vnd.ipld.dag-cbor')
      const walked = await gw(s, `/ipfs/${CBOR_ROOT}/foo/link/bar?format=dag-json`)
      assert.equal(walked.res.status, 200)
      assert.equal(header(walked.res, 'content-type'), 'application/vnd.ipld.dag-json')
      assert.deepEqual(JSON.parse(walked.body.toString()), { hello: 'this is not a link' })
      assert.equal(header(walked.res, 'x-ipfs-roots')?.split(',').at(-1), CBOR_LEAF)
      assert.match(header(walked.res, 'content-disposition') ?? '', new RegExp(`^inline; filename="${CBOR_LEAF}.json"`))
      assert.equal((await gw(s, `/ipfs/${CBOR_ROOT}/foo/object`)).res.status, 404, 'a path ending inside a document, not at a link')
      const json = await gw(s, `/ipfs/${JSON_ROOT}`, { accept: 'application/vnd.ipld.dag-json' })
      assert.equal(json.res.status, 200)
      assert.equal(JSON.parse(json.body.toString()).foo.object.banana, 10)
      assert.equal((await gw(s, `/ipfs/${DIR}?format=dag-json`)).res.status, 400, 'a UnixFS directory has no dag-json form here')
    })
  })

  describe('trustless gateway', () => {
    test('?format=raw and Accept: application/vnd.ipld.raw answer the block, verifiable against its CID', async () => {
      for (const [query, headers] of [['?format=raw', {}], ['', { accept: 'application/vnd.ipld.raw' }]] as const) {
        const { res, body } = await gw(s, `/ipfs/${ASCII}${query}`, headers)
        assert.equal(res.status, 200)
        assert.deepEqual(new Uint8Array(body), blocks.get(ASCII))
        assert.equal(header(res, 'content-type'), 'application/vnd.ipld.raw')
        assert.equal(header(res, 'content-disposition'), `attachment; filename="${ASCII}.bin"; filename*=UTF-8''${ASCII}.bin`)
        assert.equal(header(res, 'etag'), `"${ASCII}.raw"`)
        assertImmutable(res, `/ipfs/${ASCII}`, [ASCII])
        if (query === '') assert.equal(header(res, 'content-location'), `/ipfs/${ASCII}?format=raw`)
      }
      const dir = await gw(s, `/ipfs/${MULTI}?format=raw`)
      assert.deepEqual(new Uint8Array(dir.body), blocks.get(MULTI), 'a dag-pb block, not the file')
    })

    test('?format=car: the path blocks, then the whole DAG depth-first, each block once', async () => {
      const { res, body } = await gw(s, `/ipfs/${SUBDIR_ROOT}/subdir?format=car`)
      assert.equal(res.status, 200)
      assert.equal(header(res, 'content-type'), 'application/vnd.ipld.car; version=1; order=dfs; dups=n')
      assert.equal(header(res, 'content-disposition'), `attachment; filename="${SUBDIR_ROOT}.car"; filename*=UTF-8''${SUBDIR_ROOT}.car`)
      assert.equal(header(res, 'x-content-type-options'), 'nosniff')
      assert.match(header(res, 'etag') ?? '', new RegExp(`^"${SUBDIR_ROOT}\\.car\\.`))
      const car = await parseCar(body)
      assert.deepEqual(car.roots, [SUBDIR_ROOT])
      assert.deepEqual(car.blocks.map(b => b.cid), [SUBDIR_ROOT, SUBDIR, ASCII, HELLO, MULTI, ...MULTI_LEAVES])
      const all = await fixtureBlocks('trustless_gateway_car/subdir-with-mixed-block-files.car')
      for (const b of car.blocks) assert.deepEqual(b.bytes, all.get(b.cid), b.cid)
    })

    test('Accept: application/vnd.ipld.car with parameters, and Content-Location to the ?format URL', async () => {
      const { res, body } = await gw(s, `/ipfs/${SUBDIR_ROOT}/subdir/hello.txt`, { accept: 'application/vnd.ipld.car; version=1; order=dfs; dups=y' })
      assert.equal(res.status, 200)
      assert.equal(header(res, 'content-type'), 'application/vnd.ipld.car; version=1; order=dfs; dups=y')
      assert.equal(header(res, 'content-location'), `/ipfs/${SUBDIR_ROOT}/subdir/hello.txt?format=car`)
      assert.deepEqual((await parseCar(body)).blocks.map(b => b.cid), [SUBDIR_ROOT, SUBDIR, HELLO])
    })

    test('dag-scope=block and dag-scope=entity', async () => {
      const block = await parseCar((await gw(s, `/ipfs/${SUBDIR_ROOT}/subdir/multiblock.txt?format=car&dag-scope=block`)).body)
      assert.deepEqual(block.blocks.map(b => b.cid), [SUBDIR_ROOT, SUBDIR, MULTI])
      const entity = await parseCar((await gw(s, `/ipfs/${SUBDIR_ROOT}/subdir/multiblock.txt?format=car&dag-scope=entity`)).body)
      assert.deepEqual(entity.blocks.map(b => b.cid), [SUBDIR_ROOT, SUBDIR, MULTI, ...MULTI_LEAVES])
      const dir = await parseCar((await gw(s, `/ipfs/${SUBDIR_ROOT}/subdir?format=car&dag-scope=entity`)).body)
      assert.deepEqual(dir.blocks.map(b => b.cid), [SUBDIR_ROOT, SUBDIR], 'a directory entity is its own block, not its files')
    })

    test('entity-bytes: only the leaves a byte range needs; negative offsets and * count from the end', async () => {
      const path = `/ipfs/${DIR}/multiblock.txt?format=car`
      const cases: Array<[string, string[]]> = [
        ['0:0', [MULTI_LEAVES[0]]],
        ['300:600', [MULTI_LEAVES[1], MULTI_LEAVES[2]]],
        ['1000:*', [MULTI_LEAVES[3], MULTI_LEAVES[4]]],
        ['-2:*', [MULTI_LEAVES[4]]],
        ['0:-1000', [MULTI_LEAVES[0]]],
        ['5000:*', []] // outside the file: as dag-scope=block
      ]
      for (const [range, leaves] of cases) {
        const { res, body } = await gw(s, `${path}&entity-bytes=${range}`)
        assert.equal(res.status, 200, range)
        assert.deepEqual((await parseCar(body)).blocks.map(b => b.cid), [DIR, MULTI, ...leaves], range)
      }
      const e1 = header((await gw(s, `${path}&entity-bytes=0:0`)).res, 'etag')
      const e2 = header((await gw(s, `${path}&entity-bytes=0:1`)).res, 'etag')
      assert.notEqual(e1, e2, 'the ETag follows entity-bytes')
    })

    test('car-dups=y repeats a block each time the walk meets it; dups=n sends it once', async () => {
      const y = await parseCar((await gw(s, `/ipfs/${DUP_ROOT}?format=car&car-dups=y`)).body)
      assert.equal(y.blocks.filter(b => b.cid === ASCII).length, 2)
      const n = await parseCar((await gw(s, `/ipfs/${DUP_ROOT}?format=car&car-dups=n&car-order=dfs&car-version=1`)).body)
      assert.equal(n.blocks.filter(b => b.cid === ASCII).length, 1)
      assert.equal(new Set(n.blocks.map(b => b.cid)).size, n.blocks.length)
    })

    test('a HAMT directory: entity is its shard blocks; all is every block; a path into it carries the shards it crossed', async () => {
      const { roots, blocks: all } = await parseCar(fixture(HAMT_FIXTURE))
      const root = roots[0]
      const shards = all.filter(b => b.cid.startsWith('bafy') && UnixFS.unmarshal(dagPb.decode(b.bytes).Data ?? new Uint8Array()).type === 'hamt-sharded-directory')
      assert.ok(shards.length > 1)
      const entity = await parseCar((await gw(s, `/ipfs/${root}?format=car&dag-scope=entity`)).body)
      assert.equal(entity.blocks[0].cid, root)
      assert.deepEqual(new Set(entity.blocks.map(b => b.cid)), new Set(shards.map(b => b.cid)), 'the shards, none of the files')
      const whole = await parseCar((await gw(s, `/ipfs/${root}?format=car`)).body)
      assert.deepEqual(new Set(whole.blocks.map(b => b.cid)), new Set(all.map(b => b.cid)))
      const listing = await gw(s, `/ipfs/${root}/`)
      assert.equal(listing.res.status, 200)
      const name = /href="\.\/([^"]+)"/.exec(listing.body.toString())?.[1] ?? ''
      const file = await gw(s, `/ipfs/${root}/${name}?format=car&dag-scope=block`)
      assert.equal(file.res.status, 200)
      const fileCar = await parseCar(file.body)
      assert.equal(fileCar.blocks[0].cid, root)
      assert.equal(fileCar.blocks.at(-1)?.cid, header(file.res, 'x-ipfs-roots')?.split(',').at(-1))
    })

    test('the probe /ipfs/bafkqaaa: an empty raw block and a CAR naming it', async () => {
      const raw = await gw(s, '/ipfs/bafkqaaa?format=raw', { accept: 'application/vnd.ipld.raw' })
      assert.equal(raw.res.status, 200)
      assert.equal(raw.body.byteLength, 0)
      const car = await gw(s, '/ipfs/bafkqaaa?format=car', { accept: 'application/vnd.ipld.car' })
      assert.equal(car.res.status, 200)
      assert.deepEqual((await parseCar(car.body)).roots, ['bafkqaaa'])
      const head = await gw(s, '/ipfs/bafkqaaa', { accept: 'application/vnd.ipld.raw' }, 'HEAD')
      assert.equal(head.res.status, 200)
    })

    test('bad parameters are 400; an Accept variant not offered is 406', async () => {
      for (const q of ['format=zip', 'format=car&dag-scope=tree', 'format=car&entity-bytes=abc', 'format=car&entity-bytes=10:5', 'format=car&car-version=2', 'format=car&car-order=bfs', 'format=car&car-dups=maybe']) {
        const { res } = await gw(s, `/ipfs/${DIR}?${q}`)
        assert.equal(res.status, 400, q)
      }
      assert.equal((await gw(s, `/ipfs/${DIR}`, { accept: 'application/vnd.ipld.car; version=2' })).res.status, 406)
    })

    test('Cache-Control: only-if-cached: 200 for what is held, 412 for what is not', async () => {
      assert.equal((await gw(s, `/ipfs/${ASCII}?format=raw`, { 'cache-control': 'only-if-cached' }, 'HEAD')).res.status, 200)
      assert.equal((await gw(s, '/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw', { 'cache-control': 'only-if-cached' })).res.status, 412)
    })

    test('?format=tar: the tree under its CID; a name that would leave the archive cuts the stream', async () => {
      const { res, body } = await gw(s, `/ipfs/${TAR_ROOT}?format=tar`)
      assert.equal(res.status, 200)
      assert.equal(header(res, 'content-type'), 'application/x-tar')
      assert.equal(header(res, 'etag'), `W/"${TAR_ROOT}.x-tar"`)
      assert.match(header(res, 'content-disposition') ?? '', new RegExp(`^attachment; filename="${TAR_ROOT}.tar"`))
      const names: string[] = []
      const ex = extract()
      ex.on('entry', (h, stream, next) => { names.push(h.name); stream.resume(); stream.on('end', next) })
      await new Promise((resolve, reject) => { ex.on('finish', () => { resolve(undefined) }); ex.on('error', reject); Readable.from([body]).pipe(ex) })
      assert.ok(names.includes(`${TAR_ROOT}/ą/ę/file-źł.txt`), names.join(' '))
      assert.ok(names.every(n => n.startsWith(TAR_ROOT)))

      // the refusal comes when the walk reaches the name: a 400 if nothing was sent yet, else a cut stream
      let outcome: string
      try {
        const r = await fetch(`${s.filesUrl}/ipfs/${OUTSIDE_ROOT}?format=tar`)
        const b = Buffer.from(await r.arrayBuffer())
        assert.ok(!b.includes('../foo'), 'the escaping name is never written')
        outcome = `status ${r.status}`
      } catch {
        outcome = 'cut'
      }
      assert.ok(outcome === 'cut' || outcome === 'status 400', outcome)
    })
  })
})
