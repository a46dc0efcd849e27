/**
 * FluidCloud's parts on their own: its configuration, the built-in scanner, clamd URLs and
 * replies, and the operator CLI that makes tenants and keys (used against a running server).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { ConfigError, loadConfig } from '../src/config.js'
import { BuiltinScanner, EICAR } from '../src/adapters/scan/builtin-scanner.js'
import { parseClamdUrl, verdictOf } from '../src/adapters/scan/clamd-scanner.js'
import { cloudHostRewrite } from '../src/http/app.js'
import { cli } from './helpers/process.js'
import { startServer, type TestServer } from './helpers/server.js'
import { PREFIX } from './helpers/fluidcloud.js'

async function * pieces (b: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.byteLength; i += size) yield b.subarray(i, i + size)
}

describe('FluidCloud configuration', () => {
  test('defaults', () => {
    const c = loadConfig({})
    assert.equal(c.cloud.prefix, '/cloud/api/v1')
    assert.equal(c.cloud.host, undefined)
    assert.equal(c.cloud.requestsPerMinute, 600)
    assert.equal(c.cloud.uploadsPerMinute, 300)
    assert.equal(c.cloud.sharesPerMinute, 120)
    assert.deepEqual(c.cloud.linksLimit, { STARTER: 50, STANDARD: 100, ELITE: 500, PRO: -1 })
    assert.equal(c.clamdUrl, undefined)
  })

  test('settings that cannot work are refused at start-up', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ CAIRN_CLOUD_PREFIX: '/api/v1' }, /collides/],
      [{ CAIRN_CLOUD_PREFIX: '/api/v0/x' }, /collides/],
      [{ CAIRN_CLOUD_PREFIX: 'no-slash' }, /must be a path/],
      [{ CAIRN_CLOUD_HOST: 'http://x.example' }, /host name/],
      [{ CAIRN_PLAN_PRO_SHARE_LINKS: '-2' }, />= -1/],
      [{ CAIRN_CLOUD_UPLOAD_URL_SECONDS: '700000' }, /7 days/],
      [{ CAIRN_CLAMD_URL: 'http://127.0.0.1:3310' }, /tcp:\/\/host:port or unix:/],
      [{ CAIRN_SCAN_DENYLIST: 'abc' }, /SHA-256/],
      [{ CAIRN_CLOUD_SIGNING_KEY: 'short' }, /32 characters/]
    ]
    for (const [env, msg] of bad) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && msg.test(e.message), JSON.stringify(env))
    const ok = loadConfig({ CAIRN_CLOUD_HOST: 'API-Cloud.Example.com', CAIRN_CLOUD_PREFIX: '/fc/v1/', CAIRN_CLAMD_URL: 'unix:/run/clamav/clamd.ctl', CAIRN_PLAN_ELITE_SHARE_LINKS: '-1' })
    assert.equal(ok.cloud.host, 'api-cloud.example.com')
    assert.equal(ok.cloud.prefix, '/fc/v1')
    assert.equal(ok.cloud.linksLimit.ELITE, -1)
  })

  test('the host rewrite maps /api/v1 on the cloud host only', () => {
    const rw = cloudHostRewrite('api-cloud.example.com', '/cloud/api/v1')
    assert.ok(rw !== undefined)
    const at = (url: string, host: string): string => rw({ url, headers: { host } })
    assert.equal(at('/api/v1/spaces?limit=2', 'api-cloud.example.com'), '/cloud/api/v1/spaces?limit=2')
    assert.equal(at('/api/v1', 'API-CLOUD.example.com:8443'), '/cloud/api/v1')
    assert.equal(at('/api/v1/spaces', 'other.example.com'), '/api/v1/spaces')
    assert.equal(at('/api/v10/x', 'api-cloud.example.com'), '/api/v10/x')
    assert.equal(at('/healthz', 'api-cloud.example.com'), '/healthz')
    assert.equal(cloudHostRewrite(undefined, '/cloud/api/v1'), undefined)
  })
})

describe('the built-in scanner', () => {
  test('finds the EICAR test file, also split across chunks and inside a larger file', async () => {
    const s = new BuiltinScanner()
    const eicar = Buffer.from(EICAR, 'latin1')
    assert.equal((await s.scan(pieces(eicar, 68))).verdict, 'infected')
    for (const size of [1, 5, 33, 67]) assert.equal((await s.scan(pieces(eicar, size))).verdict, 'infected', String(size))
    const wrapped = Buffer.concat([Buffer.alloc(100_000, 7), eicar, Buffer.alloc(5000, 1)])
    assert.equal((await s.scan(pieces(wrapped, 4096))).verdict, 'infected')
    assert.equal((await s.scan(pieces(Buffer.from(EICAR.slice(0, 60), 'latin1'), 10))).verdict, 'clean')
  })

  test('refuses files on the SHA-256 denylist', async () => {
    const bad = Buffer.from('known bad bytes')
    const s = new BuiltinScanner([createHash('sha256').update(bad).digest('hex').toUpperCase()])
    const v = await s.scan(pieces(bad, 3))
    assert.equal(v.verdict, 'infected')
    assert.match(v.signature ?? '', /^Denylist\.SHA256\./)
    assert.equal((await s.scan(pieces(Buffer.from('other bytes'), 3))).verdict, 'clean')
  })
})

describe('clamd URLs and replies', () => {
  test('parses tcp:// and unix: addresses, refuses others', () => {
    assert.deepEqual(parseClamdUrl('tcp://127.0.0.1:3310'), { kind: 'tcp', host: '127.0.0.1', port: 3310 })
    assert.deepEqual(parseClamdUrl('tcp://[::1]:3310'), { kind: 'tcp', host: '::1', port: 3310 })
    assert.deepEqual(parseClamdUrl('unix:/run/clamav/clamd.ctl'), { kind: 'unix', path: '/run/clamav/clamd.ctl' })
    assert.deepEqual(parseClamdUrl('unix:///run/clamd.sock'), { kind: 'unix', path: '/run/clamd.sock' })
    assert.throws(() => parseClamdUrl('http://x:1'))
  })

  test('reads clamd\'s answers', () => {
    assert.deepEqual(verdictOf('stream: OK'), { verdict: 'clean' })
    assert.deepEqual(verdictOf('stream: Eicar-Signature FOUND'), { verdict: 'infected', signature: 'Eicar-Signature' })
    assert.throws(() => verdictOf('INSTREAM size limit exceeded. ERROR'), /clamd/)
  })
})

describe('cairn cloud (the CLI makes tenants and keys)', () => {
  let s: TestServer
  before(async () => { s = await startServer() })
  after(async () => { await s.close() })

  test('tenant create, key create (live, test, scoped), list and revoke; the keys work at once', async () => {
    const t = cli(s.dataDir, ['cloud', 'tenant', 'create', '--name', 'Acme', '--json'])
    assert.equal(t.status, 0, t.stderr)
    const tenant = JSON.parse(t.stdout)
    const k = cli(s.dataDir, ['cloud', 'key', 'create', '--tenant', tenant.tenant_id, '--scopes', 'spaces:read,quota:read', '--label', 'ci', '--json'])
    assert.equal(k.status, 0, k.stderr)
    const key = JSON.parse(k.stdout)
    assert.match(key.api_key, /^fck_live_[0-9a-f]{64}$/)
    assert.deepEqual(key.scopes, ['spaces:read', 'quota:read'])
    const tk = JSON.parse(cli(s.dataDir, ['cloud', 'key', 'create', '--tenant', tenant.tenant_id, '--test', '--json']).stdout)
    assert.match(tk.api_key, /^fck_test_/)
    const get = async (key: string, path: string): Promise<number> => (await fetch(s.url + PREFIX + path, { headers: { 'x-api-key': key } })).status
    assert.equal(await get(key.api_key, '/spaces'), 200)
    assert.equal(await get(key.api_key, '/files'), 403)
    assert.equal(await get(tk.api_key, '/files'), 200)
    const list = cli(s.dataDir, ['cloud', 'key', 'list', '--tenant', tenant.tenant_id, '--json'])
    assert.ok(!list.stdout.includes(key.api_key))
    assert.equal(JSON.parse(list.stdout).length, 2)
    assert.equal(cli(s.dataDir, ['cloud', 'key', 'revoke', key.key_id]).status, 0)
    assert.equal(await get(key.api_key, '/spaces'), 401)
    const badScope = cli(s.dataDir, ['cloud', 'key', 'create', '--tenant', tenant.tenant_id, '--scopes', 'files:delete'])
    assert.equal(badScope.status, 2)
    assert.match(badScope.stderr, /unknown scope/)
    assert.equal(cli(s.dataDir, ['cloud', 'key', 'create', '--tenant', '00000000-0000-4000-8000-000000000000']).status, 2)
  })
})
