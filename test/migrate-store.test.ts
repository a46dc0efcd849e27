/**
 * `cairn migrate-store` on real processes: an embedded deployment (SQLite + packs in the data
 * dir) moved to PostgreSQL and Swift's S3, verified, re-run (nothing copied twice, a lost
 * object copied again), and then a server on the target alone serves every file to the
 * same keys. Also: packs only (SQLite stays), and a target database that holds another
 * deployment is refused.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { pgDatabases, type PgDatabases } from './helpers/pg.js'
import { cli, serveProcess, type ServerProcess } from './helpers/process.js'
import { fakeZelid } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { adminClient, freshBucket, s3ProcessEnv, s3TestEnv, type S3TestEnv } from './helpers/s3.js'
import { serviceOrSkip } from './helpers/services.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

async function stop (p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null) return
  const exited = new Promise(resolve => p.child.once('exit', resolve))
  p.child.kill('SIGTERM')
  await exited
}

function targetArgs (env: S3TestEnv, bucket: string): string[] {
  return ['--to-s3-bucket', bucket, '--to-s3-endpoint', env.endpoint, '--to-s3-region', env.region,
    '--to-s3-access-key-id', env.accessKeyId, '--to-s3-secret-access-key', env.secretAccessKey, '--to-s3-force-path-style']
}

interface Stored { auth: string, files: Map<string, string> }

/** An embedded deployment with a few accounts' files, a folder and a removed file. */
async function populate (dataDir: string): Promise<Stored> {
  const p = await serveProcess(dataDir)
  try {
    const zelid = fakeZelid()
    const made = cli(dataDir, ['account', 'create', '--zelid', zelid, '--json'])
    assert.equal(made.status, 0, made.stderr)
    const auth = 'Basic ' + Buffer.from(`${zelid}:${String(JSON.parse(made.stdout).api_key)}`).toString('base64')
    const files = new Map<string, string>()
    const blobs = [Buffer.from('hello world\n'), randomBytes(100_000), randomBytes(9 * 1024 * 1024 + 7)]
    for (const [i, data] of blobs.entries()) {
      const up = await json(await post(`${p.url}/api/v0/put${i === 1 ? '?cid-version=1' : ''}`, auth, form([{ name: `f${i}.bin`, data }])))
      files.set(up.files[0].hash, sha(data))
    }
    const folder = await json(await post(`${p.url}/api/v0/putfolder`, auth, form([{ name: 'a.txt', data: 'alpha' }, { name: 'sub/b.txt', data: 'beta' }], { name: 'dir' })))
    files.set(`${String(folder.folder.hash)}/sub/b.txt`, sha(Buffer.from('beta')))
    const gone = await json(await post(`${p.url}/api/v0/put`, auth, form([{ name: 'gone.bin', data: randomBytes(5000) }])))
    assert.equal((await post(`${p.url}/api/v0/rm?arg=${String(gone.files[0].hash)}`, auth)).status, 200)
    return { auth, files }
  } finally {
    await stop(p)
  }
}

async function servesAll (p: ServerProcess, stored: Stored): Promise<void> {
  for (const [arg, digest] of stored.files) {
    const res = await post(`${p.url}/api/v0/cat?arg=${arg}`, stored.auth)
    assert.equal(res.status, 200, `cat ${arg}`)
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), digest, `cat ${arg}`)
  }
  const ls = await json(await post(`${p.url}/api/v0/ls`, stored.auth))
  assert.equal(ls.files.length, 4)
}

const s3 = s3TestEnv()
const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL migrate-store')

if (s3 !== undefined && pgUrl !== undefined) {
  describe('cairn migrate-store', () => {
    const env = s3
    let dbs: PgDatabases
    const cleanup: Array<() => Promise<void>> = []
    before(() => { dbs = pgDatabases(pgUrl) })
    after(async () => {
      for (const c of cleanup.reverse()) await c().catch(() => {})
      await dbs.end()
    })
    async function tempDir (): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), 'cairn-migrate-'))
      cleanup.push(async () => { await rm(d, { recursive: true, force: true }) })
      return d
    }
    async function bucket (): Promise<string> {
      const b = await freshBucket(env)
      cleanup.push(b.drop)
      return b.bucket
    }

    test('SQLite + data dir -> PostgreSQL + S3: verified, idempotent, resumable, and served from the target alone', async () => {
      const dataDir = await tempDir()
      const stored = await populate(dataDir)
      const db = await dbs.fresh()
      cleanup.push(async () => { await dbs.drop(db.name) })
      const b = await bucket()
      const args = ['migrate-store', '--to-database-url', db.url, ...targetArgs(env, b), '--json']

      const first = cli(dataDir, args)
      assert.equal(first.status, 0, first.stderr + first.stdout)
      const r1 = JSON.parse(first.stdout)
      assert.deepEqual(r1.problems, [])
      assert.equal(r1.packsCopied, 5, 'three files, a folder, and the removed file\'s pack (still in its grace period)')
      assert.equal(r1.verified.packs, 5)
      assert.equal(r1.verified.roots, 5)
      assert.ok(r1.verified.blocks > 40, 'the 9 MiB file\'s blocks were all re-hashed')
      assert.equal(r1.tables.accounts, 2, 'the bootstrap admin and the user')
      assert.ok(r1.tables.entries >= 4)

      // again: nothing to copy, metadata replaced by the same rows
      const second = cli(dataDir, args)
      assert.equal(second.status, 0, second.stderr)
      const r2 = JSON.parse(second.stdout)
      assert.equal(r2.packsCopied, 0)
      assert.equal(r2.packsSkipped, 5)
      assert.deepEqual(r2.tables, r1.tables)

      // an object lost in the target (an interrupted run) is copied again on the next run
      const client = adminClient(env)
      const objs = await client.send(new ListObjectsV2Command({ Bucket: b }))
      assert.equal(objs.KeyCount, 5)
      await client.send(new DeleteObjectCommand({ Bucket: b, Key: objs.Contents?.[0]?.Key }))
      const third = cli(dataDir, args)
      assert.equal(third.status, 0, third.stderr)
      assert.equal(JSON.parse(third.stdout).packsCopied, 1)

      // a server with a new, empty data dir on the target stores serves everything to the same key
      const emptyDir = await tempDir()
      const target = await serveProcess(emptyDir, { CAIRN_DATABASE_URL: db.url, ...s3ProcessEnv(env, b) })
      try {
        assert.doesNotMatch(target.stdout(), /admin API key/, 'the bootstrap admin came along: no new one')
        await servesAll(target, stored)
        const up = await post(`${target.url}/api/v0/put`, stored.auth, form([{ name: 'after.txt', data: 'written after the move' }]))
        assert.equal(up.status, 200)
      } finally {
        await stop(target)
      }

      // the target has been used since: running the copy again would lose that write
      const fourth = cli(dataDir, args)
      assert.notEqual(fourth.status, 0)
      assert.match(fourth.stderr, /changed since migrate-store filled it/)
    })

    test('packs only: SQLite stays, the data dir\'s packs move to S3 and are served from there', async () => {
      const dataDir = await tempDir()
      const stored = await populate(dataDir)
      const b = await bucket()
      const r = cli(dataDir, ['migrate-store', ...targetArgs(env, b)])
      assert.equal(r.status, 0, r.stderr + r.stdout)
      assert.match(r.stdout, /packs: 5 copied/)
      assert.match(r.stdout, /OK: every CID reads back from the target/)
      // the local packs are out of the way: whatever is served comes from the bucket
      await rename(join(dataDir, 'blobs'), join(dataDir, 'blobs.old'))
      const p = await serveProcess(dataDir, s3ProcessEnv(env, b))
      try {
        await servesAll(p, stored)
      } finally {
        await stop(p)
      }
    })

    test('a target database holding another deployment is refused, and nothing is written to it', async () => {
      const dataDir = await tempDir()
      await populate(dataDir)
      const db = await dbs.fresh()
      cleanup.push(async () => { await dbs.drop(db.name) })
      const otherDir = await tempDir()
      const other = cli(otherDir, ['account', 'create', '--zelid', fakeZelid(), '--json'], { CAIRN_DATABASE_URL: db.url })
      assert.equal(other.status, 0, other.stderr)
      const b = await bucket()
      const r = cli(dataDir, ['migrate-store', '--to-database-url', db.url, ...targetArgs(env, b)])
      assert.notEqual(r.status, 0)
      assert.match(r.stderr, /already holds data/)
      const list = cli(otherDir, ['account', 'list', '--json'], { CAIRN_DATABASE_URL: db.url })
      assert.equal(JSON.parse(list.stdout).length, 1, 'the other deployment is untouched')
      const none = cli(dataDir, ['migrate-store'])
      assert.notEqual(none.status, 0)
      assert.match(none.stderr, /--to-database-url, --to-s3-bucket, or both/)
    })
  })
}
