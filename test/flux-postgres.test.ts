/**
 * The Flux dialect on PostgreSQL: wallet login (an ETH address in any case finding its
 * account), concurrent first logins of one address, a volume's backup and restore, shares.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { serviceOrSkip } from './helpers/services.js'
import { serverOnFreshDatabase } from './helpers/pg.js'
import { type TestServer } from './helpers/server.js'
import { json } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'
import { btcWallet, ethWallet, login } from './helpers/wallets.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL Flux')

describe('Flux on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let s!: TestServer
  serverOnFreshDatabase(pgUrl as string, {}, server => { s = server })

  test('concurrent first logins of one address make one account; an ETH account is found in any letter case', async () => {
    const w = btcWallet()
    const logins = await Promise.all([1, 2, 3, 4].map(async () => await login(s.url, w)))
    assert.equal(new Set(logins.map(l => l.loginPhrase)).size, 4)
    assert.equal((await s.core.accounts.list()).filter(a => a.zelid === w.address).length, 1)

    const eth = ethWallet()
    const made = await s.core.accounts.create({ zelid: eth.address }) // checksummed, as an operator typed it
    await login(s.url, eth)
    const a = await s.core.accounts.findByZelid(eth.address)
    assert.equal(a?.id, made.id)
    assert.equal((await s.core.accounts.list()).filter(x => x.zelid?.toLowerCase() === eth.address.toLowerCase()).length, 1)
  })

  test('a volume backup and restore round trip, and a share', async () => {
    const u = await login(s.url, ethWallet())
    const h = { zelidauth: u.header }
    const bytes = deterministicBytes(400_000, 'pg')
    const fd = new FormData()
    fd.append('file', new Blob([bytes as BlobPart]), 'data.bin')
    assert.equal((await fetch(`${s.url}/ioutils/fileupload/volume/pgapp/c/sub`, { method: 'POST', headers: h, body: fd })).status, 200)
    const b = await fetch(`${s.url}/apps/appendbackuptask`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ appname: 'pgapp', backup: [{ component: 'c', backup: true }] }) })
    assert.match(await b.text(), /Backup task finished/)
    await fetch(`${s.url}/apps/removeobject/pgapp/c/sub`, { headers: h })
    const r = await fetch(`${s.url}/apps/appendrestoretask`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ appname: 'pgapp', type: 'local', restore: [{ component: 'c', restore: true }] }) })
    assert.match(await r.text(), /Volume root CID matches the backup/)
    const back = await fetch(`${s.url}/apps/downloadfile/pgapp/c/sub%2Fdata.bin`, { headers: h })
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes))

    const fd2 = new FormData()
    fd2.append('file', new Blob(['shared on pg']), 's.txt')
    await fetch(`${s.url}/apps/fluxshare/uploadfile`, { method: 'POST', headers: h, body: fd2 })
    const token = (await json(await fetch(`${s.url}/apps/fluxshare/sharefile/s.txt`, { headers: h }))).data.token
    assert.equal(await (await fetch(`${s.url}/apps/fluxshare/getfile/s.txt?token=${token}`)).text(), 'shared on pg')
    await fetch(`${s.url}/apps/fluxshare/rename/s.txt/t.txt`, { headers: h })
    assert.equal((await fetch(`${s.url}/apps/fluxshare/getfile/t.txt?token=${token}`)).status, 401)
  })
})
