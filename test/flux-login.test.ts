/**
 * Flux wallet login over real HTTP: phrases, BTC and ETH signatures made with keys generated
 * here, sessions, logout, privileges, the user's own API keys, zelidauth on FluxDrive.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json } from './helpers/http.js'
import { btcWallet, ethWallet, login, type Wallet } from './helpers/wallets.js'

const admin = btcWallet()

async function get (url: string, header?: string): Promise<Response> {
  return await fetch(url, { headers: header === undefined ? {} : { zelidauth: header } })
}

async function postText (url: string, body: unknown, header?: string, type = 'text/plain'): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': type }
  if (header !== undefined) headers.zelidauth = header
  return await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
}

async function phrase (s: TestServer): Promise<string> {
  const r = await json(await get(`${s.url}/id/loginphrase`))
  return r.data
}

describe('Flux wallet login', () => {
  let s: TestServer
  before(async () => { s = await startServer({ CAIRN_ADMIN_ZELID: admin.address }) })
  after(async () => { await s.close() })

  test('a login phrase is 13 timestamp digits and random characters', async () => {
    const res = await get(`${s.url}/id/loginphrase`)
    assert.equal(res.status, 200)
    const body = await json(res)
    assert.equal(body.status, 'success')
    assert.match(body.data, /^\d{13}[a-z0-9]{43}$/)
    assert.ok(Math.abs(Number(body.data.slice(0, 13)) - Date.now()) < 60_000)
    const other = await json(await get(`${s.url}/id/emergencyphrase`))
    assert.match(other.data, /^\d{13}[a-z0-9]{43}$/)
    assert.notEqual(other.data, body.data)
  })

  test('BTC wallet: login with a Bitcoin message signature, sessions listed, account made', async () => {
    const w = btcWallet()
    const l = await login(s.url, w)
    assert.equal(l.zelid, w.address)
    assert.equal(l.privilage, 'user')
    const sessions = await json(await get(`${s.url}/id/loggedsessions`, l.header))
    assert.equal(sessions.status, 'success')
    assert.equal(sessions.data.length, 1)
    assert.equal(sessions.data[0].loginPhrase, l.loginPhrase)
    assert.equal(sessions.data[0].expireAt - sessions.data[0].createdAt, 14 * 24 * 3600 * 1000)
    const account = await s.core.accounts.findByZelid(w.address)
    assert.ok(account !== undefined)
    assert.equal(account.plan, 'STARTER')
    // a second login signs in to the same account
    await login(s.url, w)
    assert.equal((await s.core.accounts.list()).filter(a => a.zelid === w.address).length, 1)
  })

  test('ETH wallet: EIP-191 personal_sign against a 0x address, any letter case', async () => {
    const w = ethWallet()
    const l = await login(s.url, w)
    assert.equal(l.zelid, w.address.toLowerCase())
    const l2 = await login(s.url, w, w.address.toLowerCase())
    const ok = await get(`${s.url}/id/loggedsessions`, l2.header)
    assert.equal(ok.status, 200)
    assert.equal((await json(ok)).data.length, 2)
  })

  test('a hex public key logs in as its P2PKH address', async () => {
    const w = btcWallet()
    const l = await login(s.url, w, w.publicKey)
    assert.equal(l.zelid, w.address)
  })

  test('the body may be JSON, JSON as text/plain, or urlencoded; address/message are accepted too', async () => {
    const w = btcWallet()
    const p1 = await phrase(s)
    const r1 = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p1, signature: await w.sign(p1) }, undefined, 'application/json')
    assert.equal(r1.status, 200)
    const p2 = await phrase(s)
    const form2 = new URLSearchParams({ address: w.address, message: p2, signature: await w.sign(p2) }).toString()
    const r2 = await postText(`${s.url}/id/verifylogin`, form2, undefined, 'application/x-www-form-urlencoded')
    assert.equal(r2.status, 200, await r2.clone().text())
    const p3 = await phrase(s)
    const r3 = await fetch(`${s.url}/id/verifylogin`, { method: 'POST', body: JSON.stringify({ zelid: w.address, loginPhrase: p3, signature: await w.sign(p3) }) })
    assert.equal(r3.status, 200)
    const bad = await postText(`${s.url}/id/verifylogin`, '{"zelid": ')
    assert.equal(bad.status, 400)
    assert.equal((await json(bad)).status, 'error')
  })

  test('wrong signatures and foreign phrases are refused', async () => {
    const w = btcWallet()
    const other = btcWallet()
    const p = await phrase(s)
    const wrongKey = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: await other.sign(p) })
    assert.equal(wrongKey.status, 401)
    const body = await json(wrongKey)
    assert.deepEqual(body, { status: 'error', data: { code: 401, name: 'Unauthorized', message: 'Invalid signature' } })
    const garbage = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: 'not-a-signature' })
    assert.equal(garbage.status, 401)
    const eth = ethWallet()
    const ethWrong = await postText(`${s.url}/id/verifylogin`, { zelid: eth.address, loginPhrase: p, signature: await ethWallet().sign(p) })
    assert.equal(ethWrong.status, 401)
    // a phrase this server never handed out, though well-formed and fresh
    const made = String(Date.now()) + 'a'.repeat(43)
    const unknown = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: made, signature: await w.sign(made) })
    assert.equal(unknown.status, 401)
    const badAddress = await postText(`${s.url}/id/verifylogin`, { zelid: 'bc1notp2pkh', loginPhrase: p, signature: await w.sign(p) })
    assert.equal(badAddress.status, 400)
    // the phrase was not burnt by the failures: the right signature still logs in
    const good = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: await w.sign(p) })
    assert.equal(good.status, 200)
  })

  test('a phrase is single-use', async () => {
    const w = btcWallet()
    const p = await phrase(s)
    const sig = await w.sign(p)
    assert.equal((await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: sig })).status, 200)
    const again = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: sig })
    assert.equal(again.status, 401)
    assert.match((await json(again)).data.message, /already used/)
    // nor can another wallet take it
    const w2 = btcWallet()
    assert.equal((await postText(`${s.url}/id/verifylogin`, { zelid: w2.address, loginPhrase: p, signature: await w2.sign(p) })).status, 401)
  })

  test('an expired phrase is refused (stored expiry passed, or its timestamp is older than 15 minutes)', async () => {
    const w = btcWallet()
    const db = s.core.metadata.db
    const p = await phrase(s)
    await db.updateTable('wallet_phrases').set({ expires_at: Date.now() - 1 }).where('phrase', '=', p).execute()
    const r1 = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: p, signature: await w.sign(p) })
    assert.equal(r1.status, 401)
    assert.match((await json(r1)).data.message, /no longer valid/)
    const old = Date.now() - 16 * 60 * 1000
    const stale = String(old) + 'b'.repeat(43)
    await db.insertInto('wallet_phrases').values({ phrase: stale, created_at: old, expires_at: Date.now() + 60_000, used_at: null }).execute()
    const r2 = await postText(`${s.url}/id/verifylogin`, { zelid: w.address, loginPhrase: stale, signature: await w.sign(stale) })
    assert.equal(r2.status, 401)
  })

  test('zelidauth works as JSON and as a querystring; a wrong signature in it is refused', async () => {
    const w = btcWallet()
    const l = await login(s.url, w)
    const qs = `zelid=${l.zelid}&signature=${encodeURIComponent(l.signature)}&loginPhrase=${l.loginPhrase}`
    assert.equal((await get(`${s.url}/id/loggedsessions`, qs)).status, 200)
    const unencoded = `zelid=${l.zelid}&signature=${l.signature}&loginPhrase=${l.loginPhrase}`
    assert.equal((await get(`${s.url}/id/loggedsessions`, unencoded)).status, 200)
    const forged = JSON.stringify({ zelid: l.zelid, signature: await btcWallet().sign(l.loginPhrase), loginPhrase: l.loginPhrase })
    const r = await get(`${s.url}/id/loggedsessions`, forged)
    assert.equal(r.status, 401)
    assert.deepEqual(await json(r), { status: 'error', data: { code: 401, name: 'Unauthorized', message: 'Unauthorized. Access denied.' } })
    assert.equal((await get(`${s.url}/id/loggedsessions`)).status, 401)
    assert.equal((await get(`${s.url}/id/loggedsessions`, 'garbage')).status, 401)
    // another wallet naming this session
    const other = JSON.stringify({ zelid: btcWallet().address, signature: l.signature, loginPhrase: l.loginPhrase })
    assert.equal((await get(`${s.url}/id/loggedsessions`, other)).status, 401)
  })

  test('logout revokes at once: current, specific, all; a user cannot end another user\'s session', async () => {
    const w = btcWallet()
    const a = await login(s.url, w)
    const b = await login(s.url, w)
    const c = await login(s.url, w)
    const out = await get(`${s.url}/id/logoutcurrentsession`, a.header)
    assert.deepEqual(await json(out), { status: 'success', data: { message: 'Successfully logged out' } })
    assert.equal((await get(`${s.url}/id/loggedsessions`, a.header)).status, 401)
    assert.equal((await get(`${s.url}/id/loggedsessions`, b.header)).status, 200)

    const stranger = await login(s.url, btcWallet())
    const denied = await postText(`${s.url}/id/logoutspecificsession`, { loginPhrase: b.loginPhrase }, stranger.header)
    assert.equal(denied.status, 404)
    assert.equal((await get(`${s.url}/id/loggedsessions`, b.header)).status, 200)

    const specific = await postText(`${s.url}/id/logoutspecificsession`, { loginPhrase: b.loginPhrase }, c.header)
    assert.equal(specific.status, 200)
    assert.equal((await get(`${s.url}/id/loggedsessions`, b.header)).status, 401)

    const d = await login(s.url, w)
    assert.equal((await get(`${s.url}/id/logoutallsessions`, d.header)).status, 200)
    assert.equal((await get(`${s.url}/id/loggedsessions`, c.header)).status, 401)
    assert.equal((await get(`${s.url}/id/loggedsessions`, d.header)).status, 401)
    assert.equal((await get(`${s.url}/id/loggedsessions`, stranger.header)).status, 200)
  })

  test('an expired session is refused', async () => {
    const l = await login(s.url, btcWallet())
    await s.core.metadata.db.updateTable('wallet_sessions').set({ expires_at: Date.now() - 1 }).where('login_phrase', '=', l.loginPhrase).execute()
    assert.equal((await get(`${s.url}/id/loggedsessions`, l.header)).status, 401)
  })

  test('privileges: admin calls need CAIRN_ADMIN_ZELID; checkprivilege tells the level', async () => {
    const user = await login(s.url, btcWallet())
    const boss = await login(s.url, admin)
    assert.equal(boss.privilage, 'admin')
    for (const path of ['/id/loggedusers', '/id/activeloginphrases', '/id/logoutallusers']) {
      assert.equal((await get(`${s.url}${path}`)).status, 401, path)
      const r = await get(`${s.url}${path}`, user.header)
      assert.equal(r.status, 403, path)
      assert.equal((await json(r)).status, 'error')
    }
    const users = await json(await get(`${s.url}/id/loggedusers`, boss.header))
    assert.ok(users.data.some((u: { zelid: string }) => u.zelid === user.zelid))
    const phrases = await json(await get(`${s.url}/id/activeloginphrases`, boss.header))
    assert.ok(phrases.data.some((p: { loginPhrase: string, used: boolean }) => p.loginPhrase === user.loginPhrase && p.used))

    const cu = await postText(`${s.url}/id/checkprivilege`, { zelid: user.zelid, loginPhrase: user.loginPhrase, signature: user.signature })
    assert.deepEqual(await json(cu), { status: 'success', data: { message: 'user' } })
    const ca = await postText(`${s.url}/id/checkprivilege`, { zelid: boss.zelid, loginPhrase: boss.loginPhrase, signature: boss.signature })
    assert.deepEqual(await json(ca), { status: 'success', data: { message: 'admin' } })
    const none = await postText(`${s.url}/id/checkprivilege`, { zelid: user.zelid, loginPhrase: user.loginPhrase, signature: boss.signature })
    assert.equal(none.status, 401)
    assert.equal((await json(none)).data.message, 'none')

    // the admin ends one user's session, then everyone's
    assert.equal((await postText(`${s.url}/id/logoutspecificsession`, { loginPhrase: user.loginPhrase }, boss.header)).status, 200)
    assert.equal((await get(`${s.url}/id/loggedsessions`, user.header)).status, 401)
    const other = await login(s.url, ethWallet())
    assert.equal((await get(`${s.url}/id/logoutallusers`, boss.header)).status, 200)
    assert.equal((await get(`${s.url}/id/loggedsessions`, other.header)).status, 401)
    assert.equal((await get(`${s.url}/id/loggedsessions`, boss.header)).status, 401)
  })

  test('providesign keeps a verified signature for its message', async () => {
    const w = ethWallet()
    const m = await phrase(s)
    const sig = await w.sign(m)
    const r = await postText(`${s.url}/id/providesign`, { address: w.address, message: m, signature: sig })
    assert.equal(r.status, 200)
    const body = await json(r)
    assert.equal(body.data.signature, sig)
    assert.equal(body.data.identifier, m)
    assert.equal(body.data.expireAt - body.data.createdAt, 15 * 60 * 1000)
    const back = await json(await get(`${s.url}/id/providesign/${m}`))
    assert.equal(back.data.signature, sig)
    const wrong = await postText(`${s.url}/id/providesign`, { address: w.address, message: m, signature: await ethWallet().sign(m) })
    assert.equal(wrong.status, 401)
  })

  test('a logged-in user manages their own API keys, which FluxDrive accepts; zelidauth works on FluxDrive too', async () => {
    const w = btcWallet()
    const l = await login(s.url, w)
    const made = await postText(`${s.url}/id/apikeys`, { name: 'laptop', expiresIn: 3600 }, l.header)
    assert.equal(made.status, 200)
    const key = (await json(made)).data
    assert.equal(key.name, 'laptop')
    assert.match(key.key, /^cairn_/)
    assert.ok(key.expiresAt > Date.now())
    const list = await json(await get(`${s.url}/id/apikeys`, l.header))
    assert.equal(list.data.length, 1)
    assert.equal(list.data[0].key, undefined, 'the secret is shown once')

    const basic = 'Basic ' + Buffer.from(`${w.address}:${key.key}`).toString('base64')
    const put = await fetch(`${s.url}/api/v0/put`, { method: 'POST', headers: { authorization: basic }, body: form([{ name: 'a.txt', data: 'via key' }]) })
    assert.equal(put.status, 200)
    const ls = await json(await fetch(`${s.url}/api/v0/ls`, { method: 'POST', headers: { zelidauth: l.header } }))
    assert.equal(ls.status, 'success')
    assert.equal(ls.files[0].name, 'a.txt')

    // another user cannot revoke it; its owner can, and then FluxDrive refuses it
    const other = await login(s.url, btcWallet())
    assert.equal((await fetch(`${s.url}/id/apikeys/${key.id}`, { method: 'DELETE', headers: { zelidauth: other.header } })).status, 404)
    assert.equal((await fetch(`${s.url}/id/apikeys/${key.id}`, { method: 'DELETE', headers: { zelidauth: l.header } })).status, 200)
    assert.equal((await fetch(`${s.url}/api/v0/ls`, { method: 'POST', headers: { authorization: basic } })).status, 401)
    // a logged-out session no longer opens FluxDrive
    await get(`${s.url}/id/logoutcurrentsession`, l.header)
    assert.equal((await fetch(`${s.url}/api/v0/ls`, { method: 'POST', headers: { zelidauth: l.header } })).status, 401)
  })

  test('other dialects keep their own body parsing and errors', async () => {
    const a = await s.account()
    const r = await fetch(`${s.url}/api/v0/cat`, { method: 'POST', headers: { authorization: a.auth, 'content-type': 'text/plain' }, body: '{"hash":"x"}' })
    const body = await json(r)
    assert.equal(typeof body.error, 'string')
    assert.equal((await json(await get(`${s.url}/id/nosuchcall`))).status, 'error')
  })
})

describe('Flux sessions persist across restarts', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'cairn-flux-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  test('a session opened before a restart still works after it', async () => {
    const w: Wallet = ethWallet()
    const s1 = await startServer({ CAIRN_DATA_DIR: dir })
    const l = await login(s1.url, w)
    await s1.close()
    const s2 = await startServer({ CAIRN_DATA_DIR: dir })
    try {
      assert.equal((await get(`${s2.url}/id/loggedsessions`, l.header)).status, 200)
    } finally {
      await s2.close()
    }
  })
})
