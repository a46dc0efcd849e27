/**
 * The pack file reader against the library's own exporter and the original bytes: whole
 * files and byte ranges across leaf and tree boundaries, in both import profiles.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import { FsBlobStore } from '../src/adapters/blob/fs-blob-store.js'
import { openMetadataStore, type MetadataStore } from '../src/adapters/metadata/open.js'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { ContentStore } from '../src/core/content/content-store.js'
import { readFileRange, type BlockLocation, type BlockSource } from '../src/core/content/file-reader.js'
import type { ImportProfile } from '../src/core/content/profiles.js'
import { deterministicBytes } from './helpers/data.js'

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

describe('reading files from packs', () => {
  let dir: string
  let meta: MetadataStore
  let content: ContentStore
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-read-'))
    meta = await openMetadataStore({ dataDir: dir })
    content = new ContentStore(meta.db, await new FsBlobStore(join(dir, 'blobs')).init())
  })
  after(async () => {
    await meta.close()
    await rm(dir, { recursive: true, force: true })
  })

  const cases: Array<[ImportProfile, number]> = [
    ['unixfs-v0-2015', 0],
    ['unixfs-v0-2015', 100],
    ['unixfs-v0-2015', 3 * 262144 + 17],
    ['unixfs-v0-2015', 175 * 262144 + 5], // two levels of internal nodes
    ['unixfs-v1-2025', 1],
    ['unixfs-v1-2025', 3 * 1048576 + 9]
  ]
  for (const [profile, size] of cases) {
    test(`${profile}, ${size} bytes: whole file and ranges`, async () => {
      const data = deterministicBytes(size, `${profile}-${size}`)
      const r = await content.import([{ content: [data] }], { profile, wrapWithDirectory: false })
      await meta.db.transaction().execute(async trx => { await content.record(trx, r) })
      const cid = r.root.cid
      assert.ok((await collect(content.readFile(cid, 0, size))).equals(data))

      const chunk = profile === 'unixfs-v0-2015' ? 262144 : 1048576
      const ranges: Array<[number, number]> = [[0, 1], [chunk - 1, chunk + 1], [size - 1, size], [chunk, 2 * chunk], [5, size - 5]]
      let seed = size
      for (let i = 0; i < 10; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        const a = seed % Math.max(1, size)
        const b = a + (seed >> 8) % Math.max(1, size - a + 1)
        ranges.push([a, b])
      }
      const bs = await content.blockstoreFor(cid)
      const entry = await exporter(cid, bs)
      assert.ok(entry.type === 'file' || entry.type === 'raw')
      for (const [a, b] of ranges) {
        if (a < 0 || b > size || b < a) continue
        const got = await collect(content.readFile(cid, a, b))
        assert.ok(got.equals(data.subarray(a, b)), `range ${a}-${b}`)
        // handing the reader the root block the exporter already read changes nothing
        assert.ok((await collect(content.readFile(cid, a, b, undefined, entry.node))).equals(got), `known root ${a}-${b}`)
        // the library's exporter agrees
        if (b > a) assert.ok((await collect(entry.content({ offset: a, length: b - a }))).equals(got), `exporter ${a}-${b}`)
      }
    })
  }
})

describe('reading a DAG whose internal node is no bigger than its data', () => {
  // Neither profile makes such a DAG (their internal nodes sit over 174 or 1024 full chunks),
  // but a DAG made elsewhere can: an internal node over two 2-byte leaves is a block longer
  // than the 4 bytes under it, so the reader first takes it for a leaf and must walk it.
  test('the bytes come out right, whole and in ranges', async () => {
    const leaf = (data: Uint8Array): Uint8Array => dagPb.encode({ Data: new UnixFS({ type: 'file', data }).marshal(), Links: [] })
    const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []
    const put = async (bytes: Uint8Array): Promise<CID> => {
      const cid = CID.createV0(await sha256.digest(bytes))
      blocks.push({ cid, bytes })
      return cid
    }
    const node = async (children: Array<{ cid: CID, size: number, blockLength: number }>): Promise<CID> => {
      const fs = new UnixFS({ type: 'file', blockSizes: children.map(c => BigInt(c.size)) })
      return await put(dagPb.encode(dagPb.prepare({ Data: fs.marshal(), Links: children.map(c => ({ Hash: c.cid, Tsize: c.blockLength })) })))
    }
    const big = deterministicBytes(300, 'big leaf')
    const l1 = leaf(Buffer.from('ab'))
    const l2 = leaf(Buffer.from('cd'))
    const l3 = leaf(big)
    const c1 = await put(l1)
    const c2 = await put(l2)
    const inner = await node([{ cid: c1, size: 2, blockLength: l1.length }, { cid: c2, size: 2, blockLength: l2.length }])
    const innerLength = blocks[blocks.length - 1].bytes.length
    assert.ok(innerLength >= 4, 'the internal node is longer than its data')
    const c3 = await put(l3)
    const root = await node([{ cid: inner, size: 4, blockLength: innerLength }, { cid: c3, size: 300, blockLength: l3.length }])
    // one "pack": the blocks one after another with a few bytes between them
    const pack = Buffer.concat(blocks.flatMap(b => [Buffer.alloc(7), b.bytes]))
    const where = new Map<string, BlockLocation>()
    let at = 0
    for (const b of blocks) { at += 7; where.set(b.cid.toString(), { key: 'p', offset: at, length: b.bytes.length }); at += b.bytes.length }
    const src: BlockSource = {
      locate: async cid => where.get(cid.toString()) as BlockLocation,
      read: async (_cid, loc) => pack.subarray(loc.offset, loc.offset + loc.length),
      readSpan: async (_key, offset, length) => Buffer.from(pack.subarray(offset, offset + length))
    }
    const data = Buffer.concat([Buffer.from('abcd'), big])
    for (const [a, b] of [[0, 304], [0, 1], [1, 3], [3, 5], [2, 200], [4, 304], [303, 304]]) {
      assert.ok((await collect(readFileRange(src, root, a, b))).equals(data.subarray(a, b)), `range ${a}-${b}`)
    }
  })
})

describe('dag-pb leaves of other shapes than the importers write', () => {
  // the reader finds a plain leaf's bytes from its field heads; every other shape must come
  // out exactly as the full decoder reads it (or be refused as it refuses it)
  const build = async (leaves: Uint8Array[], sizes: number[]): Promise<{ src: BlockSource, root: CID }> => {
    const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []
    const put = async (bytes: Uint8Array): Promise<CID> => {
      const cid = CID.createV0(await sha256.digest(bytes))
      blocks.push({ cid, bytes })
      return cid
    }
    const cids: CID[] = []
    for (const l of leaves) cids.push(await put(l))
    const fs = new UnixFS({ type: 'file', blockSizes: sizes.map(BigInt) })
    const root = await put(dagPb.encode(dagPb.prepare({ Data: fs.marshal(), Links: cids.map((c, i) => ({ Hash: c, Tsize: leaves[i].length })) })))
    const pack = Buffer.concat(blocks.flatMap(b => [Buffer.alloc(5), b.bytes]))
    const where = new Map<string, BlockLocation>()
    let at = 0
    for (const b of blocks) { at += 5; where.set(b.cid.toString(), { key: 'p', offset: at, length: b.bytes.length }); at += b.bytes.length }
    return {
      root,
      src: {
        locate: async cid => where.get(cid.toString()) as BlockLocation,
        read: async (_cid, loc) => pack.subarray(loc.offset, loc.offset + loc.length),
        readSpan: async (_key, offset, length) => Buffer.from(pack.subarray(offset, offset + length))
      }
    }
  }
  const node = (fs: UnixFS): Uint8Array => dagPb.encode({ Data: fs.marshal(), Links: [] })

  test('raw-typed, with mode and mtime, empty, and long leaves read as their data', async () => {
    const parts = [
      deterministicBytes(70000, 'plain'), // a 3-byte length varint
      deterministicBytes(300, 'raw-typed'),
      deterministicBytes(500, 'with metadata'),
      Buffer.alloc(0),
      deterministicBytes(1, 'one byte')
    ]
    const leaves = [
      node(new UnixFS({ type: 'file', data: parts[0] })),
      node(new UnixFS({ type: 'raw', data: parts[1] })),
      node(new UnixFS({ type: 'file', data: parts[2], mode: 0o644, mtime: { secs: 1700000000n } })),
      node(new UnixFS({ type: 'file' })),
      node(new UnixFS({ type: 'file', data: parts[4] }))
    ]
    const { src, root } = await build(leaves, parts.map(p => p.length))
    const data = Buffer.concat(parts)
    for (const [a, b] of [[0, data.length], [69999, 70001], [70000, 70300], [70299, 70301], [70300, 70800], [70799, data.length], [data.length - 1, data.length]]) {
      assert.ok((await collect(readFileRange(src, root, a, b))).equals(data.subarray(a, b)), `range ${a}-${b}`)
    }
  })

  test('a leaf that is not file data is refused as before', async () => {
    // the parent says the first child holds 2 bytes; it is a directory node
    const { src, root } = await build([node(new UnixFS({ type: 'directory' })), node(new UnixFS({ type: 'file', data: Buffer.from('xy') }))], [2, 2])
    await assert.rejects(collect(readFileRange(src, root, 0, 4)), (err: Error & { code?: string }) => err.code === 'unsupported_media')
    assert.ok((await collect(readFileRange(src, root, 2, 4))).equals(Buffer.from('xy')), 'the file leaf after it reads')
  })
})
