/**
 * CIDs against an independent implementation: `ipfs_cid` (Debian's ipfs-cid, a separate
 * implementation of Kubo's default add) for unixfs-v0-2015, across the chunk and tree
 * boundaries where implementations differ. Files go through the real FluxDrive put.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serviceOrSkip } from './helpers/services.js'
import { deterministicBytes } from './helpers/data.js'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'

const CHUNK = 256 * 1024

const tool = serviceOrSkip('CAIRN_TEST_IPFS_CID', 'ipfs_cid (independent CID oracle)')

describe('CIDv0 matches an independent implementation of ipfs add', { skip: tool === undefined }, () => {
  let s: TestServer
  let dir: string
  let auth: string
  before(async () => {
    s = await startServer()
    auth = (await s.account({ plan: 'PRO' })).auth
    dir = await mkdtemp(join(tmpdir(), 'cairn-cid-'))
  })
  after(async () => {
    await s.close()
    await rm(dir, { recursive: true, force: true })
  })

  const cases: Array<[string, number]> = [
    ['empty', 0],
    ['one byte', 1],
    ['one chunk less one', CHUNK - 1],
    ['exactly one chunk', CHUNK],
    ['one chunk plus one', CHUNK + 1],
    ['174 chunks (one full level)', 174 * CHUNK],
    ['174 chunks plus one (a second level)', 174 * CHUNK + 1],
    ['odd size', 3_333_333]
  ]
  for (const [name, size] of cases) {
    test(`${name} (${size} bytes)`, async () => {
      const data = deterministicBytes(size, name)
      const file = join(dir, `f-${size}`)
      await writeFile(file, data)
      // it prints {"CIDv0": ..., "CIDv1": ...} (v1: the same dag-pb DAG, spelled as CIDv1)
      const expected = (JSON.parse(execFileSync(tool as string, [file], { encoding: 'utf8' })) as { CIDv0: string }).CIDv0
      assert.match(expected, /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/)
      const res = await json(await post(`${s.url}/api/v0/put`, auth, form([{ name, data }])))
      assert.equal(res.files[0].hash, expected)
      assert.equal(res.files[0].size, size)
      // and the bytes come back unchanged
      const cat = Buffer.from(await (await post(`${s.url}/api/v0/cat?arg=${expected}`, auth)).arrayBuffer())
      assert.ok(cat.equals(data))
    })
  }
})

describe('well-known CIDs', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })
  test('hello world and the empty file, v0 and v1', async () => {
    const { auth } = await s.account()
    const v0 = await json(await post(`${s.url}/api/v0/put`, auth, form([{ name: 'a', data: 'hello world\n' }, { name: 'b', data: '' }])))
    assert.deepEqual(v0.files.map((f: { hash: string }) => f.hash), ['QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o', 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'])
    const v1 = await json(await post(`${s.url}/api/v0/put?cid-version=1`, auth, form([{ name: 'a', data: 'hello world\n' }, { name: 'b', data: '' }])))
    // raw leaves: the CID of the bytes themselves (checked with python's hashlib + base32 by hand)
    assert.deepEqual(v1.files.map((f: { hash: string }) => f.hash), ['bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'])
  })
})
