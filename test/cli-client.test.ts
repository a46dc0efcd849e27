/**
 * The client commands of `cairn` (login, put, get, ls, rm, pin, share, keys, status, ...)
 * run as the real compiled CLI in child processes against a real server on loopback, each
 * suite with its own config dir (CAIRN_CONFIG_DIR).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deterministicBytes } from './helpers/data.js'
import { expectedFolderCid } from './helpers/folder-cid.js'
import { codeIn, eventually, freshEmail, outbox, PASSWORD } from './helpers/gateway.js'
import type { TestServer } from './helpers/server.js'
import { startWebServer } from './helpers/web.js'
import { btcWallet } from './helpers/wallets.js'
import { tenant } from './helpers/fluidcloud.js'
import { CairnClient } from '../packages/sdk/src/index.js'

const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js')
/** bin/cairn, as users run it: the client commands start without the server's code */
const BIN = join(process.cwd(), 'bin', 'cairn')

interface Result { status: number | null, stdout: string, stderr: string }

/** the CLI as a child process (async: the server runs in this process) */
function cairn (cfg: string, args: string[], o: { input?: string, env?: Record<string, string> } = {}): Promise<Result> & { child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CAIRN_CONFIG_DIR: cfg, CAIRN_URL: '', CAIRN_API_KEY: '', CAIRN_PROFILE: '', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.end(o.input ?? '')
  const p = new Promise<Result>((resolve) => { child.on('close', status => { resolve({ status, stdout, stderr }) }) })
  return Object.assign(p, { child })
}

/** run with --json, expect exit 0 and one JSON document on stdout */
async function ok (cfg: string, args: string[], o: { input?: string, env?: Record<string, string> } = {}): Promise<any> {
  const r = await cairn(cfg, [...args, '--json'], o)
  assert.equal(r.status, 0, `cairn ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** expect a failure: the exit code, and with --json one JSON error on stderr */
async function fails (cfg: string, args: string[], code: number, o: { input?: string, env?: Record<string, string> } = {}): Promise<{ error: { code: string, message: string, exit_code: number } }> {
  const r = await cairn(cfg, [...args, '--json'], o)
  assert.equal(r.status, code, `cairn ${args.join(' ')}: ${r.stdout} ${r.stderr}`)
  assert.equal(r.stdout, '')
  const e = JSON.parse(r.stderr.trim().split('\n').at(-1) as string)
  assert.equal(e.error.exit_code, code)
  assert.equal(typeof e.error.message, 'string')
  return e
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('cairn client commands against a real server', () => {
  let s: TestServer
  let tmp: string
  let cfg: string
  let email: string
  before(async () => {
    // share links name the files origin (CAIRN_FILES_ORIGIN): make it where the files server listens
    s = await startWebServer({
      CAIRN_GATEWAY_RETRIEVALS_PER_HOUR: '0',
      CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '2',
      CAIRN_GC_GRACE_SECONDS: '3600'
    })
    tmp = await mkdtemp(join(tmpdir(), 'cairn-cli-client-'))
    cfg = join(tmp, 'config')
    email = freshEmail()
  })
  after(async () => { await s.close(); await rm(tmp, { recursive: true, force: true }) })

  test('register saves a 0600 profile in a 0700 dir and never prints the key', async () => {
    const r = await cairn(cfg, ['register', '--url', s.url, '--email', email, '--password-stdin', '--files-url', s.filesUrl], { input: PASSWORD + '\n' })
    // --files-url is a login option only
    assert.equal(r.status, 2, r.stderr)
    const out = await ok(cfg, ['register', '--url', s.url, '--email', email, '--password-stdin'], { input: PASSWORD + '\n' })
    assert.equal(out.email, email)
    assert.equal(out.profile, 'default')
    assert.match(out.key, /^ak_.{5}…$/)
    const c = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'))
    assert.equal(c.current, 'default')
    assert.equal(c.profiles.default.url, s.url)
    assert.match(c.profiles.default.apiKey, /^ak_[A-Za-z0-9_-]{43}$/)
    assert.ok(!JSON.stringify(out).includes(c.profiles.default.apiKey))
    assert.equal((await stat(join(cfg, 'config.json'))).mode & 0o777, 0o600)
    assert.equal((await stat(cfg)).mode & 0o777, 0o700)
    // the text form names the profile and the masked key only
    const other = join(tmp, 'config-text')
    const t = await cairn(other, ['register', '--url', s.url, '--email', freshEmail(), '--password-stdin'], { input: PASSWORD + '\n' })
    assert.equal(t.status, 0, t.stderr)
    const saved = JSON.parse(await readFile(join(other, 'config.json'), 'utf8')).profiles.default.apiKey as string
    assert.ok(!t.stdout.includes(saved) && !t.stderr.includes(saved))
    assert.match(t.stdout, /registered .* \(profile default\); key ak_.{5}… saved/)
  })

  test('login verifies the key (from stdin) before saving it; a wrong key exits 3 and saves nothing', async () => {
    const key = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    const out = await ok(cfg, ['login', '--url', s.url, '--profile', 'second', '--files-url', s.filesUrl], { input: key + '\n' })
    assert.equal(out.email, email)
    assert.equal(out.profile, 'second')
    const bad = await fails(cfg, ['login', '--url', s.url, '--profile', 'bad', '--api-key-stdin'], 3, { input: 'ak_not_a_real_key\n' })
    assert.match(bad.error.message, /refused this key.*nothing was saved/)
    const c = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'))
    assert.deepEqual(Object.keys(c.profiles).sort(), ['default', 'second'])
    const p = await ok(cfg, ['profiles'])
    assert.equal(p.current, 'default')
    assert.deepEqual(p.profiles.map((x: { name: string }) => x.name).sort(), ['default', 'second'])
    assert.ok(!JSON.stringify(p).includes(key))
    // the text error of a wrong key is one clear line
    const t = await cairn(cfg, ['ls'], { env: { CAIRN_API_KEY: 'ak_wrong' } })
    assert.equal(t.status, 3)
    assert.equal(t.stderr, 'cairn: Invalid API key: the API key is wrong or missing; run `cairn login`\n')
    const j = await fails(cfg, ['status'], 3, { env: { CAIRN_API_KEY: 'ak_wrong' } })
    assert.equal(j.error.code, 'Unauthorized')
    // no profile at all: exit 3 and how to log in
    const none = await fails(join(tmp, 'empty'), ['ls'], 3)
    assert.match(none.error.message, /cairn login --url/)
  })

  let fileCid: string
  const hello = 'hello world\n'
  test('put a file: the CID the server reports; get it back to a file and to stdout', async () => {
    const path = join(tmp, 'hello.txt')
    await writeFile(path, hello)
    const out = await ok(cfg, ['put', path])
    assert.equal(out.uploads.length, 1)
    fileCid = out.uploads[0].cid
    assert.equal(fileCid, 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4')
    assert.deepEqual({ ...out.uploads[0], path: undefined }, { path: undefined, type: 'file', cid: fileCid, name: 'hello.txt', size: 12 })
    // the same bytes through the SDK: the same CID
    const key = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    const viaSdk = await new CairnClient({ baseUrl: s.url, apiKey: key }).files.upload(new Blob([hello]), { name: 'sdk.txt' })
    assert.equal(viaSdk.cid, fileCid)

    const bin = deterministicBytes(3_000_000, 'cli-get')
    await writeFile(join(tmp, 'data.bin'), bin)
    const up = await cairn(cfg, ['put', join(tmp, 'data.bin')])
    assert.equal(up.status, 0, up.stderr)
    const [binCid, name] = up.stdout.trim().split(/\s+/)
    assert.match(binCid, /^bafybei/)
    assert.equal(name, 'data.bin')
    assert.equal(up.stderr, '', 'no progress bar when stderr is not a terminal')

    const got = await ok(cfg, ['get', binCid, '-o', join(tmp, 'back.bin')])
    assert.equal(got.size, bin.length)
    assert.equal(sha(await readFile(join(tmp, 'back.bin'))), sha(bin))
    // stdout when it is not a terminal
    const raw = spawn(process.execPath, [BIN, 'get', binCid], { env: { ...process.env, CAIRN_CONFIG_DIR: cfg } })
    const parts: Buffer[] = []
    raw.stdout.on('data', (d: Buffer) => parts.push(d))
    assert.equal(await new Promise(resolve => raw.on('close', resolve)), 0)
    assert.equal(sha(Buffer.concat(parts)), sha(bin))
    // into a directory, under the server's name; an existing file needs --force
    await mkdir(join(tmp, 'dl'))
    const intoDir = await ok(cfg, ['get', binCid, '-o', join(tmp, 'dl')])
    assert.equal(intoDir.path, join(tmp, 'dl', 'data.bin'))
    const exists = await fails(cfg, ['get', binCid, '-o', join(tmp, 'dl', 'data.bin')], 2)
    assert.match(exists.error.message, /--force/)
    await ok(cfg, ['get', binCid, '-o', join(tmp, 'dl', 'data.bin'), '--force'])
    // stdin
    const piped = await ok(cfg, ['put', '-', '--name', 'piped.txt'], { input: hello })
    assert.equal(piped.uploads[0].cid, fileCid)
    assert.equal(piped.uploads[0].name, 'piped.txt')
    // not found
    const nf = await fails(cfg, ['get', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', '-o', join(tmp, 'nope')], 4)
    assert.match(nf.error.message, /not found/i)
  })

  test('put a folder: one CID, as ipfs add -r gives it (v1 by default, v0 on request); get answers a tar', async () => {
    const dir = join(tmp, 'photos')
    await mkdir(join(dir, '2024', 'summer'), { recursive: true })
    await writeFile(join(dir, 'readme.md'), '# photos\n')
    await writeFile(join(dir, '2024', 'a.bin'), deterministicBytes(300_000, 'a'))
    await writeFile(join(dir, '2024', 'summer', 'b.bin'), deterministicBytes(1_200_000, 'b'))
    await writeFile(join(dir, '.DS_Store'), 'hidden')
    const out = await ok(cfg, ['put', dir])
    const f = out.uploads[0]
    assert.equal(f.type, 'folder')
    assert.equal(f.name, 'photos')
    assert.equal(f.cid, await expectedFolderCid(dir, 1))
    assert.deepEqual(f.files.map((x: { path: string }) => x.path).sort(), ['2024/a.bin', '2024/summer/b.bin', 'readme.md'])
    const v0 = (await ok(cfg, ['put', dir, '--cid-version', '0'])).uploads[0]
    assert.equal(v0.cid, await expectedFolderCid(dir, 0))
    assert.match(v0.cid, /^Qm/)
    const oracle = process.env.CAIRN_TEST_IPFS_CID
    if (oracle !== undefined && oracle !== '') {
      // an independent implementation of ipfs add agrees on the files inside
      for (const m of v0.files as Array<{ path: string, cid: string }>) {
        assert.equal(m.cid, (JSON.parse(execFileSync(oracle, [join(dir, m.path)], { encoding: 'utf8' })) as { CIDv0: string }).CIDv0, m.path)
      }
    }
    const hidden = (await ok(cfg, ['put', dir, '--hidden', '--name', 'with-hidden'])).uploads[0]
    assert.equal(hidden.files.length, 4)
    assert.notEqual(hidden.cid, f.cid)
    const tar = await ok(cfg, ['get', f.cid, '-o', join(tmp, 'dl')])
    assert.equal(tar.folder_tar, true)
    assert.equal(tar.path, join(tmp, 'dl', 'photos.tar'))
    const listing = execFileSync('tar', ['tf', tar.path], { encoding: 'utf8' }).trim().split('\n').sort()
    assert.ok(listing.includes('photos/2024/summer/b.bin'), listing.join(','))
    // several paths at once, text: one line each
    const two = await cairn(cfg, ['put', join(tmp, 'hello.txt'), dir])
    assert.equal(two.status, 0, two.stderr)
    assert.equal(two.stdout.trim().split('\n').length, 2)
    // a missing path: nothing is sent, exit 4
    const before = (await ok(cfg, ['status'])).account.file_count
    await fails(cfg, ['put', join(tmp, 'hello.txt'), join(tmp, 'missing')], 4)
    assert.equal((await ok(cfg, ['status'])).account.file_count, before)
  })

  test('ls --json: paging, search, sort', async () => {
    const all = await ok(cfg, ['ls', '--all'])
    assert.ok(all.total >= 6)
    assert.equal(all.files.length, all.total)
    const page = await ok(cfg, ['ls', '--page-size', '2', '--page', '2'])
    assert.equal(page.files.length, 2)
    assert.equal(page.meta.page, 2)
    assert.equal(page.meta.page_size, 2)
    assert.equal(page.files[0].cid, all.files[2].cid)
    const found = await ok(cfg, ['ls', '--search', 'data.b'])
    assert.deepEqual(found.files.map((x: { original_filename: string }) => x.original_filename), ['data.bin'])
    const bySize = await ok(cfg, ['ls', '--all', '--sort', 'size', '--asc'])
    const sizes = bySize.files.map((x: { size: number }) => x.size)
    assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b))
    const text = await cairn(cfg, ['ls', '--page-size', '1'])
    assert.equal(text.status, 0)
    assert.match(text.stdout, /page 1 of \d+/)
    await fails(cfg, ['ls', '--sort', 'colour'], 2)
    await fails(cfg, ['ls', '--page', '0'], 2)
  })

  test('pin and unpin (idempotent), rm of many as a task', async () => {
    const un = await ok(cfg, ['unpin', fileCid])
    assert.deepEqual(un.files, [{ cid: fileCid, pinned: false, changed: true }])
    assert.equal((await ok(cfg, ['ls', '--search', fileCid])).files.every((f: { pinned: boolean }) => !f.pinned), true)
    assert.equal((await ok(cfg, ['unpin', fileCid])).files[0].changed, false)
    assert.equal((await ok(cfg, ['pin', fileCid])).files[0].changed, true)
    assert.equal((await ok(cfg, ['ls', '--search', fileCid])).files.every((f: { pinned: boolean }) => f.pinned), true)
    await fails(cfg, ['pin', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'], 4)

    const cids = (await ok(cfg, ['ls', '--all'])).files.map((f: { cid: string }) => f.cid)
    const distinct = [...new Set<string>(cids)]
    assert.ok(distinct.length > 2, 'more than the sync limit: a task')
    const r = await ok(cfg, ['rm', ...distinct])
    assert.equal(r.deleted, distinct.length)
    assert.deepEqual(r.failed, [])
    assert.equal(typeof r.task_id, 'string')
    assert.equal((await ok(cfg, ['ls'])).files.length, 0)
    // the result still on stdout, the failure on stderr
    const gone = await cairn(cfg, ['rm', fileCid, '--json'])
    assert.equal(gone.status, 4)
    assert.deepEqual(JSON.parse(gone.stdout).failed, [{ cid: fileCid, reason: 'File not found' }])
    assert.equal(JSON.parse(gone.stderr).error.code, 'not_found')
  })

  test('share: the public gateway link of a file the account holds', async () => {
    const path = join(tmp, 'share.txt')
    await writeFile(path, 'shared bytes\n')
    const cid = (await ok(cfg, ['put', path])).uploads[0].cid
    // the "second" profile was logged in with --files-url
    const link = await ok(cfg, ['share', cid, '--gateway', '--profile', 'second'])
    assert.equal(link.url, `${s.filesUrl}/ipfs/${cid}?filename=share.txt`)
    assert.equal(link.checked, true)
    const res = await fetch(link.url)
    assert.equal(await res.text(), 'shared bytes\n')
    // or CAIRN_FILES_URL
    const env = await ok(cfg, ['share', cid, '--gateway', '--download'], { env: { CAIRN_FILES_URL: s.filesUrl } })
    assert.match(env.url, /download=true/)
    await fails(cfg, ['share', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', '--gateway', '--profile', 'second'], 4)
    // gateway options without --gateway, an expiring gateway link: usage errors
    await fails(cfg, ['share', cid, '--download'], 2)
    await fails(cfg, ['share', cid, '--gateway', '--expires', '7d'], 2)
    const noCloud = await fails(cfg, ['share', 'some-file-id', '--cloud'], 3)
    assert.match(noCloud.error.message, /set-cloud-key/)
  })

  test('share: a revocable share link, public or expiring; share ls; share revoke', async () => {
    const cid = (await ok(cfg, ['ls', '--search', 'share.txt'])).files[0].cid as string
    const pub = await ok(cfg, ['share', cid])
    assert.equal(pub.kind, 'share')
    assert.equal(pub.cid, cid)
    assert.equal(pub.expires_at, null)
    assert.ok(pub.url.startsWith(`${s.filesUrl}/share/`), pub.url)
    assert.equal(await (await fetch(pub.url)).text(), 'shared bytes\n')
    const t0 = Date.now()
    const exp = await ok(cfg, ['share', cid, '--expires', '7d'])
    const ms = Date.parse(exp.expires_at) - t0
    assert.ok(ms > 7 * 86_400_000 - 60_000 && ms <= 7 * 86_400_000 + 60_000, exp.expires_at)
    assert.notEqual(exp.url, pub.url)
    // text: the URL alone on stdout (for scripts), the note on stderr
    const text = await cairn(cfg, ['share', cid, '--expires', '90m'])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^http:\/\/\S+\/share\/\S+\n$/)
    assert.match(text.stderr, /expires .*cairn share revoke/)
    // listed without their URLs
    const ls = await ok(cfg, ['share', 'ls', '--cid', cid])
    assert.equal(ls.shares.length, 3)
    assert.ok(!JSON.stringify(ls).includes('/share/'))
    assert.deepEqual(ls.shares.map((l: { id: string }) => l.id).sort(), [pub.id, exp.id, ls.shares.find((l: { id: string }) => l.id !== pub.id && l.id !== exp.id).id].sort())
    assert.equal((await ok(cfg, ['status'])).account.share_links, 3)
    // revoked: gone at once
    assert.deepEqual(await ok(cfg, ['share', 'revoke', pub.id]), { revoked: [pub.id] })
    assert.equal((await fetch(pub.url)).status, 404)
    assert.equal((await fetch(exp.url)).status, 200)
    assert.equal((await ok(cfg, ['share', 'ls'])).shares.length, 2)
    await fails(cfg, ['share', 'revoke', pub.id], 4)
    await fails(cfg, ['share', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'], 4)
    await fails(cfg, ['share', cid, '--expires', 'soon'], 2)
    // below the server's minimum: its 400, exit 2
    await fails(cfg, ['share', cid, '--expires', '10s'], 2)
    for (const l of (await ok(cfg, ['share', 'ls'])).shares) await ok(cfg, ['share', 'revoke', l.id])
  })

  test('share --cloud: a FluidCloud raw link with the profile\'s cloud key', async () => {
    const t = await tenant(s)
    const cloud = new CairnClient({ baseUrl: s.url, cloudKey: t.live, filesOrigin: s.filesUrl }).cloud
    const space = await cloud.spaces.create({ name: 'cli', app: 'cli' })
    const f = await cloud.files.upload(new Blob(['cloud bytes\n']), { spaceId: space.id, name: 'c.txt' })
    const wrong = await fails(cfg, ['profiles', 'set-cloud-key'], 3, { input: 'fck_live_' + '0'.repeat(64) + '\n' })
    assert.match(wrong.error.message, /refused this FluidCloud key/)
    const set = await ok(cfg, ['profiles', 'set-cloud-key'], { input: t.live + '\n' })
    assert.match(set.cloud_key, /^fck_live…$/)
    assert.ok(!JSON.stringify(await ok(cfg, ['profiles'])).includes(t.live))
    const link = await ok(cfg, ['share', f.id, '--cloud', '--expires-in-days', '1'])
    assert.equal(link.kind, 'cloud')
    assert.equal(typeof link.expires_at, 'string')
    const res = await cloud.fetchLink(link.url)
    assert.equal(await res.text(), 'cloud bytes\n')
  })

  test('status: account usage and capacity, server health', async () => {
    const st = await ok(cfg, ['status'])
    assert.equal(st.server.ok, true)
    assert.equal(st.server.status, 'ok')
    assert.equal(st.account.email, email)
    assert.equal(st.account.plan, 'STARTER')
    assert.equal(st.account.used_bytes, 13)
    assert.ok(st.account.capacity_bytes > 0)
    assert.equal(st.account.key_status, 'active')
    assert.equal(st.account.share_links, 0)
    assert.equal(st.account.share_links_max, 1000)
    const text = await cairn(cfg, ['status'])
    assert.match(text.stdout, /usage {4}13 B of 10\.0 GiB/)
    assert.match(text.stdout, /shares {3}0 of 1000 share links/)
  })

  test('put --folder and ls --folder: files in the account\'s folders; info: kind, type, size, DAG size', async () => {
    const path = join(tmp, 'note.txt')
    await writeFile(path, 'a note\n')
    const one = await ok(cfg, ['put', path, '--folder', 'docs'])
    assert.equal(one.uploads[0].folder, 'docs')
    const dir = join(tmp, 'album')
    await mkdir(join(dir, 'raw'), { recursive: true })
    await writeFile(join(dir, 'cover.txt'), 'cover\n')
    await writeFile(join(dir, 'raw', 'x.bin'), deterministicBytes(2_000_000, 'album-x'))
    const tree = (await ok(cfg, ['put', dir, '--folder', '/docs/'])).uploads[0]
    assert.equal(tree.cid, null, 'file by file: no folder CID')
    assert.equal(tree.folder, 'docs/album')
    assert.deepEqual(tree.files.map((f: { path: string }) => f.path).sort(), ['cover.txt', 'raw/x.bin'])
    const piped = await ok(cfg, ['put', '-', '--name', 'piped.txt', '--folder', 'docs/album/raw'], { input: 'piped\n' })
    assert.equal(piped.uploads[0].folder, 'docs/album/raw')
    // above 16 MiB a file goes over tus, into its folder all the same
    const bigPath = join(tmp, 'big-in-folder.bin')
    await writeFile(bigPath, deterministicBytes(17 * 1024 * 1024, 'big-in-folder'))
    const inFolder = await ok(cfg, ['put', bigPath, '--folder', 'docs/big'])
    assert.equal(inFolder.uploads[0].folder, 'docs/big')
    const bigLs = await ok(cfg, ['ls', '--folder', 'docs/big'])
    assert.deepEqual(bigLs.files.map((f: { cid: string }) => f.cid), [inFolder.uploads[0].cid])

    const docs = await ok(cfg, ['ls', '--folder', 'docs'])
    assert.equal(docs.path, 'docs')
    assert.deepEqual(docs.folders.map((f: { name: string }) => f.name).sort(), ['album', 'big'])
    assert.deepEqual(docs.files.map((f: { original_filename: string }) => f.original_filename), ['note.txt'])
    assert.equal(docs.files[0].cid, one.uploads[0].cid)
    const raw = await ok(cfg, ['ls', '--folder', 'docs/album/raw', '--all'])
    assert.deepEqual(raw.files.map((f: { original_filename: string }) => f.original_filename).sort(), ['piped.txt', 'x.bin'])
    assert.equal(raw.total, 2)
    const top = await ok(cfg, ['ls', '--folder', '/'])
    assert.ok(top.folders.some((f: { name: string }) => f.name === 'docs'))
    const text = await cairn(cfg, ['ls', '--folder', 'docs'])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /folder .* album\/\n/)
    assert.match(text.stdout, /note\.txt\n$/)
    await fails(cfg, ['ls', '--folder', 'nowhere'], 4)
    await fails(cfg, ['ls', '--folder', 'docs', '--search', 'x'], 2)
    await fails(cfg, ['put', path, '--folder', '/'], 2)

    const info = await ok(cfg, ['info', one.uploads[0].cid])
    assert.equal(info.kind, 'file')
    assert.equal(info.content_type, 'text/plain')
    assert.equal(info.size, 7)
    assert.equal(info.dag_size, 7)
    const x = tree.files.find((f: { path: string }) => f.path === 'raw/x.bin')
    const big = await ok(cfg, ['info', x.cid])
    assert.equal(big.size, 2_000_000)
    assert.ok(big.dag_size > 2_000_000, 'a chunked file: the DAG has its root node too')
    const infoText = await cairn(cfg, ['info', x.cid])
    assert.match(infoText.stdout, /kind {6}file\n/)
    assert.match(infoText.stdout, /dag size {2}1\.9\d MiB \(\d+ B\)/)
    await fails(cfg, ['info', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'], 4)
    await fails(cfg, ['info', 'not-a-cid'], 2)
  })

  test('login --email: a session key that expires, saved with its expiry; keys create for scripts; logout revokes it', async () => {
    // a wrong password: exit 3, nothing saved
    const wrong = await fails(cfg, ['login', '--url', s.url, '--email', email, '--password-stdin', '--profile', 'pw'], 3, { input: 'not-the-password\n' })
    assert.match(wrong.error.message, /Invalid email or password; nothing was saved/)
    assert.equal(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.pw, undefined)
    // the password from stdin (no terminal to ask on)
    const t0 = Date.now()
    const out = await ok(cfg, ['login', '--url', s.url, '--email', email, '--profile', 'pw', '--expires', '2h'], { input: PASSWORD + '\n' })
    assert.equal(out.email, email)
    assert.equal(out.session_key, true)
    assert.match(out.key, /^ak_.{5}…$/)
    const ms = Date.parse(out.key_expires_at) - t0
    assert.ok(ms > 2 * 3600_000 - 60_000 && ms <= 2 * 3600_000 + 60_000, out.key_expires_at)
    const saved = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.pw
    assert.equal(saved.keyExpiresAt, out.key_expires_at)
    assert.equal(saved.passwordLogin, true)
    assert.ok(!JSON.stringify(out).includes(saved.apiKey))
    const st = await ok(cfg, ['status', '--profile', 'pw'])
    assert.equal(st.account.key_expires_at, out.key_expires_at)
    assert.equal((await ok(cfg, ['ls', '--profile', 'pw'])).meta.page, 1)
    // a long-lived key for scripts, made with the session key (no wallet)
    const ci = await ok(cfg, ['keys', 'create', '--name', 'ci', '--profile', 'pw'])
    assert.match(ci.api_key, /^ak_/)
    assert.equal(ci.expires_at, null)
    const inCi = await ok(cfg, ['status'], { env: { CAIRN_URL: s.url, CAIRN_API_KEY: ci.api_key } })
    assert.equal(inCi.account.email, email)
    const list = await ok(cfg, ['keys', 'list', '--profile', 'pw'])
    const mine = list.keys.find((k: { current: boolean }) => k.current)
    assert.equal(mine.id, saved.keyId)
    assert.ok(list.keys.some((k: { id: string, name: string }) => k.id === ci.id && k.name === 'ci'))
    // the profile's own key is not revoked from under it
    const own = await fails(cfg, ['keys', 'revoke', saved.keyId, '--profile', 'pw'], 2)
    assert.match(own.error.message, /cairn logout/)
    assert.deepEqual(await ok(cfg, ['keys', 'revoke', ci.id, '--profile', 'pw']), { id: ci.id, revoked: true })
    await fails(cfg, ['status'], 3, { env: { CAIRN_URL: s.url, CAIRN_API_KEY: ci.api_key } })
    // an expired session key: exit 3 with how to log in again, before asking the server
    const c = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'))
    c.profiles.expired = { ...saved, keyExpiresAt: '2020-01-01T00:00:00.000Z' }
    await writeFile(join(cfg, 'config.json'), JSON.stringify(c))
    const exp = await fails(cfg, ['ls', '--profile', 'expired'], 3)
    assert.equal(exp.error.code, 'session_expired')
    assert.match(exp.error.message, new RegExp(`cairn login --email ${email} --profile expired`))
    const expSt = await cairn(cfg, ['status', '--profile', 'expired', '--json'])
    assert.equal(expSt.status, 3)
    assert.equal(JSON.parse(expSt.stdout).account, null)
    assert.equal(JSON.parse(expSt.stdout).server.ok, true)
    await ok(cfg, ['logout', '--profile', 'expired', '--keep-key'])
    // logout revokes the session key on the server
    const bye = await ok(cfg, ['logout', '--profile', 'pw'])
    assert.deepEqual(bye.server, ['session key revoked'])
    await assert.rejects(new CairnClient({ baseUrl: s.url, apiKey: saved.apiKey }).keys.status())
    assert.equal(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.pw, undefined)
    // --password without --email, two ways at once: usage errors
    await fails(cfg, ['login', '--url', s.url, '--password-stdin'], 2)
    await fails(cfg, ['login', '--url', s.url, '--email', email, '--api-key-stdin'], 2)
    await fails(cfg, ['login', '--url', s.url, '--email', email, '--expires', '3x'], 2)
  })

  test('keys: show; list with the account\'s key; renew by the emailed code saves the new key', async () => {
    const shown = await ok(cfg, ['keys', 'show'])
    assert.equal(shown.key_status, 'active')
    const keys = await ok(cfg, ['keys', 'list'])
    assert.equal(keys.keys.filter((k: { current: boolean }) => k.current).length, 1)
    const old = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    // step one (no terminal): the code is sent
    const sent = await ok(cfg, ['keys', 'renew'])
    assert.deepEqual(sent, { email, code_sent: true })
    const mail = await eventually('the renewal mail', async () => (await outbox(s.dataDir)).find(m => m.includes(`To: ${email}`)))
    await fails(cfg, ['keys', 'renew', '--code', '000000'], 3)
    const renewed = await ok(cfg, ['keys', 'renew', '--code-stdin'], { input: codeIn(mail) + '\n' })
    assert.equal(renewed.renewed, true)
    const now = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    assert.notEqual(now, old)
    assert.equal((await ok(cfg, ['status'])).account.key_status, 'active')
    // the old key (still in profile "second") is refused: 403, exit 3
    const refused = await fails(cfg, ['ls', '--profile', 'second'], 3)
    assert.match(refused.error.message, /invalidated/)
  })

  test('wallet login: sign the phrase, a key is made; keys list/create/revoke; logout revokes it', async () => {
    const wallet = btcWallet()
    // no signature on stdin: a usage error, nothing saved
    const none = await fails(cfg, ['login', '--url', s.url, '--profile', 'wallet', '--wallet', wallet.address, '--signature-stdin'], 2)
    assert.match(none.error.message, /signature/)
    // the phrase comes on stderr (line 2); the signature goes to stdin
    // through dist/src/cli/main.js (the whole program registers the client commands too)
    const login = spawn(process.execPath, [MAIN, 'login', '--url', s.url, '--profile', 'wallet', '--wallet', wallet.address, '--signature-stdin', '--json'], { env: { ...process.env, CAIRN_CONFIG_DIR: cfg } })
    let out = ''
    let stderr = ''
    login.stdout.on('data', (d: Buffer) => { out += d.toString() })
    login.stderr.on('data', (d: Buffer) => {
      const before = stderr
      stderr += d.toString()
      const lines = stderr.split('\n')
      if (before.split('\n').length < 3 && lines.length >= 3) void wallet.sign(lines[1]).then(sig => { login.stdin.end(sig + '\n') })
    })
    assert.equal(await new Promise(resolve => login.on('close', resolve)), 0, stderr)
    const saved = JSON.parse(out)
    assert.equal(saved.zelid, wallet.address)
    assert.equal(saved.profile, 'wallet')
    const list = await ok(cfg, ['keys', 'list', '--profile', 'wallet'])
    assert.equal(list.keys.length, 1)
    assert.match(list.keys[0].name, /^cairn-cli@/)
    const made = await ok(cfg, ['keys', 'create', '--profile', 'wallet', '--name', 'ci', '--expires-in-days', '7'])
    assert.match(made.api_key, /^cairn_/)
    assert.equal((await ok(cfg, ['keys', 'list', '--profile', 'wallet'])).keys.length, 2)
    assert.deepEqual(await ok(cfg, ['keys', 'revoke', made.id, '--profile', 'wallet']), { id: made.id, revoked: true })
    // the profile's key works for files too (a wallet account)
    const path = join(tmp, 'w.txt')
    await writeFile(path, 'wallet file\n')
    assert.equal((await ok(cfg, ['put', path, '--profile', 'wallet'])).uploads[0].name, 'w.txt')
    const key = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.wallet.apiKey as string
    const bye = await ok(cfg, ['logout', '--profile', 'wallet'])
    assert.deepEqual(bye.server, ['key revoked', 'session ended'])
    await assert.rejects(new CairnClient({ baseUrl: s.url, apiKey: key }).keys.status())
    assert.equal(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.wallet, undefined)
  })

  test('--json everywhere: one document on stdout; usage errors exit 2 as JSON', async () => {
    for (const args of [['profiles'], ['status'], ['keys'], ['keys', 'list'], ['ls'], ['ls', '--folder', '/'], ['share', 'ls'], ['pins', 'ls']]) {
      const r = await cairn(cfg, [...args, '--json'])
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.doesNotThrow(() => JSON.parse(r.stdout), args.join(' '))
    }
    const u = await fails(cfg, ['ls', '--bogus'], 2)
    assert.equal(u.error.code, 'usage')
    await fails(cfg, ['put'], 2)
    await fails(cfg, ['put', join(tmp, 'hello.txt'), '--cid-version', '3'], 2)
    await fails(cfg, ['profiles', 'use', 'nobody'], 4)
  })

  test('an interrupted put of a big file resumes when run again', async () => {
    const big = deterministicBytes(40 * 2 ** 20, 'cli-resume')
    const path = join(tmp, 'big.bin')
    await writeFile(path, big)
    const first = cairn(cfg, ['put', path, '--json'])
    // kill it once the server has part of the bytes (the upload's offset, asked as tus asks it)
    const apiKey = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    const partial = await eventually('part of the upload on the server', async () => {
      const saved = await readFile(join(cfg, 'uploads.json'), 'utf8').then(t => Object.values(JSON.parse(t)) as Array<{ url: string }>, () => [])
      if (saved.length === 0) return undefined
      const head = await fetch(saved[0].url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', 'x-api-key': apiKey } })
      const offset = Number(head.headers.get('upload-offset') ?? 0)
      return offset > 0 ? offset : undefined
    })
    first.child.kill('SIGKILL')
    const killed = await first
    assert.equal(killed.status, null, 'killed before it finished')
    assert.ok(partial < big.length)
    const state = JSON.parse(await readFile(join(cfg, 'uploads.json'), 'utf8'))
    assert.equal(Object.keys(state).length, 1)
    assert.equal((await stat(join(cfg, 'uploads.json'))).mode & 0o777, 0o600)

    const again = await ok(cfg, ['put', path])
    assert.equal(again.uploads[0].resumed, true)
    assert.equal(again.uploads[0].size, big.length)
    assert.deepEqual(JSON.parse(await readFile(join(cfg, 'uploads.json'), 'utf8')), {})
    const back = await ok(cfg, ['get', again.uploads[0].cid, '-o', join(tmp, 'big.back')])
    assert.equal(back.size, big.length)
    assert.equal(sha(await readFile(join(tmp, 'big.back'))), sha(big))
    // the same CID as a fresh upload of the bytes
    const key = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles.default.apiKey as string
    const fresh = await new CairnClient({ baseUrl: s.url, apiKey: key }).files.upload(new Blob([big as BlobPart]), { name: 'fresh.bin' })
    assert.equal(fresh.cid, again.uploads[0].cid)
  })

  test('logout forgets the profile', async () => {
    const r = await ok(cfg, ['logout', '--profile', 'second'])
    assert.equal(r.logged_out, true)
    await fails(cfg, ['logout', '--profile', 'second'], 4)
    assert.deepEqual(Object.keys(JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')).profiles), ['default'])
  })
})
