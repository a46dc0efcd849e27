/**
 * The FluxDrive API (/api/v0) over real HTTP on loopback, as the seed's curl lines and its
 * newer clients call it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes, createHash } from 'node:crypto'
import sharp from 'sharp'
import { extract } from 'tar-stream'
import { Readable } from 'node:stream'
import { packFiles, startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const HELLO_V0 = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const EMPTY_V0 = 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'

/** CIDv1 raw sha2-256 of bytes, computed by hand (base32 of the CID bytes), not by multiformats */
function rawCidV1 (data: Uint8Array): string {
  const bytes = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), createHash('sha256').update(data).digest()])
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = 0; let value = 0; let out = 'b'
  for (const byte of bytes) {
    value = (value << 8) | byte; bits += 8
    while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

describe('FluxDrive API', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })

  test('put answers Kubo\'s CIDv0 and cat/ls/status see the file', async () => {
    const a = await s.account()
    const res = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'hello.txt', data: 'hello world\n', type: 'text/plain' }]))
    assert.equal(res.status, 200)
    const body = await json(res)
    assert.equal(body.status, 'success')
    assert.deepEqual(body.files, [{ name: 'hello.txt', hash: HELLO_V0, mimetype: 'text/plain', size: 12, thumbnail: null }])

    const cat = await post(`${s.url}/api/v0/cat?arg=${HELLO_V0}`, a.auth)
    assert.equal(cat.status, 200)
    assert.equal(await cat.text(), 'hello world\n')

    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.equal(ls.status, 'success')
    assert.equal(ls.files.length, 1)
    assert.equal(ls.files[0].hash, HELLO_V0)
    assert.equal(ls.files[0].name, 'hello.txt')
    assert.equal(ls.files[0].size, 12)
    assert.equal(ls.files[0].mimetype, 'text/plain')
    assert.ok(Math.abs(ls.files[0].timestamp - Date.now()) < 60_000, 'timestamp is in milliseconds')

    const st = await json(await post(`${s.url}/api/v0/status`, a.auth))
    assert.equal(st.status, 'success')
    assert.equal(st.result.active, true)
    assert.equal(st.result.capacity_gb, 10)
    assert.equal(st.result.storage_used, 12)
    assert.equal(st.result.remaining, 10 * 1024 ** 3 - 12)
  })

  test('hash may be given in a JSON or form body instead of ?arg=', async () => {
    const a = await s.account()
    await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'h.txt', data: 'hello world\n' }]))
    const viaJson = await post(`${s.url}/api/v0/cat`, a.auth, { hash: HELLO_V0 })
    assert.equal(await viaJson.text(), 'hello world\n')
    const viaForm = await post(`${s.url}/api/v0/cat`, a.auth, `hash=${HELLO_V0}`, { 'content-type': 'application/x-www-form-urlencoded' })
    assert.equal(await viaForm.text(), 'hello world\n')
  })

  test('many files in one put, an empty file, unicode names, and CIDv1 on request', async () => {
    const a = await s.account()
    const name = 'résumé – 日本語 🌍.txt'
    const res = await json(await post(`${s.url}/api/v0/put`, a.auth, form([
      { name: 'empty.bin', data: new Uint8Array(0) },
      { name, data: 'hello world\n' }
    ])))
    assert.equal(res.files.length, 2)
    assert.equal(res.files[0].hash, EMPTY_V0)
    assert.equal(res.files[0].size, 0)
    assert.equal(res.files[1].name, name)
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.deepEqual(ls.files.map((f: any) => f.name).sort(), ['empty.bin', name].sort())

    const get = await post(`${s.url}/api/v0/get?arg=${HELLO_V0}`, a.auth)
    assert.equal(get.status, 200)
    assert.match(get.headers.get('content-disposition') ?? '', /^attachment;/)
    assert.ok((get.headers.get('content-disposition') ?? '').includes(`filename*=UTF-8''${encodeURIComponent(name)}`))
    assert.equal(await get.text(), 'hello world\n')

    const v1 = await json(await post(`${s.url}/api/v0/put?cid-version=1`, a.auth, form([{ name: 'x.txt', data: 'hello world\n' }])))
    assert.equal(v1.files[0].hash, rawCidV1(Buffer.from('hello world\n')))
    const v1field = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'y.txt', data: 'hello world\n' }], { profile: 'unixfs-v1-2025' })))
    assert.equal(v1field.files[0].hash, v1.files[0].hash)
  })

  test('credentials: missing, wrong, someone else\'s ZelID, revoked, inactive subscription', async () => {
    const a = await s.account()
    const b = await s.account()
    const basic = (u: string, p: string): string => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64')
    for (const auth of [undefined, 'Bearer x', basic(a.zelid, 'cairn_wrong'), basic(b.zelid, a.key), 'Basic !!!']) {
      const res = await post(`${s.url}/api/v0/status`, auth)
      assert.equal(res.status, 401, String(auth))
      assert.deepEqual(await json(res), { error: 'Invalid credentials' })
    }
    const keys = await s.core.accounts.listKeys(a.id)
    assert.equal((await post(`${s.url}/api/v0/status`, a.auth)).status, 200, 'the key works (and is now cached)')
    await s.core.accounts.revokeKey(keys[0].id)
    assert.equal((await post(`${s.url}/api/v0/status`, a.auth)).status, 401, 'revoked: refused at once, cached or not')

    const c = await s.account({ active: false })
    const res = await post(`${s.url}/api/v0/ls`, c.auth)
    assert.equal(res.status, 402)
    assert.deepEqual(await json(res), { error: 'Subscription not active' })
    await s.core.accounts.update(c.id, { active: true })
    assert.equal((await post(`${s.url}/api/v0/ls`, c.auth)).status, 200)
  })

  test('accounts never see, read or remove each other\'s files; shared bytes are stored once and counted to both', async () => {
    const a = await s.account()
    const b = await s.account()
    const data = randomBytes(300_000)
    const packsBefore = (await packFiles(s.dataDir)).length
    const ra = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'a.bin', data }])))
    const hash = ra.files[0].hash
    for (const verb of ['cat', 'get', 'thumb', 'rm']) {
      const res = await post(`${s.url}/api/v0/${verb}?arg=${hash}`, b.auth)
      assert.equal(res.status, 404, verb)
      assert.deepEqual(await json(res), { error: 'File not found' })
    }
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, b.auth))).files.length, 0)
    assert.equal((await post(`${s.url}/api/v0/cat?arg=${hash}`, a.auth)).status, 200)

    const rb = await json(await post(`${s.url}/api/v0/put`, b.auth, form([{ name: 'b.bin', data }])))
    assert.equal(rb.files[0].hash, hash)
    assert.equal((await packFiles(s.dataDir)).length, packsBefore + 1, 'one pack for the same bytes')
    for (const acct of [a, b]) {
      const st = await json(await post(`${s.url}/api/v0/status`, acct.auth))
      assert.equal(st.result.storage_used, 300_000)
    }
    // b removes its copy: a still reads it, even after a collection
    assert.equal((await post(`${s.url}/api/v0/rm?arg=${hash}`, b.auth)).status, 200)
    await s.core.gc()
    const cat = await post(`${s.url}/api/v0/cat?arg=${hash}`, a.auth)
    assert.equal(cat.status, 200)
    assert.deepEqual(Buffer.from(await cat.arrayBuffer()), data)
  })

  test('rm removes the file; the collector frees its pack after the grace period', async () => {
    const s2 = await startServer({ CAIRN_GC_GRACE_SECONDS: '0' })
    try {
      const a = await s2.account()
      const up = await json(await post(`${s2.url}/api/v0/put`, a.auth, form([{ name: 'r.bin', data: randomBytes(1000) }])))
      const hash = up.files[0].hash
      assert.equal((await packFiles(s2.dataDir)).length, 1)
      const rm = await post(`${s2.url}/api/v0/rm`, a.auth, { hash })
      assert.equal(rm.status, 200)
      const body = await json(rm)
      assert.equal(body.success, 'File removed')
      assert.equal(body.hash, hash)
      assert.equal((await post(`${s2.url}/api/v0/cat?arg=${hash}`, a.auth)).status, 404)
      assert.equal((await post(`${s2.url}/api/v0/rm?arg=${hash}`, a.auth)).status, 404)
      await new Promise(resolve => setTimeout(resolve, 5))
      const report = await s2.core.gc()
      assert.equal(report.packsDeleted, 1)
      assert.equal((await packFiles(s2.dataDir)).length, 0)
      assert.equal((await json(await post(`${s2.url}/api/v0/status`, a.auth))).result.storage_used, 0)
    } finally {
      await s2.close()
    }
  })

  test('putfolder builds one UnixFS folder; cat reads paths inside it; get returns a tar', async () => {
    const a = await s.account()
    const res = await post(`${s.url}/api/v0/putfolder`, a.auth, form([
      { name: 'image.txt', data: 'picture' },
      { name: 'meta/metadata.json', data: '{"a":1}', type: 'application/json' }
    ], { name: 'drop' }))
    assert.equal(res.status, 200)
    const body = await json(res)
    assert.equal(body.status, 'success')
    assert.match(body.folder.hash, /^Qm/)
    assert.equal(typeof body.folder.size, 'string')
    assert.ok(Number(body.folder.size) > 14)
    assert.deepEqual(body.files.map((f: any) => f.name).sort(), ['image.txt', 'meta/metadata.json'])

    const inner = await post(`${s.url}/api/v0/cat?arg=${body.folder.hash}/meta/metadata.json`, a.auth)
    assert.equal(inner.status, 200)
    assert.equal(await inner.text(), '{"a":1}')
    // a file inside the folder is readable by its own CID too
    const member = body.files.find((f: any) => f.name === 'image.txt')
    assert.equal(await (await post(`${s.url}/api/v0/cat?arg=${member.hash}`, a.auth)).text(), 'picture')
    assert.equal((await post(`${s.url}/api/v0/cat?arg=${body.folder.hash}/nope.txt`, a.auth)).status, 404)
    assert.equal((await post(`${s.url}/api/v0/cat?arg=${body.folder.hash}`, a.auth)).status, 400)

    const tar = await post(`${s.url}/api/v0/get?arg=${body.folder.hash}`, a.auth)
    assert.equal(tar.status, 200)
    assert.equal(tar.headers.get('content-type'), 'application/x-tar')
    const entries: Record<string, string> = {}
    const ex = extract()
    const done = new Promise<void>((resolve, reject) => {
      ex.on('entry', (h, stream, next) => {
        const parts: Buffer[] = []
        stream.on('data', (c: unknown) => { parts.push(c as Buffer) })
        stream.on('end', () => { entries[h.name] = h.type === 'directory' ? '<dir>' : Buffer.concat(parts).toString(); next() })
      })
      ex.on('finish', resolve)
      ex.on('error', reject)
    })
    Readable.from(Buffer.from(await tar.arrayBuffer())).pipe(ex)
    await done
    assert.deepEqual(entries, { drop: '<dir>', 'drop/image.txt': 'picture', 'drop/meta': '<dir>', 'drop/meta/metadata.json': '{"a":1}' })

    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.equal(ls.files.length, 1)
    assert.equal(ls.files[0].hash, body.folder.hash)
    assert.equal(ls.files[0].type, 'directory')
  })

  test('putfolder refuses path tricks and duplicate names, and stores nothing', async () => {
    const a = await s.account()
    for (const name of ['../escape.txt', 'a/../../b.txt']) {
      const res = await post(`${s.url}/api/v0/putfolder`, a.auth, form([{ name, data: 'x' }]))
      assert.equal(res.status, 400, name)
      assert.ok((await json(res)).error)
    }
    const dup = await post(`${s.url}/api/v0/putfolder`, a.auth, form([{ name: 'a.txt', data: 'x' }, { name: 'a.txt', data: 'y' }]))
    assert.equal(dup.status, 400)
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
  })

  test('thumb: a JPEG for an image, 404 for anything else', async () => {
    const a = await s.account()
    const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3366cc' } }).png().toBuffer()
    const up = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'pic.png', data: png, type: 'image/png' }, { name: 'notes.txt', data: 'text' }])))
    assert.match(up.files[0].thumbnail, /^Qm/)
    assert.equal(up.files[1].thumbnail, null)
    const th = await post(`${s.url}/api/v0/thumb?arg=${up.files[0].hash}`, a.auth)
    assert.equal(th.status, 200)
    assert.equal(th.headers.get('content-type'), 'image/jpeg')
    const meta = await sharp(Buffer.from(await th.arrayBuffer())).metadata()
    assert.equal(meta.format, 'jpeg')
    assert.ok((meta.width ?? 0) <= 256 && (meta.height ?? 0) <= 256)
    assert.equal(meta.width, 256)
    const none = await post(`${s.url}/api/v0/thumb?arg=${up.files[1].hash}`, a.auth)
    assert.equal(none.status, 404)
    assert.deepEqual(await json(none), { error: 'No thumbnail' })
    // the type is sniffed from the bytes when the client sends none
    const sniffed = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'noext', data: png }])))
    assert.equal(sniffed.files[0].mimetype, 'image/png')
  })

  test('cat: byte ranges, and active content served inert', async () => {
    const a = await s.account()
    const html = '<html><script>alert(1)</script></html>'
    const up = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'x.html', data: html, type: 'text/html' }])))
    const res = await post(`${s.url}/api/v0/cat?arg=${up.files[0].hash}`, a.auth)
    assert.equal(res.headers.get('content-type'), 'application/octet-stream')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/)
    assert.equal(await res.text(), html)
    const part = await post(`${s.url}/api/v0/cat?arg=${up.files[0].hash}`, a.auth, undefined, { range: 'bytes=6-13' })
    assert.equal(part.status, 206)
    assert.equal(part.headers.get('content-range'), `bytes 6-13/${html.length}`)
    assert.equal(await part.text(), '<script>')
    const bad = await post(`${s.url}/api/v0/cat?arg=${up.files[0].hash}`, a.auth, undefined, { range: 'bytes=9999-' })
    assert.equal(bad.status, 416)
  })

  test('malformed input is a 4xx with an error, never a 500', async () => {
    const a = await s.account()
    const cases: Array<[string, FormData | string | Record<string, unknown> | undefined, Record<string, string>?]> = [
      ['/api/v0/cat', undefined],
      ['/api/v0/cat?arg=not-a-cid', undefined],
      ['/api/v0/rm?arg=', undefined],
      ['/api/v0/get?arg=Qm', undefined],
      ['/api/v0/put', undefined],
      ['/api/v0/put', 'just text', { 'content-type': 'text/plain' }],
      ['/api/v0/put', { hash: 1 }],
      ['/api/v0/put', form([], { path: 'x' })],
      ['/api/v0/putfolder', form([])],
      ['/api/v0/put', form([{ name: 'a', data: 'a' }], { path: 'a/../b' })],
      ['/api/v0/put?cid-version=7', form([{ name: 'a', data: 'a' }])],
      ['/api/v0/cat', '{"hash":', { 'content-type': 'application/json' }],
      ['/api/v0/ls?page=0', undefined],
      ['/api/v0/ls?currentFolder=nope', undefined],
      ['/api/v0/nope', undefined]
    ]
    for (const [path, body, headers] of cases) {
      const res = await post(`${s.url}${path}`, a.auth, body, headers)
      assert.ok(res.status >= 400 && res.status < 500, `${path} -> ${res.status}`)
      assert.equal(typeof (await json(res)).error, 'string', path)
    }
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
  })

  test('a multipart body cut off mid-file stores nothing', async () => {
    const a = await s.account()
    const packs = (await packFiles(s.dataDir)).length
    const boundary = 'XyZ'
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
    const res = await fetch(`${s.url}/api/v0/put`, {
      method: 'POST',
      headers: { authorization: a.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: head + 'x'.repeat(100_000) // no closing boundary
    })
    assert.equal(res.status, 400)
    assert.match((await json(res)).error, /multipart/i)
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
    assert.equal((await packFiles(s.dataDir)).length, packs)
    assert.deepEqual(await readdir(join(s.dataDir, 'blobs', 'incoming')), [])
  })

  test('a client that disconnects mid-upload leaves nothing behind', async () => {
    const a = await s.account()
    const packs = (await packFiles(s.dataDir)).length
    const { request } = await import('node:http')
    const url = new URL(`${s.url}/api/v0/put`)
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: a.auth, 'content-type': 'multipart/form-data; boundary=B' } })
    req.on('error', () => {})
    req.write('--B\r\nContent-Disposition: form-data; name="file"; filename="gone.bin"\r\n\r\n')
    const incoming = join(s.dataDir, 'blobs', 'incoming')
    for (let i = 0; i < 100 && (await readdir(incoming)).length === 0; i++) {
      req.write(randomBytes(256 * 1024))
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    assert.equal((await readdir(incoming)).length, 1, 'the upload was being written')
    req.destroy()
    let left = 1
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise(resolve => setTimeout(resolve, 20))
      left = (await readdir(incoming)).length
    }
    assert.equal(left, 0, 'the half-written pack is removed')
    assert.equal((await packFiles(s.dataDir)).length, packs)
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
  })

  test('names: 255 characters are fine, longer ones are refused', async () => {
    const a = await s.account()
    const ok = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'é'.repeat(255), data: 'x' }]))
    assert.equal(ok.status, 200)
    assert.equal((await json(ok)).files[0].name, 'é'.repeat(255))
    const long = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'a'.repeat(256), data: 'x' }]))
    assert.equal(long.status, 400)
    assert.match((await json(long)).error, /longer than 255/)
  })

  test('concurrent puts from one account all land, and usage adds up', async () => {
    const a = await s.account()
    const files = Array.from({ length: 20 }, (_, i) => randomBytes(10_000 + i))
    const results = await Promise.all(files.map(async (data, i) => await post(`${s.url}/api/v0/put`, a.auth, form([{ name: `f${i}.bin`, data }]))))
    assert.deepEqual(results.map(r => r.status), files.map(() => 200))
    const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.equal(ls.total_files, 20)
    const st = await json(await post(`${s.url}/api/v0/status`, a.auth))
    assert.equal(st.result.storage_used, files.reduce((n, f) => n + f.length, 0))
  })

  test('ls lists every file newest first, pages, and lists one folder on request', async () => {
    const a = await s.account()
    for (let i = 0; i < 5; i++) await post(`${s.url}/api/v0/put`, a.auth, form([{ name: `n${i}.txt`, data: `n${i}` }]))
    await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'deep.txt', data: 'deep' }], { path: '/photos//2024/' }))
    // no folder named: all files, wherever they are (the original "list all files")
    const all = await json(await post(`${s.url}/api/v0/ls`, a.auth))
    assert.deepEqual(all.files.map((f: any) => f.name), ['deep.txt', 'n4.txt', 'n3.txt', 'n2.txt', 'n1.txt', 'n0.txt'])
    const p1 = await json(await post(`${s.url}/api/v0/ls`, a.auth, { page: 1, size: 2 }))
    assert.deepEqual(p1.files.map((f: any) => f.name), ['deep.txt', 'n4.txt'])
    assert.equal(p1.total_files, 6)
    assert.equal(p1.files_per_page, 2)
    const p3 = await json(await post(`${s.url}/api/v0/ls`, a.auth, { page: 3, size: 2 }))
    assert.deepEqual(p3.files.map((f: any) => f.name), ['n1.txt', 'n0.txt'])
    // one folder: its own entries, folders too when asked
    const top = await json(await post(`${s.url}/api/v0/ls`, a.auth, { currentFolder: '/', includeFolders: true }))
    assert.equal(top.total_files, 6)
    const folder = top.files.find((f: any) => f.type === 'folder')
    assert.equal(folder.name, 'photos')
    assert.ok(!top.files.some((f: any) => f.name === 'deep.txt'))
    const inPath = await json(await post(`${s.url}/api/v0/ls`, a.auth, { currentFolder: 'photos/2024' }))
    assert.deepEqual(inPath.files.map((f: any) => f.name), ['deep.txt'])
    const sub = await json(await post(`${s.url}/api/v0/ls`, a.auth, { currentFolder: folder.uuid, includeFolders: true }))
    assert.deepEqual(sub.files.map((f: any) => [f.name, f.type]), [['2024', 'folder']])
  })

  test('a field that steers storage must come before the files', async () => {
    const a = await s.account()
    const fd = new FormData()
    fd.append('file', new Blob(['late']), 'late.txt')
    fd.append('path', 'late/folder')
    const res = await post(`${s.url}/api/v0/put`, a.auth, fd)
    assert.equal(res.status, 400)
    assert.match((await json(res)).error, /"path" must come before the files/)
    assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
  })

  test('content lost from disk is a 503 that leaks nothing, and fsck names it', async () => {
    const a = await s.account()
    const up = await json(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'lost.bin', data: randomBytes(5000) }])))
    const row = await s.core.metadata.db.selectFrom('packs').select('blob_key').where('root_cid', '=', up.files[0].hash).executeTakeFirstOrThrow()
    await s.core.blobs.delete(row.blob_key)
    const res = await post(`${s.url}/api/v0/cat?arg=${up.files[0].hash}`, a.auth)
    assert.equal(res.status, 503)
    const body = await json(res)
    assert.ok(!String(body.error).includes(row.blob_key))
    const report = await s.core.fsck()
    assert.ok(report.problems.some(p => p.pack === row.blob_key && p.problem === 'pack_missing'))
    // leave the shared server's store consistent for the other tests
    await post(`${s.url}/api/v0/rm?arg=${up.files[0].hash}`, a.auth)
    await s.core.metadata.db.deleteFrom('content_members').where('root_cid', '=', up.files[0].hash).execute()
    await s.core.metadata.db.deleteFrom('contents').where('cid', '=', up.files[0].hash).execute()
    await s.core.metadata.db.deleteFrom('blocks').where('pack_id', 'in', s.core.metadata.db.selectFrom('packs').select('id').where('blob_key', '=', row.blob_key)).execute()
    await s.core.metadata.db.deleteFrom('packs').where('blob_key', '=', row.blob_key).execute()
  })

  test('operators see it: metrics and the OpenAPI document', async () => {
    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    assert.match(metrics, /cairn_http_requests_total\{dialect="fluxdrive",route="\/api\/v0\/put",method="POST",status="200"\} \d+/)
    assert.match(metrics, /cairn_bytes_in_total \d+/)
    assert.match(metrics, /cairn_stored_bytes \d+/)
    const doc = await json(await fetch(`${s.url}/api/v0/openapi.json`))
    assert.equal(doc.openapi.slice(0, 2), '3.')
    for (const verb of ['status', 'ls', 'put', 'putfolder', 'cat', 'get', 'rm', 'thumb']) {
      assert.ok(doc.paths[`/api/v0/${verb}`]?.post, verb)
    }
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200)
  })
})

describe('FluxDrive limits', () => {
  test('413 for a file over the per-file limit, checked while streaming; nothing left behind', async () => {
    const s = await startServer({ CAIRN_MAX_FILE_SIZE: '1MiB' })
    try {
      const a = await s.account()
      const res = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'big.bin', data: randomBytes(3 * 1024 * 1024) }]))
      assert.equal(res.status, 413)
      assert.deepEqual(await json(res), { error: 'File size exceeds 1Mb' })
      assert.deepEqual(await packFiles(s.dataDir), [])
      assert.deepEqual(await readdir(join(s.dataDir, 'blobs', 'incoming')), [])
      assert.equal((await json(await post(`${s.url}/api/v0/ls`, a.auth))).files.length, 0)
      // a file right at the limit is fine
      assert.equal((await post(`${s.url}/api/v0/put`, a.auth, form([{ name: 'ok.bin', data: randomBytes(1024 * 1024) }]))).status, 200)
    } finally { await s.close() }
  })

  test('the default per-file limit is FluxDrive\'s 5120Mb', async () => {
    const s = await startServer()
    try {
      assert.equal(s.config.plans.STARTER.maxFileBytes, 5120 * 1024 * 1024)
    } finally { await s.close() }
  })

  test('413 Storage capacity exceeded once the plan is full', async () => {
    const s = await startServer()
    try {
      const a = await s.account({ capacity: 250_000 })
      assert.equal((await post(`${s.url}/api/v0/put`, a.auth, form([{ name: '1', data: randomBytes(100_000) }]))).status, 200)
      assert.equal((await post(`${s.url}/api/v0/put`, a.auth, form([{ name: '2', data: randomBytes(100_000) }]))).status, 200)
      const full = await post(`${s.url}/api/v0/put`, a.auth, form([{ name: '3', data: randomBytes(100_000) }]))
      assert.equal(full.status, 413)
      assert.deepEqual(await json(full), { error: 'Storage capacity exceeded' })
      const st = await json(await post(`${s.url}/api/v0/status`, a.auth))
      assert.equal(st.result.storage_used, 200_000)
      assert.equal(st.result.remaining, 50_000)
      // concurrent uploads cannot jointly overshoot the quota
      const b = await s.account({ capacity: 250_000 })
      const all = await Promise.all([1, 2, 3, 4].map(async i => await post(`${s.url}/api/v0/put`, b.auth, form([{ name: `c${i}`, data: randomBytes(100_000) }]))))
      assert.equal(all.filter(r => r.status === 200).length, 2)
      assert.equal((await json(await post(`${s.url}/api/v0/status`, b.auth))).result.storage_used, 200_000)
    } finally { await s.close() }
  })

  test('429 Too many requests with Retry-After beyond the rate limit', async () => {
    const s = await startServer({ CAIRN_PUT_PER_SECOND: '3', CAIRN_READ_PER_SECOND: '5' })
    try {
      const a = await s.account()
      const puts = []
      for (let i = 0; i < 8; i++) puts.push(await post(`${s.url}/api/v0/put`, a.auth, form([{ name: `${i}`, data: `${i}` }])))
      const limited = puts.filter(r => r.status === 429)
      assert.ok(limited.length >= 4, `expected most puts limited, got ${limited.length}`)
      assert.ok(Number(limited[0].headers.get('retry-after')) >= 1)
      assert.deepEqual(await json(limited[0]), { error: 'Too many requests' })
      const reads = await Promise.all(Array.from({ length: 12 }, async () => await post(`${s.url}/api/v0/ls`, a.auth)))
      assert.ok(reads.some(r => r.status === 429))
      assert.ok(reads.some(r => r.status === 200))
      // another account is not affected
      const b = await s.account()
      assert.equal((await post(`${s.url}/api/v0/ls`, b.auth)).status, 200)
    } finally { await s.close() }
  })
})
