/**
 * Flux file services over real HTTP: Fluxshare, app volumes (Volume Browser, IOUtils),
 * backup and restore, share tokens, and path attacks on every file route.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { gzipSync } from 'node:zlib'
import { pack as tarPack } from 'tar-stream'
import yauzl from 'yauzl'
import { startServer, type TestServer } from './helpers/server.js'
import { json } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { btcWallet, ethWallet, login, type Login } from './helpers/wallets.js'

const adminWallet = btcWallet()

async function get (url: string, l?: Login): Promise<Response> {
  return await fetch(url, { headers: l === undefined ? {} : { zelidauth: l.header } })
}

async function getJson (url: string, l?: Login): Promise<{ status: number, body: any }> {
  const r = await get(url, l)
  return { status: r.status, body: await json(r) }
}

/** a GET sent byte for byte as written: no client-side '..' resolution */
async function rawGet (url: string, l?: Login): Promise<{ status: number, body: any }> {
  const u = new URL(url)
  const path = url.slice(url.indexOf('/', 'http://'.length))
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: l === undefined ? {} : { zelidauth: l.header } }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => { try { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }) } catch (err) { reject(err) } })
    })
    req.on('error', reject)
    req.end()
  })
}

async function upload (url: string, l: Login, files: Array<{ field: string, name: string, data: Uint8Array | string }>): Promise<{ status: number, body: any }> {
  const fd = new FormData()
  for (const f of files) fd.append(f.field, new Blob([f.data as BlobPart]), f.name)
  const r = await fetch(url, { method: 'POST', headers: { zelidauth: l.header }, body: fd })
  return { status: r.status, body: await json(r) }
}

async function postJson (url: string, l: Login, body: unknown): Promise<Response> {
  return await fetch(url, { method: 'POST', headers: { zelidauth: l.header, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

async function unzip (buf: Buffer): Promise<Map<string, Buffer | null>> {
  return await new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err != null) { reject(err); return }
      const out = new Map<string, Buffer | null>()
      zip.on('entry', (e: yauzl.Entry) => {
        if (e.fileName.endsWith('/')) { out.set(e.fileName, null); zip.readEntry(); return }
        zip.openReadStream(e, (err2, s) => {
          if (err2 != null) { reject(err2); return }
          const parts: Buffer[] = []
          s.on('data', (c: Buffer) => parts.push(c))
          s.on('end', () => { out.set(e.fileName, Buffer.concat(parts)); zip.readEntry() })
        })
      })
      zip.on('end', () => { resolve(out) })
      zip.on('error', reject)
      zip.readEntry()
    })
  })
}

/** a tar.gz made here, with whatever names and entry types a test wants */
async function tarGz (entries: Array<{ name: string, data?: string | Buffer, type?: 'file' | 'directory' | 'symlink', linkname?: string }>): Promise<Buffer> {
  const p = tarPack()
  const chunks: Buffer[] = []
  for (const e of entries) {
    const type = e.type ?? 'file'
    if (type === 'file') p.entry({ name: e.name, type }, e.data ?? '')
    else p.entry({ name: e.name, type, linkname: e.linkname })
  }
  p.finalize()
  for await (const c of p) chunks.push(c as Buffer)
  return gzipSync(Buffer.concat(chunks))
}

/** values for a path argument that must all be refused */
const ATTACKS: Array<[string, string]> = [
  ['dot-dot', '..'],
  ['dot-dot inside', 'a/../../b'],
  ['absolute', '/etc/passwd'],
  ['NUL', 'a\u0000b'],
  ['backslash', '..\\..\\windows'],
  ['double slash', 'a//b'],
  ['encoded separator (double-encoded)', '%2e%2e%2fetc'],
  ['encoded slash literal', 'a%2Fb'],
  ['over-long name', 'x'.repeat(300)],
  ['bidi override', 'invoice\u202Egpj.exe'],
  ['control character', 'a\u0007b']
]

describe('Flux file services', () => {
  let s: TestServer
  let user: Login
  let other: Login
  let admin: Login
  before(async () => {
    s = await startServer({ CAIRN_ADMIN_ZELID: adminWallet.address, CAIRN_FLUX_ALLOW_PRIVATE_URLS: 'true' })
    user = await login(s.url, btcWallet())
    other = await login(s.url, ethWallet())
    admin = await login(s.url, adminWallet)
  })
  after(async () => { await s.close() })

  test('Fluxshare: folders, uploads, listing with sizes, exists, stats', async () => {
    const base = `${s.url}/apps/fluxshare`
    assert.deepEqual((await getJson(`${base}/createfolder/docs%2Fold`, user)).body, { status: 'success', data: { message: 'Folder Created' } })
    // the original clients name the multipart field after the file
    const up = await upload(`${base}/uploadfile/docs`, user, [{ field: 'notes.txt', name: 'blob', data: 'hello notes' }, { field: 'file', name: 'b.bin', data: deterministicBytes(1000, 'b') }])
    assert.equal(up.status, 200, JSON.stringify(up.body))
    assert.deepEqual(up.body.data.map((f: { name: string }) => f.name), ['notes.txt', 'b.bin'])
    await upload(`${base}/uploadfile?folder=docs/old`, user, [{ field: 'file', name: 'old.txt', data: '12345' }])

    const top = await getJson(`${base}/getfolder`, user)
    assert.equal(top.status, 200)
    assert.deepEqual(top.body.data.map((e: { name: string, size: number, isDirectory: boolean }) => [e.name, e.size, e.isDirectory]), [['docs', 11 + 1000 + 5, true]])
    const docs = await getJson(`${base}/getfolder?folder=docs`, user)
    const byName = Object.fromEntries(docs.body.data.map((e: { name: string }) => [e.name, e]))
    assert.equal(byName['notes.txt'].size, 11)
    assert.equal(byName['notes.txt'].isFile, true)
    assert.equal(byName['notes.txt'].isSymbolicLink, false)
    assert.equal(byName.old.size, 5)

    // writing a name again replaces the file
    await upload(`${base}/uploadfile/docs`, user, [{ field: 'file', name: 'notes.txt', data: 'v2' }])
    const again = await getJson(`${base}/getfolder/docs`, user)
    assert.equal(again.body.data.filter((e: { name: string }) => e.name === 'notes.txt').length, 1)
    assert.equal(again.body.data.find((e: { name: string }) => e.name === 'notes.txt').size, 2)

    assert.deepEqual((await getJson(`${base}/fileexists/docs%2Fnotes.txt`, user)).body.data, { fileExists: true })
    assert.deepEqual((await getJson(`${base}/fileexists?file=docs/none`, user)).body.data, { fileExists: false })
    const st = (await getJson(`${base}/stats`, user)).body.data
    assert.equal(st.total, 10 * 1024 ** 3 / 1e9)
    assert.ok(st.used > 0 && st.available < st.total)

    // another wallet sees its own, empty, Fluxshare
    assert.deepEqual((await getJson(`${base}/getfolder`, other)).body.data, [])
    assert.equal((await getJson(`${base}/getfolder/docs`, other)).status, 404)
    assert.equal((await getJson(`${base}/getfolder`)).status, 401)
  })

  test('Fluxshare: unicode names are NFC-normalised, kept and served', async () => {
    const base = `${s.url}/apps/fluxshare`
    const decomposed = 'Cafe\u0301 ☕.txt'
    await upload(`${base}/uploadfile/unicode`, user, [{ field: 'file', name: decomposed, data: 'crème' }])
    const list = await getJson(`${base}/getfolder/unicode`, user)
    assert.deepEqual(list.body.data.map((e: { name: string }) => e.name), ['Café ☕.txt'])
    const r = await get(`${base}/getfile/${encodeURIComponent('unicode/Café ☕.txt')}`, user)
    assert.equal(r.status, 200)
    assert.equal(await r.text(), 'crème')
    assert.match(r.headers.get('content-disposition') ?? '', /filename\*=UTF-8''Caf%C3%A9%20%E2%98%95\.txt/)
  })

  test('Fluxshare: share tokens open one path to anyone; unshare, rename and remove end them', async () => {
    const base = `${s.url}/apps/fluxshare`
    await upload(`${base}/uploadfile/pub`, user, [{ field: 'file', name: 'a.txt', data: 'shared bytes' }, { field: 'file', name: 'b.txt', data: 'private bytes' }])
    const sh = await getJson(`${base}/sharefile/pub%2Fa.txt`, user)
    assert.equal(sh.status, 200)
    assert.equal(sh.body.data.name, encodeURIComponent('pub/a.txt'))
    const token: string = sh.body.data.token
    assert.match(token, /^[0-9a-f]{64}$/)
    assert.equal((await getJson(`${base}/sharefile?file=pub/a.txt`, user)).body.data.token, token, 'same token when shared again')
    assert.deepEqual((await getJson(`${base}/sharedfiles`, user)).body.data, [{ name: 'pub/a.txt', token }])
    const listed = (await getJson(`${base}/getfolder/pub`, user)).body.data.find((e: { name: string }) => e.name === 'a.txt')
    assert.equal(listed.shareToken, token)

    const ok = await get(`${base}/getfile/pub%2Fa.txt?token=${token}`)
    assert.equal(ok.status, 200)
    assert.equal(await ok.text(), 'shared bytes')
    assert.equal(ok.headers.get('x-content-type-options'), 'nosniff')
    // wrong token, missing token, another file with this token, a traversal with it
    assert.equal((await get(`${base}/getfile/pub%2Fa.txt?token=${'0'.repeat(64)}`)).status, 401)
    assert.equal((await get(`${base}/getfile/pub%2Fa.txt?token=nonsense`)).status, 401)
    assert.equal((await get(`${base}/getfile/pub%2Fa.txt`)).status, 401)
    assert.equal((await get(`${base}/getfile/pub%2Fb.txt?token=${token}`)).status, 401)
    assert.equal((await get(`${base}/getfile/pub%2F..%2Fpub%2Fb.txt?token=${token}`)).status, 400)
    const bad = await getJson(`${base}/getfile/pub%2Fb.txt?token=${token}`)
    assert.equal(bad.body.status, 'error')

    // a shared folder comes as a zip
    const folderToken = (await getJson(`${base}/sharefile/pub`, user)).body.data.token
    const z = await get(`${base}/getfile/pub?token=${folderToken}`)
    assert.equal(z.headers.get('content-type'), 'application/zip')
    const files = await unzip(Buffer.from(await z.arrayBuffer()))
    assert.equal(files.get('pub/a.txt')?.toString(), 'shared bytes')

    assert.deepEqual((await getJson(`${base}/unsharefile/pub%2Fa.txt`, user)).body, { status: 'success', data: { message: 'File sharing disabled' } })
    assert.equal((await get(`${base}/getfile/pub%2Fa.txt?token=${token}`)).status, 401)

    const t2 = (await getJson(`${base}/sharefile/pub%2Fa.txt`, user)).body.data.token
    assert.notEqual(t2, token)
    assert.deepEqual((await getJson(`${base}/rename/pub%2Fa.txt/c.txt`, user)).body.data, { message: 'Rename successful' })
    assert.equal((await get(`${base}/getfile/pub%2Fc.txt?token=${t2}`)).status, 401, 'rename ends the share')
    assert.equal(await (await get(`${base}/getfile/pub%2Fc.txt`, user)).text(), 'shared bytes')
    // rename never overwrites
    assert.equal((await getJson(`${base}/rename/pub%2Fc.txt/b.txt`, user)).status, 409)

    const t3 = (await getJson(`${base}/sharefile/pub%2Fc.txt`, user)).body.data.token
    assert.equal((await getJson(`${base}/removefile/pub%2Fc.txt`, user)).body.data.message, 'File Removed')
    assert.equal((await get(`${base}/getfile/pub%2Fc.txt?token=${t3}`)).status, 401)
    assert.equal((await getJson(`${base}/removefolder/pub`, user)).body.data.message, 'Folder Removed')
    assert.equal((await get(`${base}/getfile/pub?token=${folderToken}`)).status, 401)
    assert.equal((await getJson(`${base}/fileexists/pub`, user)).body.data.fileExists, false)
    assert.equal((await getJson(`${base}/removefolder/pub`, user)).status, 404)
  })

  test('Fluxshare: downloadfolder streams a zip of the folder', async () => {
    const base = `${s.url}/apps/fluxshare`
    const big = deterministicBytes(700_000, 'zip')
    await upload(`${base}/uploadfile/z%2Finner`, user, [{ field: 'file', name: 'big.bin', data: big }])
    await upload(`${base}/uploadfile/z`, user, [{ field: 'file', name: 'top.txt', data: 'top' }])
    await getJson(`${base}/createfolder/z%2Fempty`, user)
    const r = await get(`${base}/downloadfolder/z`, user)
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-disposition') ?? '', /attachment; filename="z\.zip"/)
    const files = await unzip(Buffer.from(await r.arrayBuffer()))
    assert.ok(files.get('z/inner/big.bin')?.equals(big))
    assert.equal(files.get('z/top.txt')?.toString(), 'top')
    assert.ok(files.has('z/empty/'))
  })

  test('Fluxshare: every path argument refuses traversal and odd names, and nothing changes', async () => {
    const base = `${s.url}/apps/fluxshare`
    const routes = ['getfolder', 'createfolder', 'removefile', 'removefolder', 'fileexists', 'sharefile', 'unsharefile', 'downloadfolder', 'getfile']
    for (const [what, value] of ATTACKS) {
      for (const route of routes) {
        const inPath = await rawGet(`${base}/${route}/${encodeURIComponent(value)}`, user)
        assert.equal(inPath.status, 400, `${route} ${what} (path): ${JSON.stringify(inPath.body)}`)
        assert.equal(inPath.body.status, 'error')
        const param = route === 'getfolder' || route === 'createfolder' || route === 'removefolder' || route === 'downloadfolder' ? 'folder' : 'file'
        const inQuery = await getJson(`${base}/${route}?${param}=${encodeURIComponent(value)}`, user)
        assert.equal(inQuery.status, 400, `${route} ${what} (query)`)
      }
      assert.equal((await rawGet(`${base}/rename/${encodeURIComponent(value)}/x`, user)).status, 400, `rename old ${what}`)
      const up = await upload(`${base}/uploadfile?folder=${encodeURIComponent(value)}`, user, [{ field: 'file', name: 'x.txt', data: 'x' }])
      assert.equal(up.status, 400, `upload folder ${what}`)
      if (!value.includes('/')) {
        const named = await upload(`${base}/uploadfile/safe`, user, [{ field: value, name: 'x', data: 'x' }])
        assert.equal(named.status, 400, `upload field name ${what}`)
      }
    }
    await upload(`${base}/uploadfile/victim`, user, [{ field: 'file', name: 'v.txt', data: 'v' }])
    for (const newname of ['../v2.txt', 'a/b', '..', 'x%2Fy', 'a\\b', 'n'.repeat(300)]) {
      assert.equal((await rawGet(`${base}/rename/victim%2Fv.txt/${encodeURIComponent(newname)}`, user)).status, 400, `rename to ${newname}`)
    }
    const top = (await getJson(`${base}/getfolder`, user)).body.data.map((e: { name: string }) => e.name)
    assert.ok(!top.some((n: string) => n.includes('..') || n.includes('etc') || n === 'x.txt'), JSON.stringify(top))
    assert.equal((await getJson(`${base}/fileexists/victim%2Fv.txt`, user)).body.data.fileExists, true)
    assert.equal((await getJson(`${base}/fileexists/safe%2Fx`, user)).body.data.fileExists, false)
  })

  test('volumes: an app belongs to the wallet that first writes to it; others get 404, the admin gets in', async () => {
    const created = await getJson(`${s.url}/apps/createfolder/myapp/web/data`, user)
    assert.equal(created.status, 200)
    assert.equal((await getJson(`${s.url}/apps/getfolderinfo/myapp/web`, other)).status, 404)
    assert.equal((await getJson(`${s.url}/apps/createfolder/myapp/web/mine`, other)).status, 404)
    assert.equal((await getJson(`${s.url}/apps/getfolderinfo/myapp/web`)).status, 401)
    const seen = await getJson(`${s.url}/apps/getfolderinfo/myapp/web`, admin)
    assert.equal(seen.status, 200)
    assert.deepEqual(seen.body.data.map((e: { name: string }) => e.name), ['data'])
    assert.equal((await getJson(`${s.url}/apps/getfolderinfo/nosuchapp/web`, user)).status, 404)
    assert.equal((await getJson(`${s.url}/apps/getfolderinfo/bad..name/web`, user)).status, 400)
  })

  test('volumes: IOUtils upload, browse, rename, download, remove, usage', async () => {
    const v = `${s.url}/apps`
    const bytes = deterministicBytes(300_000, 'vol')
    const up = await upload(`${s.url}/ioutils/fileupload/volume/volapp/db/conf`, user, [{ field: 'file', name: 'whatever', data: 'a=1' }])
    assert.equal(up.status, 200, JSON.stringify(up.body))
    assert.equal(up.body.data[0].name, 'whatever')
    const named = await upload(`${s.url}/ioutils/fileupload/volume/volapp/db/conf/settings.ini`, user, [{ field: 'file', name: 'x', data: 'b=2' }])
    assert.equal(named.body.data[0].name, 'settings.ini')
    await upload(`${s.url}/ioutils/fileupload?type=volume&appname=volapp&component=db&folder=data`, user, [{ field: 'file', name: 'blob.bin', data: bytes }])
    const list = await getJson(`${v}/getfolderinfo/volapp/db`, user)
    assert.deepEqual(list.body.data.map((e: { name: string, size: number }) => [e.name, e.size]).sort(), [['conf', 6], ['data', 300_000]])

    const dl = await get(`${v}/downloadfile/volapp/db/data%2Fblob.bin`, user)
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(bytes))
    const ranged = await fetch(`${v}/downloadfile/volapp/db/data%2Fblob.bin`, { headers: { zelidauth: user.header, range: 'bytes=10-19' } })
    assert.equal(ranged.status, 206)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)))

    assert.equal((await getJson(`${v}/renameobject/volapp/db/conf%2Fwhatever/main.conf`, user)).body.data.message, 'Rename successful')
    assert.equal((await getJson(`${v}/renameobject/volapp/db/conf%2Fmain.conf/data%2Fmain.conf`, user)).status, 200, 'newname may be a full path')
    assert.equal((await getJson(`${v}/renameobject/volapp/db/data/data%2Finside`, user)).status, 400, 'a folder cannot move into itself')
    const data = await getJson(`${v}/getfolderinfo/volapp/db/data`, user)
    assert.deepEqual(data.body.data.map((e: { name: string }) => e.name).sort(), ['blob.bin', 'main.conf'])

    const zip = await unzip(Buffer.from(await (await get(`${v}/downloadfolder/volapp/db/data`, user)).arrayBuffer()))
    assert.equal(zip.get('data/main.conf')?.toString(), 'a=1')

    const df = await getJson(`${s.url}/backup/getvolumedataofcomponent/volapp/db/KB/1/used,mount`, user)
    assert.deepEqual(df.body.data, { used: 300.0, mount: '/apps/volapp/db' })
    const dfAll = await getJson(`${s.url}/backup/getvolumedataofcomponent?appname=volapp&component=db`, user)
    assert.equal(dfAll.body.data.filesystem, 'cairn')
    assert.equal(dfAll.body.data.used, 300_006)

    assert.equal((await getJson(`${v}/removeobject/volapp/db/data%2Fmain.conf`, user)).body.data.message, 'File Removed')
    assert.equal((await getJson(`${v}/removeobject/volapp/db/conf`, user)).status, 200)
    assert.deepEqual((await getJson(`${v}/getfolderinfo/volapp/db`, user)).body.data.map((e: { name: string }) => e.name), ['data'])
    assert.equal((await getJson(`${v}/downloadfile/volapp/db/data%2Fmain.conf`, user)).status, 404)
  })

  test('volumes: every path argument refuses traversal and odd names', async () => {
    await getJson(`${s.url}/apps/createfolder/safeapp/c/keep`, user)
    for (const [what, value] of ATTACKS) {
      const e = encodeURIComponent(value)
      const urls = [
        `/apps/getfolderinfo/safeapp/c/${e}`, `/apps/createfolder/safeapp/c/${e}`, `/apps/removeobject/safeapp/c/${e}`,
        `/apps/downloadfile/safeapp/c/${e}`, `/apps/downloadfolder/safeapp/c/${e}`, `/apps/renameobject/safeapp/c/${e}/x`,
        `/apps/renameobject/safeapp/c/keep/${e}`, `/backup/getlocalbackuplist/${e}/B/2/true/safeapp`,
        `/backup/removebackupfile/${e}/safeapp`, `/backup/downloadlocalfile/${e}/safeapp`,
        `/apps/getfolderinfo?appname=safeapp&component=c&folder=${e}`
      ]
      for (const u of urls) {
        const r = await rawGet(`${s.url}${u}`, user)
        assert.equal(r.status, 400, `${u} (${what}): ${JSON.stringify(r.body)}`)
      }
      const up = await upload(`${s.url}/ioutils/fileupload?type=volume&appname=safeapp&component=c&folder=${e}`, user, [{ field: 'file', name: 'x', data: 'x' }])
      assert.equal(up.status, 400, `ioutils folder ${what}`)
      if (!value.includes('/')) {
        const named = await upload(`${s.url}/ioutils/fileupload?type=volume&appname=safeapp&component=c&folder=keep&filename=${e}`, user, [{ field: 'file', name: 'x', data: 'x' }])
        assert.equal(named.status, 400, `ioutils filename ${what}`)
      }
    }
    // app and component names: a fixed alphabet, so no path can hide in them
    for (const [what, value] of [...ATTACKS, ['dot', '.'], ['slash inside', 'a/b']] as Array<[string, string]>) {
      const e = encodeURIComponent(value)
      for (const u of [`/apps/getfolderinfo?appname=${e}&component=c`, `/apps/getfolderinfo?appname=safeapp&component=${e}`,
        `/backup/getvolumedataofcomponent?appname=safeapp&component=${e}`, `/backup/getlocalbackuplist?path=local&appname=${e}`]) {
        const r = await rawGet(`${s.url}${u}`, user)
        assert.equal(r.status, 400, `${u} (${what})`)
      }
      const up = await upload(`${s.url}/ioutils/fileupload?type=volume&appname=safeapp&component=${e}`, user, [{ field: 'file', name: 'x', data: 'x' }])
      assert.equal(up.status, 400, `ioutils component ${what}`)
      const task = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: value, type: 'local', restore: [{ component: 'c', restore: true }] })
      assert.equal(task.status, 400, `restore appname ${what}`)
    }
    assert.deepEqual((await getJson(`${s.url}/apps/getfolderinfo/safeapp/c`, user)).body.data.map((e: { name: string }) => e.name), ['keep'])
    assert.deepEqual((await getJson(`${s.url}/apps/getfolderinfo/safeapp/c/keep`, user)).body.data, [])
  })

  test('backup and restore: a tar.gz of the volume, its root CID, and the exact bytes back', async () => {
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha'),
      'dir/b.bin': deterministicBytes(1_500_000, 'b'),
      'dir/deeper/c.bin': deterministicBytes(5000, 'c'),
      'ünï/ç.txt': Buffer.from('unicode')
    }
    for (const [p, data] of Object.entries(files)) {
      const i = p.lastIndexOf('/')
      const folder = i < 0 ? '' : `/${encodeURIComponent(p.slice(0, i))}`
      const r = await upload(`${s.url}/ioutils/fileupload/volume/bk/main${folder}`, user, [{ field: 'file', name: p.slice(i + 1), data }])
      assert.equal(r.status, 200, JSON.stringify(r.body))
    }
    await getJson(`${s.url}/apps/createfolder/bk/main/emptydir`, user)

    const task = await postJson(`${s.url}/apps/appendbackuptask`, user, { appname: 'bk', backup: [{ component: 'main', backup: true }] })
    assert.equal(task.status, 200)
    assert.match(task.headers.get('content-type') ?? '', /^text\/plain/)
    const lines = (await task.text()).trim().split('\n')
    assert.ok(lines.at(-1) === 'Backup task finished', lines.join('\n'))
    assert.ok(!lines.some(l => l.startsWith('Error')), lines.join('\n'))

    const list = await getJson(`${s.url}/backup/getlocalbackuplist/local/B/0/true/bk`, user)
    assert.equal(list.status, 200)
    assert.equal(list.body.data.length, 1)
    const backup = list.body.data[0]
    assert.equal(backup.name, 'backup_main.tar.gz')
    assert.match(backup.cid, /^Qm/)
    assert.match(backup.volumeRootCid, /^Qm/)
    // the original's full path form names the same folder
    const full = await getJson(`${s.url}/backup/getlocalbackuplist?path=${encodeURIComponent('/home/flux/ZelApps/fluxmain_bk/backup/local')}&appname=bk`, user)
    assert.equal(full.body.data[0].cid, backup.cid)

    // the archive holds the files
    const tgz = Buffer.from(await (await get(`${s.url}/backup/downloadlocalfile/local%2Fbackup_main.tar.gz/bk`, user)).arrayBuffer())
    assert.equal(tgz.length, backup.size)
    assert.equal(tgz[0], 0x1f)

    // spoil the volume, then restore
    await getJson(`${s.url}/apps/removeobject/bk/main/dir`, user)
    await upload(`${s.url}/ioutils/fileupload/volume/bk/main`, user, [{ field: 'file', name: 'junk.txt', data: 'junk' }])
    await upload(`${s.url}/ioutils/fileupload/volume/bk/main`, user, [{ field: 'file', name: 'a.txt', data: 'changed' }])
    const restore = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'bk', type: 'local', restore: [{ component: 'main', restore: true }] })
    assert.equal(restore.status, 200)
    const rlines = (await restore.text()).trim().split('\n')
    assert.equal(rlines.at(-1), 'Restore task finished', rlines.join('\n'))
    assert.ok(rlines.includes(`Volume root CID matches the backup (${backup.volumeRootCid as string})`), rlines.join('\n'))

    for (const [p, data] of Object.entries(files)) {
      const r = await get(`${s.url}/apps/downloadfile/bk/main/${encodeURIComponent(p)}`, user)
      assert.equal(r.status, 200, p)
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(data), `${p} restored byte for byte`)
    }
    const top = (await getJson(`${s.url}/apps/getfolderinfo/bk/main`, user)).body.data.map((e: { name: string }) => e.name).sort()
    assert.deepEqual(top, ['a.txt', 'dir', 'emptydir', 'ünï'])

    // the same archive, uploaded with IOUtils under the backup name, restores another app's volume alike
    const up = await upload(`${s.url}/ioutils/fileupload/backup/bk2/main?filename=backup_main.tar.gz`, user, [{ field: 'file', name: 'x', data: tgz }])
    assert.equal(up.status, 200, JSON.stringify(up.body))
    const r2 = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'bk2', type: 'upload', restore: [{ component: 'main', restore: true }] })
    // the archive is the same content (same CID), so its recorded root CID is checked too
    assert.match(await r2.text(), /Volume root CID matches the backup \(Qm\w+\)\nRestore task finished\n$/)
    const again = await get(`${s.url}/apps/downloadfile/bk2/main/dir%2Fb.bin`, user)
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(files['dir/b.bin']))
  })

  test('restore from an upload and from a remote URL; a remote on a private address is refused by default', async () => {
    const archive = await tarGz([{ name: './', type: 'directory' }, { name: './x/y.txt', data: 'from upload' }, { name: './x', type: 'directory' }])
    const up2 = await upload(`${s.url}/ioutils/fileupload?type=backup&appname=upl&component=comp&filename=backup_comp.tar.gz`, user, [{ field: 'file', name: 'a', data: archive }])
    assert.equal(up2.status, 200, JSON.stringify(up2.body))
    const list = await getJson(`${s.url}/backup/getlocalbackuplist/upload/B/0/true/upl`, user)
    assert.ok(list.body.data.some((b: { name: string }) => b.name === 'backup_comp.tar.gz'))
    const r = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'upl', type: 'upload', restore: [{ component: 'comp', restore: true }] })
    const text = await r.text()
    assert.match(text, /Restore task finished\n$/, text)
    assert.equal(await (await get(`${s.url}/apps/downloadfile/upl/comp/x%2Fy.txt`, user)).text(), 'from upload')

    const remote = await tarGz([{ name: 'r.txt', data: 'from afar' }])
    const server: Server = createServer((req, res) => {
      if (req.url === '/redirect') { res.writeHead(302, { location: '/a.tar.gz' }); res.end(); return }
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': remote.length })
      res.end(req.method === 'HEAD' ? undefined : remote)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const size = await getJson(`${s.url}/backup/getremotefilesize?fileurl=${encodeURIComponent(`http://127.0.0.1:${port}/redirect`)}&appname=upl`, user)
      assert.equal(size.body.data, remote.length)
      const rr = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'upl', type: 'remote', restore: [{ component: 'remote', restore: true, url: `http://127.0.0.1:${port}/redirect` }] })
      const rtext = await rr.text()
      assert.match(rtext, /Restore task finished\n$/, rtext)
      assert.equal(await (await get(`${s.url}/apps/downloadfile/upl/remote/r.txt`, user)).text(), 'from afar')

      const strict = await startServer()
      try {
        const u = await login(strict.url, btcWallet())
        await getJson(`${strict.url}/apps/createfolder/app1/c/x`, u)
        const refused = await getJson(`${strict.url}/backup/getremotefilesize?fileurl=${encodeURIComponent(`http://127.0.0.1:${port}/a`)}&appname=app1`, u)
        assert.equal(refused.status, 403, JSON.stringify(refused.body))
        const viaName = await getJson(`${strict.url}/backup/getremotefilesize?fileurl=${encodeURIComponent(`http://localhost:${port}/a`)}&appname=app1`, u)
        assert.equal(viaName.status, 403)
        const task = await postJson(`${strict.url}/apps/appendrestoretask`, u, { appname: 'app1', type: 'remote', restore: [{ component: 'c', restore: true, url: `http://127.0.0.1:${port}/a` }] })
        assert.match(await task.text(), /Error: URL points to a private or local address/)
        assert.equal((await getJson(`${strict.url}/backup/getremotefilesize?fileurl=${encodeURIComponent('file:///etc/passwd')}&appname=app1`, u)).status, 400)
      } finally {
        await strict.close()
      }
    } finally {
      server.close()
    }
  })

  test('restore refuses unsafe archives as a whole and skips links; the volume is untouched', async () => {
    await upload(`${s.url}/ioutils/fileupload/volume/evil/c`, user, [{ field: 'file', name: 'keep.txt', data: 'keep' }])
    for (const bad of ['../escape.txt', '/etc/cron.d/x', 'a/../../b', 'dir\\..\\x']) {
      const archive = await tarGz([{ name: 'ok.txt', data: 'ok' }, { name: bad, data: 'pwned' }])
      await upload(`${s.url}/ioutils/fileupload?type=backup&appname=evil&component=c&filename=backup_c.tar.gz`, user, [{ field: 'file', name: 'a', data: archive }])
      const r = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'evil', type: 'upload', restore: [{ component: 'c', restore: true }] })
      const text = await r.text()
      assert.match(text, /Error: unsafe name in archive/, `${bad}: ${text}`)
      assert.deepEqual((await getJson(`${s.url}/apps/getfolderinfo/evil/c`, user)).body.data.map((e: { name: string }) => e.name), ['keep.txt'])
    }
    const linky = await tarGz([{ name: 'ok.txt', data: 'ok' }, { name: 'link', type: 'symlink', linkname: '/etc/passwd' }])
    await upload(`${s.url}/ioutils/fileupload?type=backup&appname=evil&component=c&filename=backup_c.tar.gz`, user, [{ field: 'file', name: 'a', data: linky }])
    const r = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'evil', type: 'upload', restore: [{ component: 'c', restore: true }] })
    const text = await r.text()
    assert.match(text, /Skipped link: symlink entries are not restored/, text)
    assert.deepEqual((await getJson(`${s.url}/apps/getfolderinfo/evil/c`, user)).body.data.map((e: { name: string }) => e.name), ['ok.txt'])
    const notGz = await upload(`${s.url}/ioutils/fileupload?type=backup&appname=evil&component=c&filename=backup_c.tar.gz`, user, [{ field: 'file', name: 'a', data: 'not an archive' }])
    assert.equal(notGz.status, 200)
    const r2 = await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'evil', type: 'upload', restore: [{ component: 'c', restore: true }] })
    assert.match(await r2.text(), /Error: not a readable tar.gz archive/)
    assert.deepEqual((await getJson(`${s.url}/apps/getfolderinfo/evil/c`, user)).body.data.map((e: { name: string }) => e.name), ['ok.txt'])
  })

  test('backup calls: bad tasks are refused up front; removebackupfile; others cannot see backups', async () => {
    await upload(`${s.url}/ioutils/fileupload/volume/rm/c`, user, [{ field: 'file', name: 'f.txt', data: 'f' }])
    assert.equal((await postJson(`${s.url}/apps/appendbackuptask`, user, { appname: 'rm', backup: 'yes' })).status, 400)
    assert.equal((await postJson(`${s.url}/apps/appendbackuptask`, user, { appname: 'rm', backup: [{ component: '../x', backup: true }] })).status, 400)
    assert.equal((await postJson(`${s.url}/apps/appendbackuptask`, user, { appname: 'rm', backup: [{ component: 'nosuch', backup: true }] })).status, 404)
    assert.equal((await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'rm', type: 'local', restore: [{ component: 'c', restore: true }] })).status, 404)
    assert.equal((await postJson(`${s.url}/apps/appendrestoretask`, user, { appname: 'rm', type: 'ftp', restore: [{ component: 'c', restore: true }] })).status, 400)
    assert.equal((await postJson(`${s.url}/apps/appendbackuptask`, other, { appname: 'rm', backup: [{ component: 'c', backup: true }] })).status, 404)
    const t = await postJson(`${s.url}/apps/appendbackuptask`, user, { appname: 'rm', backup: [{ component: 'c', backup: true }] })
    assert.match(await t.text(), /Backup task finished/)
    assert.equal((await getJson(`${s.url}/backup/getlocalbackuplist/local/B/0/true/rm`, other)).status, 404)
    assert.equal((await getJson(`${s.url}/backup/downloadlocalfile/local%2Fbackup_c.tar.gz/rm`, other)).status, 404)
    assert.deepEqual((await getJson(`${s.url}/backup/removebackupfile/local%2Fbackup_c.tar.gz/rm`, user)).body, { status: 'success', data: { message: true } })
    assert.deepEqual((await getJson(`${s.url}/backup/getlocalbackuplist/local/B/0/true/rm`, user)).body.data, [])
    assert.equal((await getJson(`${s.url}/backup/removebackupfile/local%2Fbackup_c.tar.gz/rm`, user)).status, 404)
  })
})

describe('Flux upload limits', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_MAX_FILE_SIZE: '100KiB', CAIRN_PLAN_STARTER_CAPACITY: '300KiB' }) })
  after(async () => { await s.close() })

  test('a file over the per-file limit is 413 and stores nothing; so is an upload past the capacity', async () => {
    const u = await login(s.url, btcWallet())
    const tooBig = await upload(`${s.url}/apps/fluxshare/uploadfile`, u, [{ field: 'file', name: 'big.bin', data: deterministicBytes(150 * 1024, 'big') }])
    assert.equal(tooBig.status, 413)
    assert.equal(tooBig.body.status, 'error')
    assert.deepEqual((await getJson(`${s.url}/apps/fluxshare/getfolder`, u)).body.data, [])
    for (let i = 0; i < 3; i++) {
      const ok = await upload(`${s.url}/ioutils/fileupload/volume/lim/c`, u, [{ field: 'file', name: `f${i}.bin`, data: deterministicBytes(90 * 1024, `f${i}`) }])
      assert.equal(ok.status, 200)
    }
    const over = await upload(`${s.url}/ioutils/fileupload/volume/lim/c`, u, [{ field: 'file', name: 'f3.bin', data: deterministicBytes(90 * 1024, 'f3') }])
    assert.equal(over.status, 413)
    assert.equal((await getJson(`${s.url}/apps/getfolderinfo/lim/c`, u)).body.data.length, 3)
  })

  test('an inactive subscription is 402 on file calls; the session calls still work', async () => {
    const u = await login(s.url, btcWallet())
    const account = await s.core.accounts.findByZelid(u.zelid)
    await s.core.accounts.update(account?.id as string, { active: false })
    const r = await getJson(`${s.url}/apps/fluxshare/getfolder`, u)
    assert.equal(r.status, 402)
    assert.equal(r.body.data.code, 402)
    assert.equal((await getJson(`${s.url}/id/loggedsessions`, u)).status, 200)
  })
})
