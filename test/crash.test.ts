/**
 * Durability across kill -9, as an operator would meet it: real `cairn serve` processes,
 * the real CLI against the same data dir while the server runs.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, kill9, serveProcess } from './helpers/process.js'
import { fakeZelid } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

async function newAccount (dataDir: string): Promise<{ id: string, auth: string }> {
  const zelid = fakeZelid()
  const r = cli(dataDir, ['account', 'create', '--plan', 'STARTER', '--zelid', zelid, '--json'])
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.zelid, zelid)
  assert.match(out.api_key, /^cairn_/)
  return { id: out.account_id, auth: 'Basic ' + Buffer.from(`${zelid}:${String(out.api_key)}`).toString('base64') }
}

async function listAll (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name)
    if ((await stat(p)).isDirectory()) out.push(...await listAll(p))
    else out.push(p)
  }
  return out
}

test('a file acknowledged before kill -9 is whole after restart, and fsck agrees', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-crash-'))
  try {
    let srv = await serveProcess(dataDir)
    t.after(async () => { await kill9(srv) })
    assert.match(srv.stdout(), /admin API key \(shown once, store it now\): cairn_/)
    const a = await newAccount(dataDir)
    const data = randomBytes(20 * 1024 * 1024)
    const up = await post(`${srv.url}/api/v0/put`, a.auth, form([{ name: 'big.bin', data }]))
    assert.equal(up.status, 200)
    const hash = (await json(up)).files[0].hash
    await kill9(srv)

    srv = await serveProcess(dataDir)
    assert.doesNotMatch(srv.stdout(), /admin API key/, 'the bootstrap key is printed on the first start only')
    const cat = await post(`${srv.url}/api/v0/cat?arg=${hash}`, a.auth)
    assert.equal(cat.status, 200)
    const got = Buffer.from(await cat.arrayBuffer())
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'))
    await kill9(srv)

    const check = cli(dataDir, ['fsck', '--json'])
    assert.equal(check.status, 0, check.stdout + check.stderr)
    const report = JSON.parse(check.stdout)
    assert.equal(report.problems.length, 0)
    assert.ok(report.blocks >= 80) // 20 MiB in 256 KiB chunks
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('an upload cut off by kill -9 leaves nothing visible and no space used after restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-crash-'))
  try {
    let srv = await serveProcess(dataDir)
    t.after(async () => { await kill9(srv) })
    const a = await newAccount(dataDir)
    const boundary = 'cairnBoundary'
    const url = new URL(`${srv.url}/api/v0/put`)
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: a.auth, 'content-type': `multipart/form-data; boundary=${boundary}` } })
    req.on('error', () => {}) // the server dies under it
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n\r\n`)
    const incoming = join(dataDir, 'blobs', 'incoming')
    // stream until the server has started writing a pack, then kill it
    for (let i = 0; i < 200; i++) {
      req.write(randomBytes(256 * 1024))
      const parts = await readdir(incoming).catch(() => [] as string[])
      if (parts.length > 0 && (await stat(join(incoming, parts[0]))).size > 1024 * 1024) break
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    assert.equal((await readdir(incoming)).length, 1, 'an upload was in flight')
    await kill9(srv)
    req.destroy()

    srv = await serveProcess(dataDir)
    assert.deepEqual(await readdir(incoming), [], 'the half-written pack is removed at start-up')
    assert.deepEqual(await listAll(join(dataDir, 'blobs', 'packs')), [])
    const ls = await json(await post(`${srv.url}/api/v0/ls`, a.auth))
    assert.equal(ls.files.length, 0)
    const st = await json(await post(`${srv.url}/api/v0/status`, a.auth))
    assert.equal(st.result.storage_used, 0)
    await kill9(srv)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('the operator CLI works while the server runs: plan, subscription, keys, gc', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-cli-'))
  const srv = await serveProcess(dataDir)
  try {
    const a = await newAccount(dataDir)
    assert.equal((await post(`${srv.url}/api/v0/status`, a.auth)).status, 200)

    const off = cli(dataDir, ['account', 'update', a.id, '--active', 'false', '--json'])
    assert.equal(off.status, 0, off.stderr)
    assert.equal(JSON.parse(off.stdout).active, false)
    assert.equal((await post(`${srv.url}/api/v0/status`, a.auth)).status, 402)
    cli(dataDir, ['account', 'update', a.id, '--active', 'true', '--plan', 'ELITE', '--capacity', '2GB'])
    const st = await json(await post(`${srv.url}/api/v0/status`, a.auth))
    assert.equal(st.result.plan_name, 'ELITE')
    assert.equal(st.result.capacity_bytes, 2 * 1024 ** 3)

    cli(dataDir, ['account', 'update', a.id, '--capacity', 'plan'])
    assert.equal((await json(await post(`${srv.url}/api/v0/status`, a.auth))).result.capacity_bytes, 100 * 1024 ** 3, 'back to the ELITE plan capacity')

    const list = JSON.parse(cli(dataDir, ['account', 'list', '--json']).stdout)
    assert.ok(list.some((x: { account_id: string }) => x.account_id === a.id))

    const made = JSON.parse(cli(dataDir, ['key', 'create', a.id, '--name', 'ci', '--json']).stdout)
    const keys = JSON.parse(cli(dataDir, ['key', 'list', a.id, '--json']).stdout)
    assert.equal(keys.length, 2)
    assert.ok(keys.every((k: Record<string, unknown>) => !('api_key' in k)), 'listing never shows secrets')
    const revoke = cli(dataDir, ['key', 'revoke', keys[0].key_id])
    assert.equal(revoke.status, 0)
    assert.equal((await post(`${srv.url}/api/v0/status`, a.auth)).status, 401, 'a revoked key stops working at once')
    const zelid = Buffer.from(a.auth.slice(6), 'base64').toString().split(':')[0]
    assert.equal((await post(`${srv.url}/api/v0/status`, 'Basic ' + Buffer.from(`${zelid}:${String(made.api_key)}`).toString('base64'))).status, 200)

    const gc = cli(dataDir, ['gc', '--json'])
    assert.equal(gc.status, 0, gc.stderr)
    assert.equal(typeof JSON.parse(gc.stdout).packsDeleted, 'number')

    const bad = cli(dataDir, ['account', 'create', '--plan', 'GOLD'])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /unknown plan/)
  } finally {
    await kill9(srv)
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('SIGTERM stops taking new connections but finishes an upload in flight, which then reads whole', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-crash-'))
  try {
    let srv = await serveProcess(dataDir)
    t.after(async () => { await kill9(srv) })
    const a = await newAccount(dataDir)
    const boundary = 'cairnBoundary'
    const url = new URL(`${srv.url}/api/v0/put`)
    const data = randomBytes(8 * 1024 * 1024)
    const answer = new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: a.auth, 'content-type': `multipart/form-data; boundary=${boundary}` } }, res => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d.toString() })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      })
      req.on('error', reject)
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="in-flight.bin"\r\n\r\n`)
      req.write(data.subarray(0, 1024 * 1024))
      // the server is told to stop while the upload is half sent; the rest follows
      setTimeout(() => {
        srv.child.kill('SIGTERM')
        setTimeout(() => {
          req.write(data.subarray(1024 * 1024))
          req.end(`\r\n--${boundary}--\r\n`)
        }, 300)
      }, 200)
    })
    const exited = new Promise<number | null>(resolve => srv.child.once('exit', code => { resolve(code) }))
    await new Promise(resolve => setTimeout(resolve, 350))
    const late = await fetch(`${srv.url}/healthz`).then(res => res.status, () => 'refused')
    assert.ok(late === 'refused' || late === 503, `a new request after SIGTERM: ${String(late)}`)
    const r = await answer
    assert.equal(r.status, 200, r.body)
    const hash = JSON.parse(r.body).files[0].hash
    assert.equal(await exited, 0, 'a clean exit once the upload is done')

    srv = await serveProcess(dataDir)
    const cat = await post(`${srv.url}/api/v0/cat?arg=${hash}`, a.auth)
    assert.equal(cat.status, 200)
    assert.ok(Buffer.from(await cat.arrayBuffer()).equals(data))
    await kill9(srv)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
