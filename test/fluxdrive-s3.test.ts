/**
 * FluxDrive end to end with packs in S3 (Swift's s3api) and metadata in PostgreSQL (when
 * CAIRN_TEST_DATABASE_URL is set, else SQLite): upload, cat, get, ls, rm and gc through HTTP,
 * checked against what the bucket itself holds. And the server refuses to start against a
 * bucket it cannot use, saying why.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { serveProcess } from './helpers/process.js'
import { adminClient, freshBucket, s3ProcessEnv, s3TestEnv } from './helpers/s3.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const env = s3TestEnv()

if (env !== undefined) {
  describe('FluxDrive on S3 (Swift s3api)', () => {
    const pgUrl = process.env.CAIRN_TEST_DATABASE_URL
    let dbs: PgDatabases | undefined
    let dbName: string | undefined
    let bucket: string
    let drop: () => Promise<void>
    let s: TestServer

    async function objects (): Promise<Map<string, number>> {
      const r = await adminClient(env as NonNullable<typeof env>).send(new ListObjectsV2Command({ Bucket: bucket }))
      return new Map((r.Contents ?? []).map(o => [o.Key ?? '', o.Size ?? 0]))
    }

    before(async () => {
      ({ bucket, drop } = await freshBucket(env))
      const extra: Record<string, string> = { CAIRN_GC_GRACE_SECONDS: '0' }
      if (pgUrl !== undefined && pgUrl !== '') {
        dbs = pgDatabases(pgUrl)
        const db = await dbs.fresh()
        dbName = db.name
        extra.CAIRN_DATABASE_URL = db.url
      }
      s = await startServer({ ...s3ProcessEnv(env, bucket), ...extra })
    })
    after(async () => {
      await s.close()
      if (dbs !== undefined && dbName !== undefined) { await dbs.drop(dbName); await dbs.end() }
      await drop()
    })

    test('put, cat, ls, rm and gc: each pack is one object in the bucket, and nothing on local disk', async () => {
      const a = await s.account()
      const small = Buffer.from('hello world\n')
      const big = randomBytes(21 * 1024 * 1024 + 12345) // several multipart parts
      const res = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'hello.txt', data: small, type: 'text/plain' }]))
      assert.equal(res.status, 200)
      const hello = (await json(res)).files[0].hash
      assert.equal(hello, 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o', 'Kubo\'s CID, whatever holds the bytes')
      const upBig = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'big.bin', data: big }])))
      const bigHash = upBig.files[0].hash

      const objs = await objects()
      const packs = await s.core.metadata.db.selectFrom('packs').select(['blob_key', 'size']).execute()
      assert.equal(packs.length, 2)
      for (const p of packs) assert.equal(objs.get(`packs/${p.blob_key}`), p.size, 'the bucket holds each pack whole')
      assert.equal(objs.size, 2)
      const uploads = await adminClient(env).send(new ListMultipartUploadsCommand({ Bucket: bucket }))
      assert.equal(uploads.Uploads?.length ?? 0, 0, 'no multipart upload left open')
      assert.deepEqual(await readdir(join(s.dataDir, 'blobs', 'packs')).catch(() => []), [], 'no pack file on local disk')

      const cat = await post(`${s.url}/api/v0/cat?arg=${hello}`, a.auth)
      assert.equal(await cat.text(), 'hello world\n')
      const catBig = await post(`${s.url}/api/v0/cat?arg=${bigHash}`, a.auth)
      assert.equal(catBig.status, 200)
      assert.equal(sha(Buffer.from(await catBig.arrayBuffer())), sha(big))
      const M = 5 * 1024 * 1024
      const part = await post(`${s.url}/api/v0/cat?arg=${bigHash}`, a.auth, undefined, { range: `bytes=${M - 10}-${2 * M + 9}` })
      assert.equal(part.status, 206)
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), big.subarray(M - 10, 2 * M + 10))
      const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
      assert.deepEqual(ls.files.map((f: any) => f.hash).sort(), [hello, bigHash].sort())

      assert.equal((await post(`${s.url}/api/v0/rm?arg=${bigHash}`, a.auth)).status, 200)
      assert.equal((await post(`${s.url}/api/v0/cat?arg=${bigHash}`, a.auth)).status, 404)
      await new Promise(resolve => setTimeout(resolve, 5))
      const report = await s.core.gc()
      assert.equal(report.packsDeleted, 1)
      const after = await objects()
      assert.equal(after.size, 1, 'the collector deleted the freed pack\'s object')
      assert.equal((await post(`${s.url}/api/v0/cat?arg=${hello}`, a.auth)).status, 200)
      const fsck = await s.core.fsck()
      assert.deepEqual(fsck.problems, [])
    })

    test('the same bytes uploaded concurrently are stored once; putfolder and get (tar) read from S3', async () => {
      const accounts = await Promise.all([1, 2, 3].map(async () => await s.account()))
      const data = randomBytes(300_000)
      const before = (await objects()).size
      const results = await Promise.all(accounts.map(async a => await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'same.bin', data }]))))
      assert.deepEqual(results.map(r => r.status), [200, 200, 200])
      assert.equal(new Set(await Promise.all(results.map(async r => (await json(r)).files[0].hash))).size, 1)
      assert.equal((await objects()).size, before + 1, 'redundant packs were deleted from the bucket')

      const a = accounts[0]
      const folder = await json(await post(`${s.url}/api/v0/putfolder`, a.auth, form([
        { name: 'image.txt', data: 'picture' },
        { name: 'meta/metadata.json', data: '{"a":1}', type: 'application/json' }
      ], { name: 'drop' })))
      assert.equal(await (await post(`${s.url}/api/v0/cat?arg=${folder.folder.hash}/meta/metadata.json`, a.auth)).text(), '{"a":1}')
      const tar = await post(`${s.url}/api/v0/get?arg=${folder.folder.hash}`, a.auth)
      assert.equal(tar.status, 200)
      const body = Buffer.from(await tar.arrayBuffer())
      assert.ok(body.includes(Buffer.from('picture')) && body.includes(Buffer.from('{"a":1}')))
    })
  })

  describe('cairn serve with S3 settings it cannot use', () => {
    let dataDir: string
    before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-bad-')) })
    after(async () => { await rm(dataDir, { recursive: true, force: true }) })

    test('a wrong secret or a missing bucket stops start-up with a clear error', async () => {
      const { bucket, drop } = await freshBucket(env)
      try {
        const wrong = { ...s3ProcessEnv(env, bucket), CAIRN_S3_SECRET_ACCESS_KEY: 'not-the-secret' }
        await assert.rejects(serveProcess(dataDir, wrong), /credentials were refused \(SignatureDoesNotMatch\)/)
        const missing = s3ProcessEnv(env, `${bucket}-nope`)
        await assert.rejects(serveProcess(dataDir, missing), /does not exist/)
        const good = await serveProcess(dataDir, s3ProcessEnv(env, bucket))
        assert.match(good.stdout(), new RegExp(`blobs: S3 bucket ${bucket} at ${env.endpoint.replace(/[.]/g, '\\.')} \\(path-style\\)`))
        good.child.kill('SIGTERM')
        await new Promise(resolve => good.child.once('exit', resolve))
      } finally {
        await drop()
      }
    })
  })
}
