/**
 * What only the S3 adapter does, on a real S3-compatible server (Swift's s3api): credentials
 * checked, multipart packs (part 1 uploaded last with the header), leftover uploads of a dead
 * process swept, presigned URLs that work and cannot be tampered with.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3'
import { S3BlobStore } from '../src/adapters/blob/s3-blob-store.js'
import { CairnError } from '../src/core/errors.js'
import { adminClient, freshBucket, openTestStore, s3TestEnv, storeOptions } from './helpers/s3.js'

const MiB = 1024 * 1024
const HOUR = 3600_000

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

const env = s3TestEnv()
if (env !== undefined) {
  describe('S3 blob store on Swift s3api', () => {
    let bucket: string
    let drop: () => Promise<void>
    before(async () => { ({ bucket, drop } = await freshBucket(env)) })
    after(async () => { await drop() })

    test('a wrong secret or an unknown access key is refused, at start-up and on every write', async () => {
      const wrongSecret = new S3BlobStore(storeOptions(env, bucket, { secretAccessKey: env.secretAccessKey + 'x', maxAttempts: 1 }))
      await assert.rejects(wrongSecret.checkReachable(), (err: unknown) => {
        assert.ok(err instanceof CairnError)
        assert.match(err.message, /credentials were refused \(SignatureDoesNotMatch\)/)
        return true
      })
      const sink = await wrongSecret.createPack(4)
      await sink.append(Buffer.from('data'))
      await assert.rejects(sink.complete(Buffer.from('HEAD')), /SignatureDoesNotMatch/)
      await wrongSecret.close()

      const unknownKey = new S3BlobStore(storeOptions(env, bucket, { accessKeyId: 'nobody:none', maxAttempts: 1 }))
      await assert.rejects(unknownKey.checkReachable(), /credentials were refused/)
      await unknownKey.close()

      const listed = await adminClient(env).send(new ListObjectsV2Command({ Bucket: bucket }))
      assert.equal(listed.KeyCount ?? 0, 0, 'nothing was written with bad credentials')
    })

    test('start-up names a missing bucket and an unreachable endpoint', async () => {
      const missing = new S3BlobStore(storeOptions(env, `${bucket}-missing`, { maxAttempts: 1 }))
      await assert.rejects(missing.checkReachable(), /bucket ".*-missing".*does not exist/)
      await missing.close()
      const nowhere = new S3BlobStore(storeOptions(env, bucket, { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }))
      await assert.rejects(nowhere.checkReachable(), /endpoint is unreachable/)
      await nowhere.close()
    })

    test('a multipart pack: many concurrent appends, header patched into part 1, exact bytes back; appended buffers may be reused', async () => {
      const store = await openTestStore(env, bucket, { partSize: 5 * MiB, uploadConcurrency: 2 })
      try {
        const header = randomBytes(59)
        const sink = await store.createPack(header.byteLength)
        // 17.x MiB in parts of odd sizes, some appended together, several at once
        const parts = Array.from({ length: 70 }, (_, i) => randomBytes(100_000 + ((i * 7919) % 300_000)))
        const kept = parts.map(p => Buffer.from(p))
        const offsets: number[] = []
        for (let i = 0; i < parts.length; i += 10) {
          const batch = parts.slice(i, i + 10)
          const got = await Promise.all([sink.append(...batch.slice(0, 2)), ...batch.slice(2).map(async p => await sink.append(p))])
          offsets.push(got[0], got[0] + batch[0].byteLength, ...got.slice(1))
          for (const p of batch) p.fill(0xee) // the caller reuses its buffers once append resolved
        }
        await sink.complete(header)
        const whole = Buffer.concat([header, ...kept])
        assert.equal(sink.size, whole.length)

        const uploads = await adminClient(env).send(new ListMultipartUploadsCommand({ Bucket: bucket }))
        assert.equal(uploads.Uploads?.length ?? 0, 0, 'the multipart upload was completed')
        const streamed = await collect(store.stream(sink.key))
        assert.equal(createHash('sha256').update(streamed).digest('hex'), createHash('sha256').update(whole).digest('hex'))
        for (let i = 0; i < kept.length; i += 7) {
          assert.deepEqual(Buffer.from(await store.read(sink.key, offsets[i], kept[i].byteLength)), kept[i], `part ${i}`)
        }
        // reads and ranges across the 5 MiB part boundaries
        for (const at of [5 * MiB, 10 * MiB, 15 * MiB]) {
          assert.deepEqual(Buffer.from(await store.read(sink.key, at - 3, 7)), whole.subarray(at - 3, at + 4))
          assert.deepEqual(await collect(store.stream(sink.key, { start: at - 1000, end: at + 1000 })), whole.subarray(at - 1000, at + 1000))
        }
        let listed = 0
        for await (const b of store.list()) if (b.key === sink.key) listed = b.size
        assert.equal(listed, whole.length)
        await store.delete(sink.key)
      } finally {
        await store.close()
      }
    })

    test('memory stays bounded while a pack much larger than a part is written', async () => {
      const part = 5 * MiB
      const store = await openTestStore(env, bucket, { partSize: part, uploadConcurrency: 2 })
      try {
        const sink = await store.createPack(16)
        const hash = createHash('sha256')
        let peak = 0
        // 60 MiB in 256 KiB leaves, eight appends at a time as the importer does
        for (let i = 0; i < 240; i += 8) {
          const batch = Array.from({ length: 8 }, () => randomBytes(256 * 1024))
          for (const b of batch) hash.update(b)
          await Promise.all(batch.map(async b => await sink.append(b)))
          peak = Math.max(peak, store.bufferedBytes())
        }
        const header = randomBytes(16)
        await sink.complete(header)
        assert.equal(store.bufferedBytes(), 0, 'nothing held once complete')
        // part 1 held, one part filling, at most concurrency + 1 in flight (+1 sealed by the
        // appends of one batch)
        assert.ok(peak <= 6 * part, `peak ${peak} bytes held for a ${60 * MiB}-byte pack`)
        const back = createHash('sha256')
        let first = true
        for await (const c of store.stream(sink.key)) {
          back.update(first ? c.subarray(16) : c)
          if (first) assert.deepEqual(Buffer.from(c.subarray(0, 16)), header)
          first = false
        }
        assert.equal(back.digest('hex'), hash.digest('hex'))
        await store.delete(sink.key)
      } finally {
        await store.close()
      }
    })

    test('sequential small reads (a v0 file leaf by leaf) come from read-ahead windows with the exact bytes', async () => {
      // small windows and a small cache, so that reads cross windows and windows are evicted
      const store = await openTestStore(env, bucket, { readAheadBytes: 100_000, readCacheBytes: 250_000 })
      try {
        const body = randomBytes(1_000_000)
        const sink = await store.createPack(10)
        await sink.append(body)
        await sink.complete(Buffer.alloc(10, 1))
        const whole = Buffer.concat([Buffer.alloc(10, 1), body])
        // leaves of odd sizes with small gaps between them (frame heads), front to back
        let at = 10
        let n = 0
        while (at < whole.length) {
          const len = Math.min(7_000 + ((n * 7919) % 40_000), whole.length - at)
          assert.deepEqual(Buffer.from(await store.read(sink.key, at, len)), whole.subarray(at, at + len), `read ${n} at ${at}`)
          at += len + (n % 3 === 0 ? 37 : 0)
          n++
        }
        // back and forth: still exact; past the end still refused
        for (const off of [500_000, 10, 999_000, 250_000]) assert.deepEqual(Buffer.from(await store.read(sink.key, off, 1000)), whole.subarray(off, off + 1000))
        await assert.rejects(store.read(sink.key, whole.length - 5, 100))
        await store.delete(sink.key)
        await assert.rejects(store.read(sink.key, 20, 1000), (err: unknown) => err instanceof CairnError && err.code === 'not_found')
      } finally {
        await store.close()
      }
    })

    test('leftover uploads of a process that died are aborted by another one, once old enough', async () => {
      const dead = await openTestStore(env, bucket, { partSize: 5 * MiB })
      const sink = await dead.createPack(8)
      for (let i = 0; i < 3; i++) await sink.append(randomBytes(4 * MiB)) // a part went out: an upload exists
      const client = adminClient(env)
      // parts go out in the background: wait until the server has the upload and its part
      for (let i = 0; ; i++) {
        const u = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
        const id = u.Uploads?.[0]?.UploadId
        const parts = id === undefined ? undefined : await client.send(new ListPartsCommand({ Bucket: bucket, Key: u.Uploads?.[0]?.Key, UploadId: id }))
        if ((parts?.Parts?.length ?? 0) > 0) break
        assert.ok(i < 100, 'the first full part reached the server')
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      // the process dies: nobody completes or aborts it
      await dead.close()

      const next = await openTestStore(env, bucket)
      try {
        assert.equal(await next.sweepIncomplete(HOUR), 0, 'a recent upload may belong to a live node: kept')
        assert.equal((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length, 1)
        assert.equal(await next.sweepIncomplete(0), 1)
        assert.equal((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0, 0)
        for await (const b of next.list()) assert.notEqual(b.key, sink.key)
      } finally {
        await next.close()
      }
    })

    test('a presigned GET URL serves the pack; a tampered or re-pointed one is refused', async () => {
      const store = await openTestStore(env, bucket)
      try {
        const sink = await store.createPack(6)
        const body = randomBytes(200_000)
        await sink.append(body)
        await sink.complete(Buffer.from('HEADER'))
        const other = await store.createPack(1)
        await other.append(Buffer.from('other'))
        await other.complete(Buffer.from('!'))
        assert.ok(store.presigner !== undefined)

        const url = await store.presigner.presignGet(sink.key, { expiresInSeconds: 300, contentType: 'application/vnd.ipld.car' })
        const res = await fetch(url)
        assert.equal(res.status, 200)
        assert.equal(res.headers.get('content-type'), 'application/vnd.ipld.car')
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.concat([Buffer.from('HEADER'), body]))
        const ranged = await fetch(url, { headers: { range: 'bytes=6-15' } })
        assert.equal(ranged.status, 206)
        assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), body.subarray(0, 10))

        const u = new URL(url)
        const sig = u.searchParams.get('X-Amz-Signature') ?? ''
        u.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1))
        const tampered = await fetch(u)
        assert.equal(tampered.status, 403, 'a changed signature is refused')
        await tampered.arrayBuffer()
        const repointed = new URL(url.replace(sink.key, other.key))
        const r2 = await fetch(repointed)
        assert.equal(r2.status, 403, 'the signature does not open another object')
        await r2.arrayBuffer()
        const longer = new URL(url)
        longer.searchParams.set('X-Amz-Expires', '604800')
        const r3 = await fetch(longer)
        assert.equal(r3.status, 403, 'the expiry is signed too')
        await r3.arrayBuffer()
        await assert.rejects(store.presigner.presignGet(sink.key, { expiresInSeconds: 8 * 24 * 3600 }), /expiry/)
      } finally {
        await store.close()
      }
    })

    test('a presigned PUT URL stages an upload the store reads back; tampered is refused; stale staged objects are swept', async () => {
      const store = await openTestStore(env, bucket)
      try {
        assert.ok(store.presigner !== undefined)
        const put = await store.presigner.presignPut({ expiresInSeconds: 300, contentType: 'text/plain' })
        const bytes = randomBytes(100_000)
        const u = new URL(put.url)
        u.searchParams.set('X-Amz-Signature', '0'.repeat(64))
        const bad = await fetch(u, { method: 'PUT', body: bytes, headers: put.headers })
        assert.equal(bad.status, 403)
        await bad.arrayBuffer()
        const res = await fetch(put.url, { method: 'PUT', body: bytes, headers: put.headers })
        assert.equal(res.status, 200, await res.text())
        assert.deepEqual(await collect(store.presigner.streamStaged(put.key)), bytes)
        for await (const b of store.list()) assert.notEqual(b.key, put.key, 'a staged upload is not a pack')
        assert.equal(await store.sweepIncomplete(HOUR), 0)
        assert.equal(await store.sweepIncomplete(0), 1)
        await assert.rejects(collect(store.presigner.streamStaged(put.key)), (err: unknown) => err instanceof CairnError && err.code === 'not_found')
      } finally {
        await store.close()
      }
    })
  })
}
