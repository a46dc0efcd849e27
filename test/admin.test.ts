/** The operator API (/admin/v1) with the bootstrap admin key, over real HTTP. */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, fakeZelid, type TestServer } from './helpers/server.js'
import { json, post } from './helpers/http.js'

let s: TestServer
let admin: string
before(async () => {
  s = await startServer()
  const boot = await s.core.accounts.bootstrapAdmin()
  assert.ok(boot !== undefined)
  admin = boot.key
  assert.equal(await s.core.accounts.bootstrapAdmin(), undefined, 'only once')
})
after(async () => { await s.close() })

async function call (method: string, path: string, key: string | undefined, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {}
  if (key !== undefined) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return await fetch(`${s.url}/admin/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
}

test('an operator manages accounts and keys over HTTP with the bootstrap key', async () => {
  const zelid = fakeZelid()
  const made = await call('POST', '/accounts', admin, { plan: 'STANDARD', zelid, capacity: '20GB' })
  assert.equal(made.status, 201)
  const acct = await json(made)
  assert.equal(acct.plan, 'STANDARD')
  assert.equal(acct.capacity_bytes, 20 * 1024 ** 3)
  assert.match(acct.api_key, /^cairn_/)
  const basic = (k: string): string => 'Basic ' + Buffer.from(`${zelid}:${k}`).toString('base64')
  assert.equal((await post(`${s.url}/api/v0/status`, basic(acct.api_key))).status, 200)

  const off = await call('PATCH', `/accounts/${String(acct.account_id)}`, admin, { active: false, capacity: null })
  assert.equal(off.status, 200)
  assert.equal((await json(off)).capacity_bytes, 50 * 1024 ** 3)
  assert.equal((await post(`${s.url}/api/v0/status`, basic(acct.api_key))).status, 402)
  await call('PATCH', `/accounts/${String(acct.account_id)}`, admin, { active: true })

  const key = await json(await call('POST', `/accounts/${String(acct.account_id)}/keys`, admin, { name: 'deploy' }))
  assert.equal(key.name, 'deploy')
  const keys = await json(await call('GET', `/accounts/${String(acct.account_id)}/keys`, admin))
  assert.equal(keys.keys.length, 2)
  assert.ok(keys.keys.every((k: Record<string, unknown>) => !('api_key' in k)))
  assert.equal((await call('DELETE', `/keys/${String(key.key_id)}`, admin)).status, 204)
  assert.equal((await post(`${s.url}/api/v0/status`, basic(key.api_key))).status, 401)

  const list = await json(await call('GET', '/accounts', admin))
  assert.ok(list.accounts.some((a: { account_id: string }) => a.account_id === acct.account_id))
  const gc = await call('POST', '/gc', admin)
  assert.equal(gc.status, 200)
  assert.equal(typeof (await json(gc)).packsDeleted, 'number')
})

test('only admin keys get in; bad input is a 4xx in the admin envelope', async () => {
  const user = await s.account()
  assert.equal((await call('GET', '/accounts', undefined)).status, 401)
  assert.equal((await call('GET', '/accounts', 'cairn_nope')).status, 401)
  const forbidden = await call('GET', '/accounts', user.key)
  assert.equal(forbidden.status, 403)
  assert.equal((await json(forbidden)).error.code, 'forbidden')
  for (const [method, path, body, status] of [
    ['POST', '/accounts', { plan: 'GOLD' }, 400],
    ['POST', '/accounts', { zelid: 'not-an-address' }, 400],
    ['POST', '/accounts', { capacity: 'lots' }, 400],
    ['POST', '/accounts', { surprise: 1 }, 400],
    ['GET', '/accounts/00000000-0000-0000-0000-000000000000', undefined, 404],
    ['DELETE', '/keys/nope', undefined, 404],
    ['GET', '/nope', undefined, 404]
  ] as const) {
    const res = await call(method, path, admin, body)
    assert.equal(res.status, status, `${method} ${path}`)
    assert.equal(typeof (await json(res)).error.message, 'string')
  }
  const dup = fakeZelid()
  await call('POST', '/accounts', admin, { zelid: dup })
  assert.equal((await call('POST', '/accounts', admin, { zelid: dup })).status, 409)
  const doc = await json(await fetch(`${s.url}/admin/v1/openapi.json`))
  assert.ok(doc.paths['/admin/v1/accounts'].post)
})
