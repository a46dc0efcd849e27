/**
 * The BlobStore port's behaviour suite. One body, run against every adapter: the filesystem
 * store, and the S3 store on a real S3-compatible server (when CAIRN_TEST_S3_ENDPOINT is set).
 *
 * A factory gives a fresh, empty store per test and one adapter-specific hook: a way to make
 * the leftovers of a pack that was never completed look old (for sweepIncomplete).
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm, utimes, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsBlobStore, writeFully, type PositionalWriter } from '../../src/adapters/blob/fs-blob-store.js'
import type { S3BlobStore } from '../../src/adapters/blob/s3-blob-store.js'
import { CairnError } from '../../src/core/errors.js'
import type { BlobStore, PackSink } from '../../src/core/ports/blob-store.js'
import { freshBucket, openTestStore, s3TestEnv } from '../helpers/s3.js'

export interface BlobStoreHarness {
  store: BlobStore
  /** make what an incomplete pack `key` left behind look `ageMs` old */
  ageIncomplete: (key: string, ageMs: number) => Promise<void>
  destroy: () => Promise<void>
}

export type BlobStoreFactory = () => Promise<BlobStoreHarness>

const HOUR = 60 * 60 * 1000

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

async function listedKeys (store: BlobStore): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for await (const b of store.list()) out.set(b.key, b.size)
  return out
}

function isNotFound (err: unknown): boolean {
  assert.ok(err instanceof CairnError, `expected a CairnError, got ${String(err)}`)
  assert.equal(err.code, 'not_found')
  return true
}

/** Write a whole pack: header region, then `parts`, then the header. */
async function writePack (store: BlobStore, header: Uint8Array, parts: Uint8Array[]): Promise<{ key: string, bytes: Buffer, offsets: number[] }> {
  const sink = await store.createPack(header.byteLength)
  const offsets: number[] = []
  for (const p of parts) offsets.push(await sink.append(p))
  await sink.complete(header)
  return { key: sink.key, bytes: Buffer.concat([header, ...parts]), offsets }
}

export function blobStoreSuite (name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore behaviour: ${name}`, () => {
    async function withStore (fn: (h: BlobStoreHarness) => Promise<void>): Promise<void> {
      const h = await factory()
      try {
        await fn(h)
      } finally {
        await h.store.close()
        await h.destroy()
      }
    }

    test('createPack reserves the header; append returns increasing offsets; complete publishes the pack', async () => {
      await withStore(async ({ store }) => {
        const header = randomBytes(40)
        const sink = await store.createPack(header.byteLength)
        assert.match(sink.key, /^\S+$/)
        assert.equal(sink.size, header.byteLength, 'a new pack already counts its reserved header')

        const parts = [randomBytes(10), randomBytes(1), randomBytes(5000), randomBytes(0), randomBytes(77)]
        const offsets: number[] = []
        for (const p of parts) offsets.push(await sink.append(p))
        let expected = header.byteLength
        for (let i = 0; i < parts.length; i++) {
          assert.equal(offsets[i], expected, `part ${i} lands right after the previous one`)
          expected += parts[i].byteLength
        }
        assert.equal(sink.size, expected)

        assert.equal((await listedKeys(store)).has(sink.key), false, 'not listed before complete')
        await sink.complete(header)

        const listed = await listedKeys(store)
        assert.equal(listed.get(sink.key), expected, 'listed with its full size once complete')
        const whole = Buffer.concat([header, ...parts])
        assert.deepEqual(Buffer.from(await store.read(sink.key, 0, header.byteLength)), header, 'the header was written into the reserved region')
        assert.deepEqual(await collect(store.stream(sink.key)), whole)

        for await (const info of store.list()) {
          if (info.key !== sink.key) continue
          assert.equal(typeof info.modifiedAt, 'number')
          assert.ok(Math.abs(info.modifiedAt - Date.now()) < HOUR, 'modifiedAt is a recent epoch-ms time')
        }
      })
    })

    test('a completed pack cannot be appended to or completed again; each pack gets its own key', async () => {
      await withStore(async ({ store }) => {
        const a = await store.createPack(4)
        const b = await store.createPack(4)
        assert.notEqual(a.key, b.key)
        await a.append(Buffer.from('data'))
        await a.complete(Buffer.from('HEAD'))
        await assert.rejects(a.append(Buffer.from('more')))
        await assert.rejects(a.complete(Buffer.from('HEAD')))
        assert.equal((await collect(store.stream(a.key))).toString(), 'HEADdata')
        await b.abort()
      })
    })

    test('read returns exactly the bytes at any offset, and never a short read', async () => {
      await withStore(async ({ store }) => {
        const header = randomBytes(17)
        const parts = [randomBytes(1000), randomBytes(300_000), randomBytes(3)]
        const { key, bytes, offsets } = await writePack(store, header, parts)
        for (let i = 0; i < parts.length; i++) {
          assert.deepEqual(Buffer.from(await store.read(key, offsets[i], parts[i].byteLength)), parts[i], `part ${i}`)
        }
        // spans crossing part boundaries, single bytes, the very end
        for (const [off, len] of [[0, bytes.length], [10, 20], [1010, 5000], [offsets[1] + 299_990, 13], [bytes.length - 1, 1], [5, 0]]) {
          assert.deepEqual(Buffer.from(await store.read(key, off, len)), bytes.subarray(off, off + len), `read(${off}, ${len})`)
        }
        // the same pack read many times at once (handles are shared) still answers each exactly
        const spots = Array.from({ length: 40 }, (_, i) => Math.floor((bytes.length - 100) * i / 40))
        const got = await Promise.all(spots.map(async o => await store.read(key, o, 100)))
        spots.forEach((o, i) => { assert.deepEqual(Buffer.from(got[i]), bytes.subarray(o, o + 100)) })
        await assert.rejects(store.read(key, bytes.length - 2, 10), 'reading past the end fails rather than returning fewer bytes')
      })
    })

    test('stream returns the whole pack or exactly [start, end)', async () => {
      await withStore(async ({ store }) => {
        // larger than a typical read chunk, so ranges cross chunk boundaries
        const parts = [randomBytes(1024 * 1024 + 123), randomBytes(1024 * 1024), randomBytes(999)]
        const { key, bytes } = await writePack(store, randomBytes(30), parts)
        assert.deepEqual(await collect(store.stream(key)), bytes)
        const M = 1024 * 1024
        for (const [start, end] of [[0, 1], [0, 30], [29, 31], [M - 10, 2 * M + 10], [bytes.length - 5, bytes.length], [123, bytes.length]]) {
          assert.deepEqual(await collect(store.stream(key, { start, end })), bytes.subarray(start, end), `range [${start}, ${end})`)
        }
        assert.equal((await collect(store.stream(key, { start: 50, end: 50 }))).length, 0, 'an empty range yields nothing')
        // a range running past the end stops at the end (fsck reads a header prefix this way)
        assert.deepEqual(await collect(store.stream(key, { start: bytes.length - 7, end: bytes.length + 4096 })), bytes.subarray(bytes.length - 7))
      })
    })

    test('stream stops when its AbortSignal fires', async () => {
      await withStore(async ({ store }) => {
        const { key } = await writePack(store, randomBytes(8), [randomBytes(4 * 1024 * 1024)])
        const ac = new AbortController()
        ac.abort()
        await assert.rejects(collect(store.stream(key, undefined, ac.signal)))
      })
    })

    test('a pack never completed is neither listed nor readable', async () => {
      await withStore(async ({ store }) => {
        const sink = await store.createPack(8)
        await sink.append(randomBytes(1000))
        assert.equal((await listedKeys(store)).has(sink.key), false)
        await assert.rejects(store.read(sink.key, 8, 100), isNotFound)
        await assert.rejects(collect(store.stream(sink.key)), isNotFound)
        await sink.abort()
      })
    })

    test('an aborted pack is never listed or readable, leaves nothing to sweep, and abort may be repeated', async () => {
      await withStore(async ({ store }) => {
        const sink = await store.createPack(8)
        await sink.append(randomBytes(1000))
        await sink.abort()
        await sink.abort()
        await assert.rejects(sink.append(randomBytes(10)), 'no appends after abort')
        await assert.rejects(sink.complete(randomBytes(8)), 'an aborted pack cannot be completed')
        assert.equal((await listedKeys(store)).has(sink.key), false)
        await assert.rejects(store.read(sink.key, 0, 8), isNotFound)
        await assert.rejects(collect(store.stream(sink.key)), isNotFound)
        assert.equal(await store.sweepIncomplete(0), 0, 'abort already removed what the pack had written')
      })
    })

    test('complete with a header of the wrong length fails and publishes nothing', async () => {
      await withStore(async ({ store }) => {
        const sink = await store.createPack(16)
        await sink.append(randomBytes(100))
        await assert.rejects(sink.complete(randomBytes(15)))
        await assert.rejects(sink.complete(randomBytes(17)))
        assert.equal((await listedKeys(store)).has(sink.key), false)
        await assert.rejects(store.read(sink.key, 0, 16), isNotFound)
        await sink.abort()
        assert.equal((await listedKeys(store)).size, 0)
      })
    })

    test('delete removes a pack: read, stream and list no longer see it, even after it was read', async () => {
      await withStore(async ({ store }) => {
        const kept = await writePack(store, randomBytes(8), [randomBytes(500)])
        const gone = await writePack(store, randomBytes(8), [randomBytes(500)])
        // read first, so any cached handle to it exists
        assert.deepEqual(Buffer.from(await store.read(gone.key, 0, 508)), gone.bytes)
        await store.delete(gone.key)
        await assert.rejects(store.read(gone.key, 0, 8), isNotFound)
        await assert.rejects(collect(store.stream(gone.key)), isNotFound)
        const listed = await listedKeys(store)
        assert.equal(listed.has(gone.key), false)
        assert.equal(listed.has(kept.key), true, 'other packs are untouched')
        assert.deepEqual(Buffer.from(await store.read(kept.key, 0, 508)), kept.bytes)
        await store.delete(gone.key) // deleting again is harmless
      })
    })

    test('sweepIncomplete removes only incomplete packs older than the cut-off', async () => {
      await withStore(async ({ store, ageIncomplete }) => {
        const done = await writePack(store, randomBytes(8), [randomBytes(200)])
        const old = await store.createPack(8)
        await old.append(randomBytes(300))
        const fresh = await store.createPack(8)
        const freshBody = randomBytes(300)
        await fresh.append(freshBody)
        await ageIncomplete(old.key, 2 * HOUR)

        assert.equal(await store.sweepIncomplete(HOUR), 1, 'only the old incomplete pack is swept')

        // the swept pack is gone for good: it can no longer be completed
        await assert.rejects(old.complete(randomBytes(8)))
        await old.abort()
        // the fresh one carries on and completes normally
        const freshHeader = randomBytes(8)
        await fresh.complete(freshHeader)
        assert.deepEqual(await collect(store.stream(fresh.key)), Buffer.concat([freshHeader, freshBody]))
        // completed packs are never swept
        assert.deepEqual(await collect(store.stream(done.key)), done.bytes)
        const listed = await listedKeys(store)
        assert.deepEqual([...listed.keys()].sort(), [done.key, fresh.key].sort())
        assert.equal(await store.sweepIncomplete(HOUR), 0)
      })
    })

    test('a pack copied under a given key (migrate-store) is readable by it, and a second copy replaces it', async () => {
      await withStore(async ({ store }) => {
        const key = randomBytes(16).toString('hex')
        const first = await store.createPack(0, { key })
        assert.equal(first.key, key)
        await first.append(randomBytes(1000))
        await first.complete(new Uint8Array(0))
        const again = await store.createPack(0, { key })
        const bytes = randomBytes(3000)
        await again.append(bytes)
        await again.complete(new Uint8Array(0))
        assert.deepEqual(await collect(store.stream(key)), bytes)
        assert.equal((await listedKeys(store)).get(key), 3000)
        await assert.rejects(store.createPack(0, { key: '../escape' }))
      })
    })

    test('concurrent appends land at distinct offsets with the right bytes', async () => {
      await withStore(async ({ store }) => {
        const header = randomBytes(24)
        const sink: PackSink = await store.createPack(header.byteLength)
        const parts = Array.from({ length: 64 }, (_, i) => randomBytes(1 + ((i * 7919) % 40_000)))
        const offsets = await Promise.all(parts.map(async p => await sink.append(p)))
        const total = header.byteLength + parts.reduce((n, p) => n + p.byteLength, 0)
        assert.equal(sink.size, total)

        // the parts tile [header, total) exactly: no overlap, no gap
        const order = parts.map((p, i) => ({ off: offsets[i], len: p.byteLength })).sort((a, b) => a.off - b.off)
        let next = header.byteLength
        for (const r of order) {
          assert.equal(r.off, next)
          next += r.len
        }
        assert.equal(next, total)

        await sink.complete(header)
        assert.equal((await listedKeys(store)).get(sink.key), total)
        for (let i = 0; i < parts.length; i++) {
          assert.deepEqual(Buffer.from(await store.read(sink.key, offsets[i], parts[i].byteLength)), parts[i], `part ${i}`)
        }
        assert.deepEqual(Buffer.from(await store.read(sink.key, 0, header.byteLength)), header)
      })
    })

    test('parts may be overwritten once append resolves (the store keeps its own copy)', async () => {
      await withStore(async ({ store }) => {
        const header = randomBytes(8)
        const sink = await store.createPack(header.byteLength)
        const buf = randomBytes(70_000)
        const kept = Buffer.from(buf)
        const head = randomBytes(10)
        const keptHead = Buffer.from(head)
        const off = await sink.append(head, buf)
        buf.fill(0xee) // as ingest does when it reuses a chunk buffer
        head.fill(0xee)
        await sink.complete(header)
        assert.deepEqual(Buffer.from(await store.read(sink.key, off, 10 + 70_000)), Buffer.concat([keptHead, kept]))
      })
    })
  })
}

// ---- adapters ----

describe('FsBlobStore: short writes', () => {
  /** a real file whose writes take at most `max` bytes each, as a nearly full disk does */
  function stingy (fh: FileHandle, max: number): PositionalWriter & { calls: number } {
    const w = {
      calls: 0,
      write: async (b: Uint8Array, o: number, len: number, pos: number) => { w.calls++; return await fh.write(b, o, Math.min(len, max), pos) },
      writev: async (bufs: Uint8Array[], pos: number) => {
        w.calls++
        const out: Uint8Array[] = []
        let n = 0
        for (const b of bufs) { if (n >= max) break; const t = b.subarray(0, max - n); out.push(t); n += t.byteLength }
        return await fh.writev(out, pos)
      }
    }
    return w as unknown as PositionalWriter & { calls: number }
  }

  test('writeFully writes the rest after a short write, across part boundaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-short-'))
    try {
      const fh = await open(join(dir, 'f'), 'w+')
      const parts = [randomBytes(5), randomBytes(3000), Buffer.alloc(0), randomBytes(1), randomBytes(4097)]
      const w = stingy(fh, 1000)
      await writeFully(w, parts, 7)
      await fh.close()
      const got = await readFile(join(dir, 'f'))
      assert.deepEqual(got.subarray(7), Buffer.concat(parts))
      assert.ok(w.calls >= 8, `expected several writes, got ${w.calls}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('writeFully fails when a write makes no progress', async () => {
    const nothing = {
      write: async () => ({ bytesWritten: 0, buffer: new Uint8Array(0) }),
      writev: async () => ({ bytesWritten: 0, buffers: [] })
    } as unknown as PositionalWriter
    await assert.rejects(writeFully(nothing, [randomBytes(10)], 0), /wrote nothing/)
  })
})

blobStoreSuite('filesystem (FsBlobStore)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-blob-'))
  const store = await new FsBlobStore(dir).init()
  return {
    store,
    ageIncomplete: async (key, ageMs) => {
      const t = new Date(Date.now() - ageMs)
      await utimes(join(dir, 'incoming', `${key}.part`), t, t)
    },
    destroy: async () => { await rm(dir, { recursive: true, force: true }) }
  }
})

// S3 on a real server (Swift's s3api): a fresh bucket per test. An S3 multipart upload's
// initiation time is the server's and cannot be backdated, so ageIncomplete backdates the
// pack in the store that is writing it (s3-blob-store.test.ts sweeps real leftover uploads).
const s3 = s3TestEnv()
if (s3 !== undefined) {
  blobStoreSuite('S3 (S3BlobStore on Swift s3api)', async () => {
    const { bucket, drop } = await freshBucket(s3)
    const store: S3BlobStore = await openTestStore(s3, bucket)
    return {
      store,
      ageIncomplete: async (key, ageMs) => { store.backdatePendingPack(key, ageMs) },
      destroy: drop
    }
  })
}
