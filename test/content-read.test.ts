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
import { ContentStore } from '../src/core/content/content-store.js'
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
        // the library's exporter agrees
        if (b > a) assert.ok((await collect(entry.content({ offset: a, length: b - a }))).equals(got), `exporter ${a}-${b}`)
      }
    })
  }
})
