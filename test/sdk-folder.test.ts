/**
 * @cairn/sdk folder uploads (files.uploadFolder over FluxDrive's putfolder), with an email
 * account's key as a Bearer token, plus health() and gatewayOrigin().
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deterministicBytes } from './helpers/data.js'
import { expectedFolderCid } from './helpers/folder-cid.js'
import { freshEmail, PASSWORD } from './helpers/gateway.js'
import { startServer, type TestServer } from './helpers/server.js'
import { AuthError, CairnClient, type Progress } from '../packages/sdk/src/index.js'
import { folderFromPath } from '../packages/sdk/src/node.js'

describe('@cairn/sdk: folders', () => {
  let s: TestServer
  let tmp: string
  let dir: string
  before(async () => {
    s = await startServer({ CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0', CAIRN_GATEWAY_CALLS_PER_HOUR: '0', CAIRN_FILES_ORIGIN: 'https://files.example.net' })
    tmp = await mkdtemp(join(tmpdir(), 'cairn-sdk-folder-'))
    dir = join(tmp, 'site')
    await mkdir(join(dir, 'css', 'deep'), { recursive: true })
    await writeFile(join(dir, 'index.html'), '<h1>hi</h1>\n')
    await writeFile(join(dir, 'css', 'style.css'), 'h1 { color: red }\n')
    await writeFile(join(dir, 'css', 'deep', 'big.bin'), deterministicBytes(1_500_000, 'folder-big'))
    await writeFile(join(dir, 'naïve "résumé".txt'), 'accents\n')
    await writeFile(join(dir, '.hidden'), 'left out, as ipfs add -r does\n')
  })
  after(async () => { await s.close(); await rm(tmp, { recursive: true, force: true }) })

  async function client (): Promise<CairnClient> {
    const { apiKey } = await new CairnClient({ baseUrl: s.url }).keys.register(freshEmail(), PASSWORD)
    return new CairnClient({ baseUrl: s.url, apiKey })
  }

  test('folderFromPath walks the tree like ipfs add -r (sorted, no hidden files)', async () => {
    const entries = await folderFromPath(dir)
    assert.deepEqual(entries.map(e => e.path), ['css/deep/big.bin', 'css/style.css', 'index.html', 'naïve "résumé".txt'])
    assert.deepEqual((await folderFromPath(dir, { hidden: true })).map(e => e.path)[0], '.hidden')
  })

  for (const v of [1, 0] as const) {
    test(`uploadFolder (cid-version ${v}) answers the folder CID of ipfs add -r, and the files inside`, async () => {
      const cairn = await client()
      const seen: Progress[] = []
      const f = await cairn.files.uploadFolder(await folderFromPath(dir), { name: 'site', cidVersion: v, onProgress: p => seen.push(p) })
      assert.equal(f.cid, await expectedFolderCid(dir, v))
      assert.equal(f.name, 'site')
      assert.deepEqual(f.files.map(x => x.path).sort(), ['css/deep/big.bin', 'css/style.css', 'index.html', 'naïve "résumé".txt'])
      assert.equal(seen.at(-1)?.loaded, 1_500_000 + 12 + 18 + 8)
      // one entry in the account's list, a directory
      const list = await cairn.files.list()
      assert.equal(list.files.length, 1)
      assert.equal(list.files[0].original_filename, 'site')
      const v0File = f.files.find(x => x.path === 'css/style.css')?.cid
      if (v === 0 && process.env.CAIRN_TEST_IPFS_CID !== undefined && process.env.CAIRN_TEST_IPFS_CID !== '') {
        // the independent implementation agrees on a file inside
        const out = JSON.parse(execFileSync(process.env.CAIRN_TEST_IPFS_CID, [join(dir, 'css', 'style.css')], { encoding: 'utf8' })) as { CIDv0: string }
        assert.equal(v0File, out.CIDv0)
      }
    })
  }

  test('a wrong key is an AuthError; health and the gateway origin', async () => {
    const bad = new CairnClient({ baseUrl: s.url, apiKey: 'ak_nope' })
    await assert.rejects(bad.files.uploadFolder([{ path: 'a.txt', blob: new Blob(['x']) }]), AuthError)
    // FluxDrive's answer to a bad Bearer key is its usual 401
    const res = await fetch(`${s.url}/api/v0/status`, { method: 'POST', headers: { authorization: 'Bearer ak_nope' } })
    assert.equal(res.status, 401)
    assert.deepEqual(await res.json(), { error: 'Invalid credentials' })
    const cairn = await client()
    assert.equal(await cairn.files.gatewayOrigin(), 'https://files.example.net')
    const h = await cairn.health()
    assert.equal(h.ok, true)
    assert.equal(h.status, 'ok')
  })
})
