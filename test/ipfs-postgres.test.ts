/**
 * CAR import and the gateway on PostgreSQL: the same CAR imported by several accounts at
 * once is stored once, every account holds its root, the gateway serves it, and signed URLs
 * use the key kept in the metadata store.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { serviceOrSkip } from './helpers/services.js'
import { serverOnFreshDatabase } from './helpers/pg.js'
import { type TestServer } from './helpers/server.js'
import { json, post } from './helpers/http.js'
import { fixture, gw, importCarHttp, parseCar } from './helpers/ipfs.js'

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL IPFS gateway and CAR')

describe('IPFS gateway and CAR on PostgreSQL', { skip: pgUrl === undefined }, () => {
  let s!: TestServer
  serverOnFreshDatabase(pgUrl as string, {}, server => { s = server })

  test('one CAR imported by three accounts at once: stored once, held by each, served', async () => {
    const car = fixture('trustless_gateway_car/subdir-with-mixed-block-files.car')
    const root = (await parseCar(car)).roots[0]
    const accounts = await Promise.all([1, 2, 3].map(async () => await s.account()))
    const results = await Promise.all(accounts.map(async a => await importCarHttp(s, a.auth, car)))
    assert.deepEqual(results.map(r => r.status), [200, 200, 200])
    for (const a of accounts) {
      const ls = await json(await post(`${s.url}/api/v0/ls`, a.auth))
      assert.deepEqual(ls.files.map((f: { hash: string }) => f.hash), [root])
    }
    const packs = await s.core.metadata.db.selectFrom('packs').select('id').where('root_cid', '=', root).execute()
    assert.equal(packs.length, 1)
    const { res, body } = await gw(s, `/ipfs/${root}/subdir/hello.txt`)
    assert.equal(res.status, 200)
    assert.equal(body.toString(), 'hello world\n')
    const signed = await s.core.gateway.sign(CID.parse(root), 60)
    assert.equal((await gw(s, `/ipfs/${root}/subdir/hello.txt?exp=${signed.exp}&sig=${signed.sig}`)).res.status, 200)
    assert.deepEqual((await s.core.fsck()).problems, [])
  })
})
