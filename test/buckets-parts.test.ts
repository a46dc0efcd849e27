/**
 * /buckets parts are packs of UnixFS leaves (src/core/buckets.ts): parts that line up become
 * the file's leaves with nothing read again, parts that do not are imported from scratch,
 * both give Kubo's CID; the packs are freed with the file, or at completion when the file
 * does not keep them; an acknowledged part survives kill -9.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { packFiles, startServer, type TestServer } from './helpers/server.js'
import { eventually } from './helpers/gateway.js'
import { post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { cli, kill9, serveProcess, type ServerProcess } from './helpers/process.js'

const KiB = 1024

/** Kubo's CID of `data` (ipfs add: CIDv0, 256 KiB dag-pb leaves), by the IPFS project's importer */
async function kuboCid (data: Uint8Array): Promise<string> {
  let root: CID | undefined
  const put = async (cid: CID): Promise<CID> => cid
  for await (const e of importer([{ content: [data] }], { put } as any, { profile: 'unixfs-v0-2015' } as any)) root = e.cid
  return (root as CID).toString()
}

async function call (url: string, method: string, path: string, opts: { token?: string, key?: string, body?: unknown, headers?: Record<string, string> } = {}): Promise<{ status: number, body: any }> {
  const h: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) h.authorization = `Bearer ${opts.token}`
  if (opts.key !== undefined) h['x-api-key'] = opts.key
  let body: BodyInit | undefined
  if (opts.body instanceof Uint8Array) body = opts.body as unknown as BodyInit
  else if (opts.body !== undefined) { body = JSON.stringify(opts.body); h['content-type'] = 'application/json' }
  const res = await fetch(`${url}${path}`, { method, headers: h, body })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: res.status, body: parsed }
}

/** a session, an upload of `data` in parts of `partBytes` (sent in the order given), not completed */
async function sendParts (url: string, key: string, data: Uint8Array, partBytes: number, order?: number[]): Promise<{ token: string, upload: { uploadId: string, key: string }, tags: string[] }> {
  const sess = await call(url, 'POST', '/session', { key, body: {} })
  assert.equal(sess.status, 200, JSON.stringify(sess.body))
  const token = sess.body.credentials.token as string
  const totalParts = Math.ceil(data.length / partBytes)
  const up = await call(url, 'POST', '/buckets', { token, body: { totalParts, originalSizeInBytes: data.length } })
  assert.equal(up.status, 200, JSON.stringify(up.body))
  const upload = { uploadId: up.body.uploadId as string, key: up.body.key as string }
  const tags: string[] = []
  for (const n of order ?? Array.from({ length: totalParts }, (_, i) => i + 1)) {
    const bytes = data.subarray((n - 1) * partBytes, Math.min(data.length, n * partBytes))
    const r = await call(url, 'PUT', '/buckets', { token, body: bytes, headers: { partNumber: String(n), key: upload.key, uploadId: upload.uploadId, 'content-type': 'application/octet-stream' } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.size, bytes.length)
    tags[n - 1] = r.body.tag
  }
  return { token, upload, tags }
}

describe('/buckets parts as packs of leaves', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_GC_GRACE_SECONDS: '0', CAIRN_SESSION_SWEEP_INTERVAL_SECONDS: '0' }) })
  after(async () => { await s.close() })

  test('parts that line up become the file: Kubo\'s CID, ranges across parts, fsck clean, and the collector frees every pack', async () => {
    const a = await s.account()
    // 3 parts of 512 KiB and a short last one; zero chunks in two parts (a leaf stored once per pack)
    const data = deterministicBytes(3 * 512 * KiB + 1000, 'parts-lined-up')
    data.fill(0, 200 * KiB, 900 * KiB)
    const { token, upload } = await sendParts(s.url, a.key, data, 512 * KiB, [4, 2, 1, 3])
    const before = (await packFiles(s.dataDir)).length
    const done = await call(s.url, 'POST', '/buckets/complete', { token, body: { key: upload.key } })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.cid, await kuboCid(data))
    assert.equal((await packFiles(s.dataDir)).length, before + 1, 'completing adds one pack (the parents) and copies no part')

    // a range that starts in part 1 and ends in part 3, and the whole file
    const cat = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}&offset=${500 * KiB}&length=${600 * KiB}`, a.auth)
    assert.equal(cat.status, 200)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data.subarray(500 * KiB, 1100 * KiB)))
    const whole = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}`, a.auth)
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data))
    // a leaf inside part 2 is a block of the account's file (Kubo's block/get)
    const filePack = await s.core.metadata.db.selectFrom('contents').select('pack_id').where('cid', '=', done.body.cid).executeTakeFirstOrThrow()
    const leaf = await s.core.metadata.db.selectFrom('blocks').innerJoin('packs', 'packs.id', 'blocks.pack_id')
      .select('blocks.cid').where('packs.part_of', '=', filePack.pack_id).orderBy('blocks.offset').executeTakeFirstOrThrow()
    assert.equal((await post(`${s.url}/api/v0/block/stat?arg=${leaf.cid}`, a.auth)).status, 200)

    assert.deepEqual((await s.core.fsck()).problems, [])

    assert.equal((await call(s.url, 'DELETE', `/buckets/${upload.key}`, { token })).status, 200)
    await new Promise(resolve => setTimeout(resolve, 5))
    const report = await s.core.gc()
    assert.equal(report.packsDeleted, 5, 'the file\'s pack and its four part packs')
    assert.equal((await packFiles(s.dataDir)).length, before - 4)
  })

  test('parts sent in parallel, some twice at the same time: the last kept copy of each wins and the file is Kubo\'s', async () => {
    const a = await s.account()
    const data = deterministicBytes(8 * 256 * KiB + 4321, 'parts-parallel')
    const sess = await call(s.url, 'POST', '/session', { key: a.key, body: {} })
    const token = sess.body.credentials.token as string
    const up = await call(s.url, 'POST', '/buckets', { token, body: { totalParts: 9, originalSizeInBytes: data.length } })
    const put = async (n: number, bytes: Uint8Array): Promise<number> => (await call(s.url, 'PUT', '/buckets', {
      token, body: bytes, headers: { partNumber: String(n), key: up.body.key, uploadId: up.body.uploadId, 'content-type': 'application/octet-stream' }
    })).status
    const part = (n: number): Uint8Array => data.subarray((n - 1) * 256 * KiB, Math.min(data.length, n * 256 * KiB))
    // all nine at once, and parts 3 and 5 twice at the same time (same bytes)
    const statuses = await Promise.all([...Array.from({ length: 9 }, (_, i) => put(i + 1, part(i + 1))), put(3, part(3)), put(5, part(5))])
    assert.deepEqual(statuses, Array(11).fill(200))
    const done = await call(s.url, 'POST', '/buckets/complete', { token, body: { key: up.body.key } })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.cid, await kuboCid(data))
    // one pack per part is kept (the file's), the doubles' packs are gone
    const filePack = await s.core.metadata.db.selectFrom('contents').select('pack_id').where('cid', '=', done.body.cid).executeTakeFirstOrThrow()
    assert.equal((await s.core.metadata.db.selectFrom('packs').select('id').where('part_of', '=', filePack.pack_id).execute()).length, 9)
    assert.deepEqual((await s.core.fsck()).problems, [])
  })

  test('parts that do not line up are imported from scratch: the same CID, and their packs are freed at completion', async () => {
    const a = await s.account()
    const data = deterministicBytes(2_500_000, 'parts-not-lined-up')
    const before = (await packFiles(s.dataDir)).length
    const { token, upload } = await sendParts(s.url, a.key, data, 1_000_000)
    assert.equal((await packFiles(s.dataDir)).length, before + 3)
    const done = await call(s.url, 'POST', '/buckets/complete', { token, body: { key: upload.key } })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.cid, await kuboCid(data))
    const cat = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}`, a.auth)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
    // the part packs go once the file is stored (in the background of the answer)
    await eventually('the part packs deleted', async () => (await packFiles(s.dataDir)).length === before + 1 ? true : undefined).catch(() => {})
    assert.equal((await packFiles(s.dataDir)).length, before + 1)
    assert.deepEqual((await s.core.fsck()).problems, [])
  })

  test('the same file sent twice is stored once: the second upload\'s parts are freed', async () => {
    const a = await s.account()
    const data = deterministicBytes(3 * 256 * KiB + 5, 'parts-twice')
    const first = await sendParts(s.url, a.key, data, 256 * KiB)
    const d1 = await call(s.url, 'POST', '/buckets/complete', { token: first.token, body: { key: first.upload.key } })
    const before = (await packFiles(s.dataDir)).length
    const second = await sendParts(s.url, a.key, data, 256 * KiB)
    const d2 = await call(s.url, 'POST', '/buckets/complete', { token: second.token, body: { key: second.upload.key } })
    assert.equal(d2.status, 200, JSON.stringify(d2.body))
    assert.equal(d2.body.cid, d1.body.cid)
    await eventually('the second upload\'s part packs deleted', async () => (await packFiles(s.dataDir)).length === before ? true : undefined).catch(() => {})
    assert.equal((await packFiles(s.dataDir)).length, before)
    assert.deepEqual((await s.core.fsck()).problems, [])
  })
})

describe('/buckets uploads begun before parts were packs', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })

  test('parts kept as files by an older release (migration 0010) complete from those files, which are then removed', async () => {
    const a = await s.account()
    const data = deterministicBytes(2 * 256 * KiB + 99, 'legacy-parts')
    // part 1 sent now (a pack), part 2 as the older release kept it: a file and a row without a pack
    const { token, upload } = await sendParts(s.url, a.key, data.subarray(0, 256 * KiB), 256 * KiB)
    const dir = join(s.dataDir, 'buckets', upload.uploadId)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, '2'), data.subarray(256 * KiB))
    await s.core.metadata.db.updateTable('bucket_uploads').set({ total_parts: 2, original_size: data.length }).where('id', '=', upload.uploadId).execute()
    await s.core.metadata.db.insertInto('bucket_parts').values({ upload_id: upload.uploadId, part_number: 2, size: data.length - 256 * KiB, tag: 'legacy', created_at: Date.now(), pack_id: null, leaves: null }).execute()
    const done = await call(s.url, 'POST', '/buckets/complete', { token, body: { key: upload.key } })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.cid, await kuboCid(data))
    assert.equal(existsSync(dir), false)
  })
})

describe('/buckets parts survive kill -9', () => {
  let dataDir: string
  const running: ServerProcess[] = []
  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'cairn-parts-crash-')) })
  after(async () => {
    for (const p of running) await kill9(p)
    await rm(dataDir, { recursive: true, force: true })
  })

  test('parts acknowledged before kill -9 complete after the restart into the right file', async () => {
    const created = cli(dataDir, ['account', 'create', '--zelid', '0x' + 'a7'.repeat(20), '--plan', 'PRO', '--json'])
    assert.equal(created.status, 0, created.stderr)
    const key = JSON.parse(created.stdout).api_key as string
    const first = await serveProcess(dataDir)
    running.push(first)
    const data = deterministicBytes(5 * 256 * KiB + 77, 'parts-crash')
    const { token, upload, tags } = await sendParts(first.url, key, data, 512 * KiB)
    await kill9(first)

    const second = await serveProcess(dataDir)
    running.push(second)
    const view = await call(second.url, 'GET', `/buckets/file/${upload.key}`, { token })
    assert.equal(view.status, 200, JSON.stringify(view.body))
    assert.equal(view.body.partsReceived, 3)
    assert.deepEqual(view.body.tags, tags)
    const done = await call(second.url, 'POST', '/buckets/complete', { token, body: { key: upload.key, tags } })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.cid, await kuboCid(data))
    const auth = 'Basic ' + Buffer.from(`${'0x' + 'a7'.repeat(20)}:${key}`).toString('base64')
    const cat = await post(`${second.url}/api/v0/cat?arg=${done.body.cid as string}`, auth)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
    const fsck = cli(dataDir, ['fsck', '--json'])
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr)
  })
})
