/**
 * The leaf stage that replaces the importer's own (src/core/content/leaf-import.ts: its
 * chunker, in-place leaf framing, hashing in worker threads, reused buffers) against the
 * library's defaults: for both profiles, across chunk and tree boundaries, fed in pieces of
 * several sizes, the same root, the same entries, the same blocks in the same order (with the
 * same blockWriteConcurrency, which decides where parents fall among the leaves). Then
 * ingest() itself: the pack holds exactly the default importer's blocks, leaves in file order.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importer, type ImportCandidate, type ImporterOptions } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { FsBlobStore } from '../src/adapters/blob/fs-blob-store.js'
import type { PackSink } from '../src/core/ports/blob-store.js'
import { ingest } from '../src/core/content/ingest.js'
import { ChunkBuffers, fastLeafOptions, leafFraming } from '../src/core/content/leaf-import.js'
import type { ImportProfile } from '../src/core/content/profiles.js'
import { offThreadSha256 } from '../src/core/content/sha256-pool.js'

const KiB = 1024
const MiB = 1024 * KiB
const C0 = 256 * KiB // unixfs-v0-2015 chunk
const C1 = MiB // unixfs-v1-2025 chunk

/** deterministic, non-repeating bytes (the AES-256-CTR keystream of a key made from `seed`) */
function bytes (n: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest()
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n))
}

/** `data` in pieces of `size` bytes (as a socket or a file read hands them over) */
async function * pieces (data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, Math.min(data.length, o + size))
}

interface Run {
  entries: Array<{ path: string, cid: string, size: bigint, type?: string, fileSize?: bigint }>
  /** every put, in order: CID and the block's bytes (copied when put) */
  puts: Array<{ cid: string, bytes: Buffer }>
}

async function run (candidates: ImportCandidate[], profile: ImportProfile, extra: Partial<ImporterOptions>, wrapWithDirectory = false): Promise<Run> {
  const puts: Run['puts'] = []
  const blockstore = {
    put: async (cid: CID, b: Uint8Array): Promise<CID> => {
      puts.push({ cid: cid.toString(), bytes: Buffer.from(b) })
      return cid
    }
  }
  const entries: Run['entries'] = []
  for await (const e of importer(candidates, blockstore, { profile, wrapWithDirectory, ...extra })) {
    entries.push({ path: e.path ?? '', cid: e.cid.toString(), size: e.size, type: e.unixfs?.type, fileSize: e.unixfs?.fileSize() })
  }
  return { entries, puts }
}

function sameRun (got: Run, want: Run, what: string): void {
  assert.deepEqual(got.entries, want.entries, `${what}: entries`)
  assert.equal(got.puts.length, want.puts.length, `${what}: number of puts`)
  for (let i = 0; i < want.puts.length; i++) {
    assert.equal(got.puts[i].cid, want.puts[i].cid, `${what}: put #${i}`)
    assert.ok(got.puts[i].bytes.equals(want.puts[i].bytes), `${what}: bytes of put #${i} (${want.puts[i].cid})`)
  }
}

/** the blockWriteConcurrency fastLeafOptions sets for `profile` */
function bwc (profile: ImportProfile): number | undefined {
  return fastLeafOptions(profile, sha256, new ChunkBuffers()).blockWriteConcurrency
}

const SIZES: Record<ImportProfile, number[]> = {
  'unixfs-v0-2015': [0, 1, 1000, C0 - 1, C0, C0 + 1, 3 * C0 + 17, 174 * C0, 174 * C0 + 1],
  'unixfs-v1-2025': [0, 1, 1000, C1 - 1, C1, C1 + 1, 3 * C1 + 17, 5 * C1]
}

describe('leaf importer makes the default importer\'s DAG', () => {
  const hashers = [
    { name: 'worker pool', hasher: offThreadSha256() },
    { name: 'synchronous sha256', hasher: sha256 }
  ]
  for (const profile of ['unixfs-v0-2015', 'unixfs-v1-2025'] as const) {
    for (const size of SIZES[profile]) {
      test(`${profile}, ${size} bytes`, async () => {
        const data = bytes(size, `${profile}:${size}`)
        // the default, with the same blockWriteConcurrency (it decides where parents fall among leaves)
        const want = await run([{ content: pieces(data, 64 * KiB) }], profile, { blockWriteConcurrency: bwc(profile) })
        for (const { name, hasher } of hashers) {
          // one piece of everything, socket-sized pieces, and odd pieces that straddle chunks
          for (const piece of [Math.max(1, size), 64 * KiB, 10_007]) {
            const got = await run([{ content: pieces(data, piece) }], profile, fastLeafOptions(profile, hasher, new ChunkBuffers()))
            sameRun(got, want, `${name}, pieces of ${piece}`)
          }
        }
      })
    }
    test(`${profile}, a folder of several files (wrapped in a directory)`, async () => {
      const files: Array<[string, number]> = [['a.txt', 5], ['empty', 0], ['dir/big.bin', 2 * C1 + 3], ['dir/sub/one-chunk', C0], ['z', 3 * C0 + 1]]
      const candidates = (): ImportCandidate[] => files.map(([path, n]) => ({ path, content: pieces(bytes(n, path), 64 * KiB) }))
      const want = await run(candidates(), profile, { fileImportConcurrency: 1, blockWriteConcurrency: bwc(profile) }, true)
      const got = await run(candidates(), profile, { fileImportConcurrency: 1, ...fastLeafOptions(profile, offThreadSha256(), new ChunkBuffers()) }, true)
      sameRun(got, want, 'folder')
    })
  }
})

describe('leaf importer write order', () => {
  test('unixfs-v0-2015, several parents: leaves and parents interleave as with the default', async () => {
    const data = bytes(3 * 174 * C0 + 99, 'order')
    const want = await run([{ content: pieces(data, 64 * KiB) }], 'unixfs-v0-2015', { blockWriteConcurrency: bwc('unixfs-v0-2015') })
    const got = await run([{ content: pieces(data, 64 * KiB) }], 'unixfs-v0-2015', fastLeafOptions('unixfs-v0-2015', offThreadSha256(), new ChunkBuffers()))
    sameRun(got, want, 'three parents')
  })
})

describe('leaf framing', () => {
  test('is the bytes ipfs-unixfs and @ipld/dag-pb put around the data', () => {
    for (const n of [1, 2, 127, 128, 129, 16_383, 16_384, 16_385, C0 - 1, C0, C1, 2 * C1 + 1]) {
      const data = bytes(n, `framing:${n}`)
      const { prefix, suffix } = leafFraming(n, 'file')
      const want = dagPb.encode({ Data: new UnixFS({ type: 'file', data }).marshal(), Links: [] })
      assert.ok(Buffer.concat([prefix, data, suffix]).equals(want), `${n} bytes`)
    }
  })
})

describe('ingest writes the default importer\'s blocks to the pack', () => {
  let dir: string
  let blobs: FsBlobStore
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-ingest-'))
    blobs = await new FsBlobStore(dir).init()
  })
  after(async () => {
    await blobs.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function check (profile: ImportProfile, size: number, seed: string): Promise<void> {
    const data = bytes(size, seed)
    const want = await run([{ content: pieces(data, 64 * KiB) }], profile, { blockWriteConcurrency: bwc(profile) })
    const got = await ingest(blobs, [{ content: pieces(data, 65_536 - 7) }], { profile, wrapWithDirectory: false })
    assert.equal(got.root.cid.toString(), want.entries[want.entries.length - 1].cid, `${profile} ${size}: root`)
    assert.equal(got.root.size, size)
    // the pack holds each distinct block once, with the default's bytes, in the default's order
    const distinct = [...new Map(want.puts.map(p => [p.cid, p])).values()]
    assert.deepEqual(got.blocks.map(b => b.cid), distinct.map(p => p.cid), `${profile} ${size}: blocks in order`)
    for (let i = 0; i < got.blocks.length; i++) {
      const b = got.blocks[i]
      if (i > 0) assert.ok(b.offset > got.blocks[i - 1].offset, 'offsets grow with the write order')
      const stored = await blobs.read(got.packKey, b.offset, b.length)
      assert.ok(Buffer.from(stored).equals(distinct[i].bytes), `${profile} ${size}: bytes of ${b.cid}`)
    }
  }

  test('unixfs-v0-2015, a two-level file', async () => { await check('unixfs-v0-2015', 174 * C0 + 5, 'pack-v0') })
  test('unixfs-v1-2025, a multi-block file', async () => { await check('unixfs-v1-2025', 4 * C1 + 5, 'pack-v1') })
  test('a file of one block, and an empty file', async () => {
    await check('unixfs-v0-2015', 1000, 'small-v0')
    await check('unixfs-v1-2025', 1000, 'small-v1')
    await check('unixfs-v0-2015', 0, 'empty')
  })
  test('concurrent imports sharing reused buffers each get their own bytes', async () => {
    await Promise.all([
      check('unixfs-v0-2015', 40 * C0 + 1, 'c1'),
      check('unixfs-v0-2015', 33 * C0 + 999, 'c2'),
      check('unixfs-v1-2025', 9 * C1 + 2, 'c3'),
      check('unixfs-v1-2025', 7 * C1, 'c4')
    ])
  })
})

describe('ingest when the pack cannot be written', () => {
  test('a failed append fails the import, which aborts the pack (and nothing hangs)', async () => {
    let appends = 0
    let aborted = 0
    const blobs = {
      createPack: async (headerLength: number): Promise<PackSink> => {
        let size = headerLength
        return {
          key: 'k',
          get size () { return size },
          append: async (...parts: Uint8Array[]) => {
            if (++appends === 3) throw new Error('disk full')
            const at = size
            size += parts.reduce((n, p) => n + p.byteLength, 0)
            await new Promise(resolve => setTimeout(resolve, 1))
            return at
          },
          complete: async () => { throw new Error('must not complete') },
          abort: async () => { aborted++ }
        }
      }
    }
    const data = bytes(40 * C0 + 3, 'fail')
    await assert.rejects(ingest(blobs, [{ content: pieces(data, 64 * KiB) }], { profile: 'unixfs-v0-2015', wrapWithDirectory: false }), /disk full/)
    assert.equal(aborted, 1)
  })
})
