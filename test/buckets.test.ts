/**
 * The Upload API (sessions and /buckets) over real HTTP on loopback: sessions, multipart
 * uploads with parts in any order, the session's rules, signed downloads, and the file in the
 * account's other dialects.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { decryptName, encryptName } from '../src/client/encrypted-name.js'
import { importer } from 'ipfs-unixfs-importer'
import * as dagPb from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'

const MiB = 1024 * 1024

/** What a part's tag is, computed independently: SHA-256 over its leaves' multihashes, in order. */
async function leafTag (bytes: Uint8Array): Promise<string> {
  const blocks = new Map<string, Uint8Array>()
  const put = async (cid: CID, b: Uint8Array): Promise<CID> => { blocks.set(cid.toString(), b); return cid }
  let root: CID | undefined
  for await (const e of importer([{ content: [bytes] }], { put } as any, { cidVersion: 0, rawLeaves: false })) root = e.cid
  const node = dagPb.decode(blocks.get((root as CID).toString()) as Uint8Array)
  const leaves = node.Links.length === 0 ? [root as CID] : node.Links.map(l => l.Hash)
  const h = createHash('sha256')
  for (const l of leaves) h.update(l.multihash.bytes)
  return h.digest('hex')
}

interface Session { sessionId: string, token: string, memberId: string, body: any }

async function createSession (s: TestServer, key: string, body: Record<string, unknown> = {}): Promise<Session> {
  const res = await post(`${s.url}/session`, undefined, body, { 'x-api-key': key })
  const b = await json(res)
  assert.equal(res.status, 200, JSON.stringify(b))
  return { sessionId: b.sessionId, token: b.credentials.token, memberId: b.credentials.id, body: b }
}

function bearer (token: string): string { return `Bearer ${token}` }

async function api (s: TestServer, method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, res: Response }> {
  const h: Record<string, string> = { ...headers }
  if (token !== undefined) h.authorization = bearer(token)
  let payload: string | Uint8Array | FormData | undefined
  if (body instanceof Uint8Array || body instanceof FormData || typeof body === 'string') payload = body
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json' }
  const res = await fetch(`${s.url}${path}`, { method, headers: h, body: payload as BodyInit | undefined })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: res.status, body: parsed, res }
}

/** the files of an upload's part packs, in part order */
async function partBlobs (s: TestServer, uploadId: string): Promise<string[]> {
  const rows = await s.core.metadata.db.selectFrom('bucket_parts').innerJoin('packs', 'packs.id', 'bucket_parts.pack_id')
    .select('packs.blob_key').where('bucket_parts.upload_id', '=', uploadId).orderBy('bucket_parts.part_number').execute()
  return rows.map(r => join(s.dataDir, 'blobs', 'packs', r.blob_key.slice(0, 2), r.blob_key))
}

async function start (s: TestServer, token: string, body: Record<string, unknown>): Promise<{ uploadId: string, key: string }> {
  const r = await api(s, 'POST', '/buckets', token, body)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body.fileKey, r.body.key)
  return { uploadId: r.body.uploadId, key: r.body.key }
}

async function putPart (s: TestServer, token: string, u: { uploadId: string, key: string }, n: number, bytes: Uint8Array, extra: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  return await api(s, 'PUT', '/buckets', token, bytes, { partNumber: String(n), key: u.key, uploadId: u.uploadId, 'content-type': 'application/octet-stream', ...extra })
}

describe('Upload API: sessions and buckets', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_SESSION_SWEEP_INTERVAL_SECONDS: '0' }) })
  after(async () => { await s.close() })

  test('a session answers a token and rules; the token works as Bearer, API keys do not', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key, { identity: { name: 'alice' }, rules: { expiryDurationInSeconds: 600, userCapacity: 3, maxFiles: 5, maxTotalMegaBytes: 20 } })
    assert.match(sess.token, /^cairns_/)
    assert.equal(sess.body.credentials.role, 'Host')
    assert.equal(sess.body.credentials.pseudonym, 'alice')
    assert.ok(sess.body.expiresIn > 590 && sess.body.expiresIn <= 600)
    assert.deepEqual({ ...sess.body.rules, expiry: undefined }, { expiry: undefined, maxFiles: 5, maxUsers: 3, maxTotalMegaBytes: 20, passwordProtected: false, whiteListAddresses: [] })

    const cur = await api(s, 'GET', '/session/current', sess.token)
    assert.equal(cur.status, 200)
    assert.equal(cur.body.id, sess.sessionId)
    assert.equal(cur.body.users.length, 1)

    // the token is stored hashed: it appears nowhere in the database
    const rows = await s.core.metadata.db.selectFrom('session_members').selectAll().execute()
    assert.ok(rows.every(r => !JSON.stringify(r).includes(sess.token)))

    assert.equal((await api(s, 'GET', '/buckets', a.key)).status, 401, 'an API key is not a session token')
    assert.equal((await api(s, 'GET', '/buckets', 'cairns_nope')).status, 401)
    assert.equal((await api(s, 'GET', '/buckets', undefined)).status, 401)
    const noKey = await post(`${s.url}/session`, undefined, {})
    assert.equal(noKey.status, 401)
    const badKey = await post(`${s.url}/session`, undefined, {}, { 'x-api-key': 'cairn_wrong' })
    assert.equal(badKey.status, 401)
    assert.equal((await json(badKey)).code, 'unauthenticated')
    const tooLong = await post(`${s.url}/session`, undefined, { rules: { expiryDurationInSeconds: 10 ** 9 } }, { 'x-api-key': a.key })
    assert.equal(tooLong.status, 400)
  })

  test('an expired session\'s token is refused with a clear error', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key)
    await s.core.metadata.db.updateTable('upload_sessions').set({ expires_at: Date.now() - 1000 }).where('id', '=', sess.sessionId).execute()
    const r = await api(s, 'GET', '/buckets', sess.token)
    assert.equal(r.status, 401)
    assert.equal(r.body.error, 'Session expired')
    const join = await post(`${s.url}/session/join`, undefined, { sessionId: sess.sessionId }, { 'x-api-key': a.key })
    assert.equal(join.status, 404)
  })

  test('parts in any order, a re-sent part replaces the first, complete assembles them: same CID as /api/v0/put, visible in FluxDrive', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key)
    const data = deterministicBytes(3 * MiB + 123, 'buckets-order')
    const parts = [data.subarray(0, MiB), data.subarray(MiB, 2 * MiB), data.subarray(2 * MiB)]
    const name = encryptName('report.bin', sess.sessionId)
    const u = await start(s, sess.token, { totalParts: 3, encryptedName: name, originalSizeInBytes: data.length })

    const t3 = await putPart(s, sess.token, u, 3, parts[2])
    assert.equal(t3.status, 200)
    assert.deepEqual(t3.body.partNumber, 3)
    // part 1 first with wrong bytes, then again with the right ones
    const wrong = await putPart(s, sess.token, u, 1, deterministicBytes(MiB, 'wrong'))
    const [wrongPack] = await partBlobs(s, u.uploadId)
    assert.ok(existsSync(wrongPack), 'a part is a pack in the blob store')
    const t2 = await putPart(s, sess.token, u, 2, parts[1])
    const t1 = await putPart(s, sess.token, u, 1, parts[0])
    assert.equal(t1.status, 200)
    assert.notEqual(t1.body.tag, wrong.body.tag, 're-sent part has its own tag')
    assert.equal(existsSync(wrongPack), false, 'the replaced part\'s pack is deleted')
    // a tag is the SHA-256 of the multihashes of the part's leaves, which `ipfs add` of the
    // part alone links from its root (computed here with the IPFS project's own importer)
    assert.deepEqual([t1.body.tag, t2.body.tag, t3.body.tag], await Promise.all(parts.map(leafTag)))
    assert.equal(t3.body.size, parts[2].length)

    const during = await api(s, 'GET', `/buckets/file/${u.key}`, sess.token)
    assert.equal(during.body.completed, false)
    assert.equal(during.body.status, 'uploading')
    assert.equal(during.body.size, data.length)
    assert.equal(during.body.partsReceived, 3)

    const done = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key, tags: [t1.body.tag, t2.body.tag, t3.body.tag] })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal(done.body.completed, true)
    assert.equal(done.body.size, data.length)
    assert.equal(done.body.encryptedName, name, 'encryptedName comes back unchanged')
    assert.equal(done.body.fileName, name)
    assert.equal(decryptName(done.body.fileName, sess.sessionId), 'report.bin')

    const b = await s.account()
    const put = await json(await post(`${s.url}/api/v0/put`, b.auth, form([{ name: 'x.bin', data }])))
    assert.equal(done.body.cid, put.files[0].hash, 'the same bytes give the same CID as a one-shot put')
    assert.match(done.body.cid, /^Qm/)

    // the file is the account's, in every dialect: FluxDrive lists it and serves its bytes
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.ok(ls.files.some((f: any) => f.hash === done.body.cid && f.size === data.length), JSON.stringify(ls))
    const cat = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}`, a.auth)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
    // the bucket is the folder upload-sessions/<sessionId> of the account's files
    const inFolder = await json(await post(`${s.url}/api/v0/ls?currentFolder=upload-sessions/${sess.sessionId}`, a.auth))
    assert.deepEqual(inFolder.files.map((f: any) => f.hash), [done.body.cid])

    // the parts' packs now hold the file's leaves: owned by the file's pack, nothing copied
    const db = s.core.metadata.db
    const filePack = await db.selectFrom('contents').select('pack_id').where('cid', '=', done.body.cid).executeTakeFirstOrThrow()
    const owned = await db.selectFrom('packs').select('blob_key').where('part_of', '=', filePack.pack_id).execute()
    assert.equal(owned.length, 3)

    const list = await api(s, 'GET', '/buckets', sess.token)
    assert.equal(list.status, 200)
    assert.equal(list.body.length, 1)
    assert.equal(list.body[0].fileKey, u.key)
    assert.equal(list.body[0].completed, true)
    assert.equal(list.body[0].totalParts, 3)
    assert.equal(list.body[0].originalSizeInBytes, data.length)
    assert.equal(list.body[0].creatorId, sess.memberId)

    // completing again answers the same file
    const again = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key })
    assert.equal(again.status, 200)
    assert.equal(again.body.cid, done.body.cid)
    const late = await putPart(s, sess.token, u, 1, parts[0])
    assert.equal(late.status, 409)
  })

  test('complete with a missing part is a 400 naming it; wrong uploadId or key is 404; bad part numbers 400', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key)
    const u = await start(s, sess.token, { totalParts: 4 })
    await putPart(s, sess.token, u, 1, Buffer.from('a'))
    await putPart(s, sess.token, u, 3, Buffer.from('c'))
    const r = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key })
    assert.equal(r.status, 400)
    assert.match(r.body.error, /parts 2, 4 are missing/)
    assert.deepEqual(r.body.missingParts, [2, 4])
    // still open: send the missing parts and complete
    await putPart(s, sess.token, u, 2, Buffer.from('b'))
    const one = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key })
    assert.match(one.body.error, /part 4 is missing/)
    await putPart(s, sess.token, u, 4, Buffer.from('d'))
    const bad = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key, tags: ['x', 'y', 'z', 'w'] })
    assert.equal(bad.status, 400)
    assert.match(bad.body.error, /tag of part 1/)

    const wrongUpload = await putPart(s, sess.token, { ...u, uploadId: '00000000-0000-4000-8000-000000000000' }, 1, Buffer.from('a'))
    assert.equal(wrongUpload.status, 404)
    const wrongKey = await putPart(s, sess.token, { ...u, key: 'nope' }, 1, Buffer.from('a'))
    assert.equal(wrongKey.status, 404)
    assert.equal((await putPart(s, sess.token, u, 5, Buffer.from('e'))).status, 400, 'beyond totalParts')
    assert.equal((await putPart(s, sess.token, u, 0, Buffer.from('e'))).status, 400)
    const noNumber = await api(s, 'PUT', '/buckets', sess.token, Buffer.from('x'), { key: u.key, uploadId: u.uploadId })
    assert.equal(noNumber.status, 400)
    assert.match(noNumber.body.error, /partNumber/)
    const noUpload = await api(s, 'PUT', '/buckets', sess.token, Buffer.from('x'), { key: u.key, partNumber: '1' })
    assert.equal(noUpload.status, 400)
    const done = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key, uploadId: u.uploadId })
    assert.equal(done.status, 200)
    const bytes = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}`, a.auth)
    assert.equal(await bytes.text(), 'abcd')
    assert.equal((await api(s, 'POST', '/buckets/complete', sess.token, { key: 'unknown' })).status, 404)
  })

  test('the session size rule holds on the running total as parts arrive; max files holds at start', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key, { rules: { maxTotalMegaBytes: 2, maxFiles: 2 } })
    const u = await start(s, sess.token, { totalParts: 3 })
    assert.equal((await putPart(s, sess.token, u, 1, deterministicBytes(MiB, 'r1'))).status, 200)
    // re-sending part 1 does not count twice
    assert.equal((await putPart(s, sess.token, u, 1, deterministicBytes(MiB, 'r1'))).status, 200)
    assert.equal((await putPart(s, sess.token, u, 2, deterministicBytes(MiB - 10, 'r2'))).status, 200)
    const over = await putPart(s, sess.token, u, 3, deterministicBytes(64 * 1024, 'r3'))
    assert.equal(over.status, 413)
    assert.equal(over.body.rule, 'maxTotalMegaBytes')
    // the refused part was not kept
    const f = await api(s, 'GET', `/buckets/file/${u.key}`, sess.token)
    assert.equal(f.body.partsReceived, 2)
    assert.equal(f.body.size, 2 * MiB - 10)
    // a declared size beyond the rule is refused at start
    const big = await api(s, 'POST', '/buckets', sess.token, { totalParts: 1, originalSizeInBytes: 3 * MiB })
    assert.equal(big.status, 413)

    await start(s, sess.token, { totalParts: 1 })
    const third = await api(s, 'POST', '/buckets', sess.token, { totalParts: 1 })
    assert.equal(third.status, 413)
    assert.equal(third.body.rule, 'maxFiles')
    assert.match(third.body.error, /at most 2 files/)
  })

  test('several clients join one session and share its bucket; passwords and capacity are enforced', async () => {
    const host = await s.account()
    const guest = await s.account()
    const sess = await createSession(s, host.key, { rules: { password: 'open sesame', userCapacity: 2 } })
    assert.equal(sess.body.rules.passwordProtected, true)
    const wrong = await post(`${s.url}/session/join`, undefined, { sessionId: sess.sessionId, password: 'nope' }, { 'x-api-key': guest.key })
    assert.equal(wrong.status, 401)
    const unknown = await post(`${s.url}/session/join`, undefined, { sessionId: '00000000-0000-4000-8000-000000000000' }, { 'x-api-key': guest.key })
    assert.equal(unknown.status, 404)
    const noKey = await post(`${s.url}/session/join`, undefined, { sessionId: sess.sessionId, password: 'open sesame' })
    assert.equal(noKey.status, 401)
    const joined = await post(`${s.url}/session/join`, undefined, { sessionId: sess.sessionId, password: 'open sesame', identity: { name: 'bob' } }, { 'x-api-key': guest.key })
    assert.equal(joined.status, 200)
    const j = await json(joined)
    assert.equal(j.credentials.role, 'Client')
    assert.equal(j.users.length, 2)
    const full = await post(`${s.url}/session/join`, undefined, { sessionId: sess.sessionId, password: 'open sesame' }, { 'x-api-key': guest.key })
    assert.equal(full.status, 409)

    // the guest uploads; the host sees the file in the shared bucket, and it is the host account's
    const u = await start(s, j.credentials.token, { totalParts: 1, encryptedName: 'from-bob' })
    await putPart(s, j.credentials.token, u, 1, Buffer.from('shared bytes'))
    const done = await api(s, 'POST', '/buckets/complete', j.credentials.token, { key: u.key })
    assert.equal(done.status, 200)
    const hostList = await api(s, 'GET', '/buckets', sess.token)
    assert.deepEqual(hostList.body.map((f: any) => f.fileKey), [u.key])
    assert.equal(hostList.body[0].creatorId, j.credentials.id)
    const ls = await json(await post(`${s.url}/api/v0/ls`, host.auth))
    assert.ok(ls.files.some((f: any) => f.hash === done.body.cid))

    // only the host may end the session; leaving ends only one's own token
    assert.equal((await api(s, 'DELETE', '/session/current', j.credentials.token)).status, 403)
    assert.equal((await api(s, 'POST', '/session/disconnect', j.credentials.token)).status, 200)
    assert.equal((await api(s, 'GET', '/buckets', j.credentials.token)).status, 401)
    assert.equal((await api(s, 'GET', '/buckets', sess.token)).status, 200)
    assert.equal((await api(s, 'DELETE', '/session/current', sess.token)).status, 200)
    assert.equal((await api(s, 'GET', '/buckets', sess.token)).status, 401)
    // the files stay the account's
    const after = await json(await post(`${s.url}/api/v0/ls`, host.auth))
    assert.ok(after.files.some((f: any) => f.hash === done.body.cid))
  })

  test('another account\'s or another session\'s file is 404', async () => {
    const a = await s.account()
    const b = await s.account()
    const sa = await createSession(s, a.key)
    const sa2 = await createSession(s, a.key)
    const sb = await createSession(s, b.key)
    const u = await start(s, sa.token, { totalParts: 1 })
    await putPart(s, sa.token, u, 1, Buffer.from('mine'))
    await api(s, 'POST', '/buckets/complete', sa.token, { key: u.key })
    for (const other of [sb, sa2]) {
      assert.equal((await api(s, 'GET', `/buckets/file/${u.key}`, other.token)).status, 404)
      assert.equal((await api(s, 'GET', `/buckets/download/${u.key}`, other.token)).status, 404)
      assert.equal((await api(s, 'DELETE', `/buckets/${u.key}`, other.token)).status, 404)
      assert.equal((await putPart(s, other.token, u, 1, Buffer.from('x'))).status, 404)
      assert.equal((await api(s, 'POST', '/buckets/complete', other.token, { key: u.key })).status, 404)
      assert.deepEqual((await api(s, 'GET', '/buckets', other.token)).body, [])
    }
    assert.equal((await api(s, 'GET', `/buckets/file/${u.key}`, sa.token)).status, 200)
  })

  test('download answers a signed, expiring URL that works without credentials; delete removes the file', async () => {
    const a = await s.account()
    const sess = await createSession(s, a.key)
    const u = await start(s, sess.token, { totalParts: 1, encryptedName: 'n' })
    const notYet = await api(s, 'GET', `/buckets/download/${u.key}`, sess.token)
    assert.equal(notYet.status, 409)
    await putPart(s, sess.token, u, 1, Buffer.from('download me'))
    const done = await api(s, 'POST', '/buckets/complete', sess.token, { key: u.key })

    const d = await api(s, 'GET', `/buckets/download/${u.key}`, sess.token)
    assert.equal(d.status, 200)
    assert.ok(Date.parse(d.body.expiresAt) > Date.now())
    const got = await fetch(d.body.url)
    assert.equal(got.status, 200)
    assert.equal(await got.text(), 'download me')
    assert.equal(got.headers.get('etag'), `"${done.body.cid as string}"`)

    const tampered = new URL(d.body.url)
    tampered.searchParams.set('expires', String(Number(tampered.searchParams.get('expires')) + 1000))
    assert.equal((await fetch(tampered)).status, 403)
    const { query } = await s.core.urlSigner.sign(`/buckets/signed/${u.key}`, 60, Date.now() - 3600_000)
    const expired = await fetch(`${s.url}/buckets/signed/${u.key}?${query}`)
    assert.equal(expired.status, 403)
    assert.match((await json(expired)).error, /expired/)

    const del = await api(s, 'DELETE', `/buckets/${u.key}`, sess.token)
    assert.equal(del.status, 200)
    assert.equal((await api(s, 'GET', `/buckets/file/${u.key}`, sess.token)).status, 404)
    assert.equal((await fetch(d.body.url)).status, 404, 'a signed URL of a deleted file serves nothing')
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.ok(!ls.files.some((f: any) => f.hash === done.body.cid))
    assert.equal((await api(s, 'DELETE', `/buckets/${u.key}`, sess.token)).status, 404)
  })

  test('abandoned uploads are swept once their session expires; live sessions keep theirs', async () => {
    const a = await s.account()
    const dead = await createSession(s, a.key)
    const live = await createSession(s, a.key)
    const ud = await start(s, dead.token, { totalParts: 2 })
    const ul = await start(s, live.token, { totalParts: 2 })
    await putPart(s, dead.token, ud, 1, Buffer.from('gone'))
    await putPart(s, live.token, ul, 1, Buffer.from('kept'))
    const finished = await start(s, dead.token, { totalParts: 1 })
    await putPart(s, dead.token, finished, 1, Buffer.from('finished file'))
    const done = await api(s, 'POST', '/buckets/complete', dead.token, { key: finished.key })
    const deadParts = await partBlobs(s, ud.uploadId)
    const liveParts = await partBlobs(s, ul.uploadId)
    assert.equal(deadParts.length, 1)
    assert.ok(existsSync(deadParts[0]))
    await s.core.metadata.db.updateTable('upload_sessions').set({ expires_at: Date.now() - 1 }).where('id', '=', dead.sessionId).execute()
    const r = await s.core.buckets.sweep()
    assert.ok(r.uploadsRemoved >= 1)
    assert.equal(existsSync(deadParts[0]), false, 'an abandoned upload\'s part packs are deleted')
    assert.equal((await s.core.metadata.db.selectFrom('packs').select('id').where('blob_key', '=', basename(deadParts[0])).execute()).length, 0)
    assert.ok(existsSync(liveParts[0]), 'a live session keeps its parts')
    const rows = await s.core.metadata.db.selectFrom('bucket_uploads').select('id').where('id', '=', ud.uploadId).execute()
    assert.equal(rows.length, 0)
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.ok(ls.files.some((f: any) => f.hash === done.body.cid), 'finished files stay')
  })

  test('the routes also live under /v1, and a part may come as multipart/form-data', async () => {
    const a = await s.account()
    const res = await post(`${s.url}/v1/session`, undefined, {}, { 'x-api-key': a.key })
    const token = (await json(res)).credentials.token
    const u = (await api(s, 'POST', '/v1/buckets', token, { totalParts: 2 })).body
    const fd = form([{ name: 'part', data: 'first ' }])
    const p1 = await api(s, 'PUT', '/v1/buckets', token, fd, { partNumber: '1', key: u.key, uploadId: u.uploadId })
    assert.equal(p1.status, 200, JSON.stringify(p1.body))
    assert.equal(p1.body.size, 6)
    // a raw part with a JSON or form content type is still just bytes
    const p2 = await api(s, 'PUT', '/v1/buckets', token, 'second', { partNumber: '2', key: u.key, uploadId: u.uploadId, 'content-type': 'application/x-www-form-urlencoded' })
    assert.equal(p2.body.size, 6)
    const done = await api(s, 'POST', '/v1/buckets/complete', token, { key: u.key })
    const cat = await post(`${s.url}/api/v0/cat?arg=${done.body.cid as string}`, a.auth)
    assert.equal(await cat.text(), 'first second')
    const d = await api(s, 'GET', `/v1/buckets/download/${u.key as string}`, token)
    assert.match(d.body.url, /\/v1\/buckets\/signed\//)
    assert.equal(await (await fetch(d.body.url)).text(), 'first second')
  })
})

describe('encryptedName helper', () => {
  test('round trip, and a fixed vector in the CryptoJS/OpenSSL format', () => {
    const sid = '4fc51b8b-d75f-4703-bd87-95821eab51dd'
    for (const name of ['a', 'report 2026.pdf', 'ünïcødé/名前.txt', 'x'.repeat(300)]) {
      const enc = encryptName(name, sid)
      assert.match(enc, /^U2FsdGVkX1/, 'base64 of "Salted__"')
      assert.equal(decryptName(enc, sid), name)
      assert.notEqual(encryptName(name, sid), enc, 'a random salt each time')
    }
    // fixed salt: "Salted__" | salt | the ciphertext OpenSSL 3 prints for
    // `printf hello.txt | openssl enc -aes-256-cbc -md md5 -a -S 0102030405060708 -pass pass:<sid>` (SxilgkxjzDRtlxSWHz29rQ==)
    const fixed = encryptName('hello.txt', sid, Buffer.from('0102030405060708', 'hex'))
    assert.equal(fixed, 'U2FsdGVkX18BAgMEBQYHCEsYpYJMY8w0bZcUlh89va0=')
    assert.ok(Buffer.from(fixed, 'base64').subarray(16).equals(Buffer.from('SxilgkxjzDRtlxSWHz29rQ==', 'base64')))
    assert.equal(decryptName(fixed, sid), 'hello.txt')
    assert.throws(() => decryptName(fixed, 'another-session'), /cannot decrypt|wrong session/)
    assert.throws(() => decryptName('bm90IGl0', sid), /not an encryptedName/)
  })
})
