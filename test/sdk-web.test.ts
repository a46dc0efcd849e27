/**
 * The server pieces the web app uses, through @cairn/sdk against a real server: password
 * login and logout (session keys), the account's own keys, folders, content info with a
 * view URL, share links on the files origin, thumbnails in listings, usage over time.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startServer, type TestServer } from './helpers/server.js'
import { json } from './helpers/http.js'
import { call, freshEmail, PASSWORD, register } from './helpers/gateway.js'
import { pngBytes, startWebServer } from './helpers/web.js'
import { CairnClient, AuthError, NotFoundError, CairnApiError } from '../packages/sdk/src/index.js'

describe('web app server pieces through the SDK', () => {
  let s: TestServer
  let email: string
  let anon: CairnClient
  before(async () => {
    s = await startWebServer()
    email = freshEmail()
    anon = new CairnClient({ baseUrl: s.url })
    await anon.keys.register(email, PASSWORD)
  })
  after(async () => { await s.close() })

  test('login answers a session key that expires; logout revokes it; a wrong password is 401 like an unknown email', async () => {
    const login = await anon.keys.login(email.toUpperCase(), PASSWORD, { expiresIn: 3600 })
    assert.match(login.apiKey, /^ak_/)
    assert.equal(login.email, email)
    const left = Date.parse(login.expiresAt) - Date.now()
    assert.ok(left > 3500_000 && left <= 3600_000, `expires in an hour, got ${left} ms`)
    const c = new CairnClient({ baseUrl: s.url, apiKey: login.apiKey })
    assert.equal((await c.keys.status()).email, email)
    const keys = await c.keys.list()
    const mine = keys.find(k => k.id === login.keyId)
    assert.equal(mine?.name, 'web session')
    assert.equal(mine?.current, true)
    await c.keys.logout()
    await assert.rejects(c.keys.status(), (e: unknown) => e instanceof AuthError && e.status === 403)

    for (const [who, pw] of [[email, 'wrongPassword9'], [freshEmail(), PASSWORD]]) {
      await assert.rejects(anon.keys.login(who, pw), (e: unknown) => e instanceof AuthError && e.status === 401 && /Invalid email or password/.test(e.message))
    }
    await assert.rejects(anon.keys.login(email, PASSWORD, { expiresIn: 10 }), (e: unknown) => e instanceof CairnApiError && e.status === 400)
  })

  test('logins past the key cap replace the oldest session key instead of failing', async () => {
    const e2 = freshEmail()
    await anon.keys.register(e2, PASSWORD)
    const first = await anon.keys.login(e2, PASSWORD)
    for (let i = 0; i < 9; i++) await anon.keys.login(e2, PASSWORD)
    const last = await anon.keys.login(e2, PASSWORD)
    const c = new CairnClient({ baseUrl: s.url, apiKey: last.apiKey })
    const keys = await c.keys.list()
    assert.equal(keys.length, 10)
    assert.ok(!keys.some(k => k.id === first.keyId), 'the oldest session key went')
    assert.ok(keys.some(k => k.name === 'gateway'), 'the registration key stays')
  })

  test('keys: create with name and expiry (secret once), list, revoke; only the "*" scope', async () => {
    const { apiKey } = await anon.keys.login(email, PASSWORD)
    const c = new CairnClient({ baseUrl: s.url, apiKey })
    const k = await c.keys.create({ name: 'ci', expiresIn: 86400 })
    assert.match(k.key, /^ak_/)
    assert.deepEqual(k.scopes, ['*'])
    assert.ok(k.expiresAt !== null && k.expiresAt > Date.now())
    const other = new CairnClient({ baseUrl: s.url, apiKey: k.key })
    assert.equal((await other.keys.status()).email, email)
    const listed = await c.keys.list()
    assert.ok(listed.some(x => x.id === k.id && x.name === 'ci' && x.current === false))
    assert.ok(!JSON.stringify(listed).includes(k.key), 'no secret in the listing')
    await c.keys.revoke(k.id)
    await assert.rejects(other.keys.status(), AuthError)
    await assert.rejects(c.keys.revoke(k.id), NotFoundError)
    await assert.rejects(c.keys.create({ name: 'ro', scopes: ['read'] }), (e: unknown) => e instanceof CairnApiError && e.status === 400 && /scopes/.test(e.message))
  })

  test('folders, thumbnails, content info, share links (public and expiring, revoked) and usage', async () => {
    const { apiKey } = await anon.keys.login(email, PASSWORD)
    const c = new CairnClient({ baseUrl: s.url, apiKey })
    const png = await pngBytes()
    const img = await c.files.upload(new Blob([new Uint8Array(png)], { type: 'image/png' }), { name: 'photo.png', folder: 'album/2026' })
    await c.files.upload(new Blob(['hello\n'], { type: 'text/plain' }), { name: 'note.txt' })

    const top = await c.files.folder('')
    assert.deepEqual(top.folders.map(f => f.name), ['album'])
    assert.deepEqual(top.files.map(f => f.original_filename), ['note.txt'])
    const inner = await c.files.folder('album/2026')
    assert.equal(inner.files[0].cid, img.cid)
    const thumb = inner.files[0].thumbnail_url
    assert.ok(thumb !== undefined && thumb.startsWith(s.filesUrl + '/ipfs/'), `a thumbnail on the files origin: ${String(thumb)}`)
    const t = await fetch(thumb)
    assert.equal(t.status, 200)
    assert.ok((await t.arrayBuffer()).byteLength > 100)
    assert.ok((await c.files.list()).files.find(f => f.cid === img.cid)?.thumbnail_url !== undefined, 'listings carry it too')
    await assert.rejects(c.files.folder('nope'), NotFoundError)

    const info = await c.files.content(img.cid)
    assert.equal(info.kind, 'file')
    assert.equal(info.content_type, 'image/png')
    assert.equal(info.size, png.byteLength)
    assert.ok(info.dag_size !== null && info.dag_size >= png.byteLength)
    assert.equal(Buffer.compare(Buffer.from(await (await fetch(info.url)).arrayBuffer()), png), 0)
    await assert.rejects(c.files.content('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), NotFoundError)

    const pub = await c.files.share(img.cid)
    assert.equal(pub.expires_at, null)
    assert.ok(pub.url.startsWith(s.filesUrl + '/share/'))
    const exp = await c.files.share(img.cid, { expiresIn: 600 })
    assert.ok(exp.expires_at !== null)
    const opened = await fetch(exp.url)
    assert.equal(opened.status, 200)
    assert.equal(opened.headers.get('content-type'), 'image/png')
    assert.equal(opened.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(Buffer.compare(Buffer.from(await opened.arrayBuffer()), png), 0)
    const listed = await c.files.shares({ cid: img.cid })
    assert.deepEqual(listed.map(l => l.id).sort(), [pub.id, exp.id].sort())
    assert.ok(listed.every(l => l.url === undefined), 'URLs are shown once')
    await c.files.revokeShare(exp.id)
    assert.equal((await fetch(exp.url)).status, 404)
    assert.equal((await fetch(pub.url)).status, 200)
    assert.equal((await fetch(`${s.filesUrl}/share/${'x'.repeat(43)}`)).status, 404)

    const usage = await c.keys.usage()
    assert.equal(usage.share_links, 1)
    assert.equal(usage.share_links_max, 1000)
    assert.ok(usage.used_bytes >= png.byteLength)
    assert.equal(usage.history.length, 90)
    assert.equal(usage.history[usage.history.length - 1].bytes, usage.used_bytes)

    // deleting the file ends its links
    await c.files.delete(img.cid)
    assert.equal((await fetch(pub.url)).status, 404)
  })

  test('rename and move files and folders: names kept as given, conflicts 409, bad names 400, another account 404', async () => {
    const e = freshEmail()
    await anon.keys.register(e, PASSWORD)
    const c = new CairnClient({ baseUrl: s.url, apiKey: (await anon.keys.login(e, PASSWORD)).apiKey })
    await c.files.upload(new Blob(['a\n']), { name: 'a.txt', folder: 'docs/old' })
    await c.files.upload(new Blob(['b\n']), { name: 'b.txt', folder: 'docs' })
    await c.files.upload(new Blob(['top\n']), { name: 'top.txt' })
    const a = (await c.files.folder('docs/old')).files[0]
    assert.ok(a.id !== undefined, 'listings carry the entry id')
    const cid = a.cid

    // rename in place: Unicode kept (NFC), the CID and the share links unchanged
    const link = await c.files.share(cid)
    const renamed = await c.files.rename(a.id, 'Ünïcode — notes 📝.txt')
    assert.equal(renamed.kind, 'file')
    assert.equal(renamed.name, 'Ünïcode — notes 📝.txt')
    assert.equal(renamed.folder, 'docs/old')
    assert.equal((await c.files.folder('docs/old')).files[0].original_filename, 'Ünïcode — notes 📝.txt')
    assert.equal((await c.files.info(cid)).cid, cid)
    assert.equal((await fetch(link.url)).status, 200)

    // move to another folder, by path; then to the top level
    const moved = await c.files.move(a.id, 'docs')
    assert.equal(moved.folder, 'docs')
    assert.deepEqual((await c.files.folder('docs/old')).files, [])
    assert.deepEqual((await c.files.folder('docs')).files.map(f => f.original_filename).sort(), ['b.txt', 'Ünïcode — notes 📝.txt'].sort())
    await c.files.move(a.id, '')
    assert.ok((await c.files.folder('')).files.some(f => f.id === a.id))

    // a name already in the target folder is 409, whether by rename or by move; nothing replaced
    await assert.rejects(c.files.rename(a.id, 'top.txt'), (err: unknown) => err instanceof CairnApiError && err.status === 409 && /already there/.test(err.message))
    const b = (await c.files.folder('docs')).files.find(f => f.original_filename === 'b.txt')
    await c.files.rename(a.id, 'b.txt')
    await assert.rejects(c.files.move(a.id, 'docs'), (err: unknown) => err instanceof CairnApiError && err.status === 409)
    assert.equal((await c.files.folder('docs')).files.length, 1)
    assert.equal((await c.files.info(b?.cid ?? '')).original_filename, 'b.txt')

    // names are checked like uploads: refused, never tidied
    for (const bad of ['', '   ', 'a/b', 'a\\b', '..', 'bell\u0007', 'x'.repeat(256)]) {
      await assert.rejects(c.files.rename(a.id, bad), (err: unknown) => err instanceof CairnApiError && err.status === 400, JSON.stringify(bad))
    }
    await assert.rejects(c.files.move(a.id, 'no/such/folder'), NotFoundError)
    await assert.rejects(c.files.update(a.id, {}), (err: unknown) => err instanceof CairnApiError && err.status === 400)

    // folders: rename, move by id, never into themselves, names unique per folder
    const folders = await c.files.folders()
    assert.deepEqual(folders.map(f => f.path), ['docs', 'docs/old'])
    const old = folders[1]
    const docs = folders[0]
    const f1 = await c.files.rename(old.id, 'archive')
    assert.equal(f1.kind, 'folder')
    assert.equal(f1.kind === 'folder' ? f1.path : '', 'docs/archive')
    await c.files.move(old.id, '')
    assert.deepEqual((await c.files.folders()).map(f => f.path), ['archive', 'docs'])
    await assert.rejects(c.files.move(docs.id, 'docs'), (err: unknown) => err instanceof CairnApiError && err.status === 400 && /into itself/.test(err.message))
    await c.files.move(old.id, docs.id)
    await assert.rejects(c.files.move(docs.id, old.id), (err: unknown) => err instanceof CairnApiError && err.status === 400)
    await c.files.upload(new Blob(['c\n']), { name: 'c.txt', folder: 'archive' })
    await assert.rejects(c.files.move((await c.files.folders()).find(f => f.path === 'archive')?.id ?? '', 'docs'), (err: unknown) => err instanceof CairnApiError && err.status === 409)

    // another account's file or folder is 404, and so is moving into another account's folder
    const e2 = freshEmail()
    await anon.keys.register(e2, PASSWORD)
    const them = new CairnClient({ baseUrl: s.url, apiKey: (await anon.keys.login(e2, PASSWORD)).apiKey })
    await them.files.upload(new Blob(['theirs\n']), { name: 'theirs.txt', folder: 'mine' })
    const theirs = (await them.files.folder('mine')).files[0]
    await assert.rejects(c.files.rename(theirs.id ?? '', 'stolen.txt'), NotFoundError)
    await assert.rejects(c.files.rename(randomUUID(), 'x'), NotFoundError)
    await assert.rejects(c.files.move(a.id, (await them.files.folders())[0].id), NotFoundError)
    await assert.rejects(them.files.rename(a.id, 'x.txt'), NotFoundError)
    await assert.rejects(c.files.rename('not-an-id', 'x.txt'), NotFoundError)
    assert.equal((await them.files.folder('mine')).files[0].original_filename, 'theirs.txt')
    // usage unchanged by all this
    assert.equal((await c.keys.usage()).file_count, 4)
  })

  test('a tus upload (the web app\'s path for big files) lands in the chosen folder; a bad folder is refused before any byte', async () => {
    const c = new CairnClient({ baseUrl: s.url, apiKey: (await anon.keys.login(email, PASSWORD)).apiKey, resumableThreshold: 1024, chunkSize: 4096 })
    const bytes = new Uint8Array(10_000).map((_, i) => i % 251)
    let chunks = 0
    const f = await c.files.upload(new Blob([bytes], { type: 'application/octet-stream' }), { name: 'big.bin', folder: 'uploads/2026 — big', onProgress: () => { chunks++ } })
    assert.ok(chunks >= 3, 'it went over tus, in chunks')
    const listed = await c.files.folder('uploads/2026 — big')
    assert.deepEqual(listed.files.map(x => [x.original_filename, x.cid]), [['big.bin', f.cid]])
    assert.ok(!(await c.files.folder('')).files.some(x => x.cid === f.cid), 'not at the top level')
    // the same CID as a plain upload of the bytes
    const plain = await c.files.upload(new Blob([bytes]), { name: 'plain.bin', resumable: false })
    assert.equal(plain.cid, f.cid)

    const b64 = (v: string): string => Buffer.from(v).toString('base64')
    for (const bad of ['a/../b', 'x\u0001y']) {
      const r = await fetch(s.url + '/files/tus', {
        method: 'POST',
        headers: { 'tus-resumable': '1.0.0', 'x-api-key': (await anon.keys.login(email, PASSWORD)).apiKey, 'upload-length': '5', 'upload-metadata': `filename ${b64('x.txt')},folder ${b64(bad)}` }
      })
      assert.equal(r.status, 400, bad)
      assert.match(await r.text(), /path/)
    }
  })

  test('another account cannot see, share or revoke these', async () => {
    const mine = new CairnClient({ baseUrl: s.url, apiKey: (await anon.keys.login(email, PASSWORD)).apiKey })
    const f = await mine.files.upload(new Blob(['private\n']), { name: 'p.txt' })
    const link = await mine.files.share(f.cid)
    const e2 = freshEmail()
    await anon.keys.register(e2, PASSWORD)
    const them = new CairnClient({ baseUrl: s.url, apiKey: (await anon.keys.login(e2, PASSWORD)).apiKey })
    await assert.rejects(them.files.share(f.cid), NotFoundError)
    await assert.rejects(them.files.content(f.cid), NotFoundError)
    await assert.rejects(them.files.revokeShare(link.id), NotFoundError)
    assert.deepEqual(await them.files.shares(), [])
    const myKeys = await mine.keys.list()
    await assert.rejects(them.keys.revoke(myKeys[0].id), NotFoundError)
  })
})

describe('session keys from a password login have their own hourly call budget', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_GATEWAY_CALLS_PER_HOUR: '3', CAIRN_GATEWAY_SESSION_CALLS_PER_HOUR: '6' }) })
  after(async () => { await s.close() })

  test('an ordinary key stops at CAIRN_GATEWAY_CALLS_PER_HOUR, a session key at CAIRN_GATEWAY_SESSION_CALLS_PER_HOUR', async () => {
    const e = freshEmail()
    const registered = await register(s.url, e)
    const session = (await json(await call(s.url, 'POST', '/users/login', { json: { email: e, password: PASSWORD } }))).data.api_key as string
    const made = await json(await call(s.url, 'POST', '/users/keys', { key: session, json: { name: 'script' } }))
    const script = made.data.api_key as string
    // calls until the first 429 (each key counts alone)
    const allowed = async (key: string): Promise<number> => {
      for (let n = 0; n < 20; n++) {
        const r = await call(s.url, 'GET', '/folders', { key })
        if (r.status === 429) {
          assert.ok(Number(r.headers.get('retry-after')) >= 1)
          return n
        }
        assert.equal(r.status, 200)
      }
      return Infinity
    }
    assert.equal(await allowed(registered.key), 3, 'the registration key: the ordinary budget')
    assert.equal(await allowed(session), 6 - 1, 'the session key: its own, larger budget (one call went on making a key)')
    assert.equal(await allowed(script), 3, 'a key made with a session key is an ordinary key')
  })
})

describe('password login is rate-limited per email', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '3' }) })
  after(async () => { await s.close() })

  test('wrong passwords for one email run out, with Retry-After', async () => {
    const anon = new CairnClient({ baseUrl: s.url, retries: 0 })
    const email = freshEmail()
    await anon.keys.register(email, PASSWORD)
    // each attempt is counted for the email; the per-IP budget of /users/login is its own (also 3)
    for (let i = 0; i < 2; i++) await assert.rejects(anon.keys.login(email, 'wrongPassword9'), AuthError)
    await anon.keys.login(email, PASSWORD)
    await assert.rejects(anon.keys.login(email, PASSWORD), (e: unknown) => e instanceof CairnApiError && e.status === 429)
  })
})

describe('serving the web app', () => {
  test('without a build the server still answers, with a 503 that says how to build it and a log line', async () => {
    const { default: Fastify } = await import('fastify')
    const { webAppRoutes } = await import('../src/http/web-app.js')
    const lines: string[] = []
    const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => { lines.push(l) } } } })
    await app.register(async scope => { await webAppRoutes(scope, { filesOrigin: 'http://127.0.0.1:1', dir: '/nonexistent/web' }) })
    const r = await app.inject({ method: 'GET', url: '/' })
    assert.equal(r.statusCode, 503)
    assert.match(r.body, /npm run build/)
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/)
    assert.ok(lines.some(l => /web app not built/.test(l)), lines.join(''))
    assert.equal((await app.inject({ method: 'GET', url: '/assets/x.js' })).statusCode, 404)
    await app.close()
  })
})
