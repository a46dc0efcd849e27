/**
 * The metadata port's behaviour suite: one body, run against the embedded SQLite store
 * always and against PostgreSQL when CAIRN_TEST_DATABASE_URL is set. It drives the real
 * domain services built on the store (accounts and keys, the content store and drive over a
 * filesystem blob store, the garbage collector) and checks what users rely on.
 *
 * Every test gets a fresh, empty database: a new SQLite data dir, or a uniquely named
 * PostgreSQL database created for the test and dropped after it, so runs never collide.
 */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CID } from 'multiformats/cid'
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js'
import { openMetadataStore, type MetadataStore } from '../../src/adapters/metadata/open.js'
import { relaxedTransaction } from '../../src/adapters/metadata/relaxed.js'
import type { Database } from '../../src/adapters/metadata/schema.js'
import { sql } from 'kysely'
import { MIGRATION_NAMES, runMigrationUp } from '../../src/adapters/metadata/migrations.js'
import { loadConfig } from '../../src/config.js'
import { Accounts, MAX_KEYS_PER_ACCOUNT, type Account } from '../../src/core/accounts.js'
import { ContentStore } from '../../src/core/content/content-store.js'
import { Drive, type Entry } from '../../src/core/drive.js'
import { CairnError } from '../../src/core/errors.js'
import { fsck } from '../../src/core/fsck.js'
import { collectGarbage } from '../../src/core/gc.js'
import { fakeZelid } from '../helpers/server.js'
import { serviceOrSkip } from '../helpers/services.js'
import { pgDatabases } from '../helpers/pg.js'

/** Where one fresh database lives: what openMetadataStore is given. */
interface Location { dataDir: string, databaseUrl?: string }

export interface MetadataDatabase {
  location: Location
  open: () => Promise<MetadataStore>
  destroy: () => Promise<void>
}

export interface MetadataFactory {
  /** a fresh, empty database (nothing migrated yet) */
  fresh: () => Promise<MetadataDatabase>
  /** cut every server-side connection to the database, as a server restart or failover does (engines with a server only) */
  dropConnections?: (loc: Location) => Promise<void>
  /** tests known to fail on this engine because of a bug in src/, with the reason */
}

const SPACE = 'fluxdrive'
const OPEN_MODULE = new URL('../../src/adapters/metadata/open.js', import.meta.url).href

function code (expected: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CairnError, `expected a CairnError, got ${String(err)}`)
    assert.equal(err.code, expected, `error code (message: ${err.message})`)
    return true
  }
}

async function * once (bytes: Uint8Array): AsyncIterable<Uint8Array> { yield bytes }

/** Open the store in a separate node process, as a second server or the CLI would. */
async function openInChild (loc: Location): Promise<{ status: number | null, output: string }> {
  const script = `
    const { openMetadataStore } = await import(${JSON.stringify(OPEN_MODULE)})
    const s = await openMetadataStore(JSON.parse(process.argv[1]))
    await s.db.selectFrom('accounts').select('id').execute()
    await s.close()
    process.stdout.write('opened')
  `
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(loc)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.on('error', reject)
    child.on('close', status => { resolve({ status, output }) })
  })
}

/**
 * A process holding an open, idle store has its connections cut (by `cut`); it must survive
 * and serve the next query on fresh connections.
 */
async function survivesLostConnections (loc: Location, cut: () => Promise<void>): Promise<{ status: number | null, output: string }> {
  const script = `
    const { openMetadataStore } = await import(${JSON.stringify(OPEN_MODULE)})
    const s = await openMetadataStore(JSON.parse(process.argv[1]))
    await s.db.selectFrom('accounts').select('id').execute()
    process.stdout.write('ready\\n')
    await new Promise(resolve => process.stdin.once('data', resolve))
    await new Promise(resolve => setTimeout(resolve, 300))
    await s.db.selectFrom('accounts').select('id').execute()
    await s.close()
    process.stdout.write('survived')
    process.exit(0)
  `
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(loc)], { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    let cutDone = false
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
      if (!cutDone && output.includes('ready')) {
        cutDone = true
        cut().then(() => { child.stdin.write('go\n') }, reject)
      }
    })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.on('error', reject)
    child.on('close', status => { resolve({ status, output }) })
  })
}

/** The real domain services over one store, with a filesystem blob store in a temp dir. */
interface World {
  /** the database, to open a second connection to it (as another process would) */
  database: MetadataDatabase
  config: ReturnType<typeof loadConfig>
  store: MetadataStore
  accounts: Accounts
  blobs: FsBlobStore
  content: ContentStore
  drive: Drive
  account: (opts?: { capacityBytes?: number }) => Promise<Account>
  put: (account: Account, files: Array<{ name: string, data: Uint8Array }>) => Promise<Entry[]>
  remove: (account: Account, cid: string) => Promise<number>
  gc: (graceMs: number) => ReturnType<typeof collectGarbage>
  bytesOf: (cid: string) => Promise<Buffer>
  count: (table: 'packs' | 'blocks' | 'contents' | 'entries', where?: { column: string, value: string }) => Promise<number>
  blobKeys: () => Promise<string[]>
}

export function metadataSuite (engine: string, factory: MetadataFactory): void {
  describe(`metadata store behaviour: ${engine}`, () => {
    async function withWorld (fn: (w: World) => Promise<void>): Promise<void> {
      const database = await factory.fresh()
      const blobDir = await mkdtemp(join(tmpdir(), 'cairn-meta-blobs-'))
      const store = await database.open()
      const blobs = await new FsBlobStore(blobDir).init()
      const config = loadConfig({ CAIRN_DATA_DIR: database.location.dataDir })
      const accounts = new Accounts(store.db, config, store.changedElsewhere)
      const content = new ContentStore(store.db, blobs)
      const drive = new Drive(store.db, content, { thumbnailMaxSourceBytes: config.thumbnailMaxSourceBytes, thumbnailSize: config.thumbnailSize })
      const w: World = {
        database,
        config,
        store,
        accounts,
        blobs,
        content,
        drive,
        account: async (opts = {}) => await accounts.create({ zelid: fakeZelid(), capacityBytes: opts.capacityBytes }),
        put: async (account, files) => {
          async function * sources (): AsyncIterable<{ filename: string, mimetype: string, content: AsyncIterable<Uint8Array> }> {
            for (const f of files) yield { filename: f.name, mimetype: 'application/octet-stream', content: once(f.data) }
          }
          return await drive.putFiles(account, SPACE, sources(), { profile: 'unixfs-v0-2015', budget: await drive.budgetFor(account) })
        },
        remove: async (account, cid) => await drive.removeByCid(account.id, SPACE, CID.parse(cid)),
        gc: async graceMs => await collectGarbage({ db: store.db, blobs, content }, graceMs),
        bytesOf: async cid => {
          const entry = await content.resolve(CID.parse(cid))
          assert.ok(entry.type === 'file' || entry.type === 'raw')
          const parts: Uint8Array[] = []
          for await (const c of entry.content()) parts.push(c)
          return Buffer.concat(parts)
        },
        count: async (table, where) => {
          let q = store.db.selectFrom(table).select(eb => eb.fn.countAll<number>().as('n'))
          if (where !== undefined) q = q.where(where.column as any, '=', where.value)
          return Number((await q.executeTakeFirstOrThrow()).n)
        },
        blobKeys: async () => {
          const keys: string[] = []
          for await (const b of blobs.list()) keys.push(b.key)
          return keys.sort()
        }
      }
      try {
        await fn(w)
      } finally {
        await content.close()
        await blobs.close()
        await store.close()
        await rm(blobDir, { recursive: true, force: true })
        await database.destroy()
      }
    }

    async function packOf (w: World, cid: string): Promise<{ id: string, blob_key: string }> {
      return await w.store.db.selectFrom('contents').innerJoin('packs', 'packs.id', 'contents.pack_id')
        .select(['packs.id', 'packs.blob_key']).where('contents.cid', '=', cid).executeTakeFirstOrThrow()
    }

    async function releasedAt (w: World, cid: string): Promise<number | null | undefined> {
      const r = await w.store.db.selectFrom('contents').select('released_at').where('cid', '=', cid).executeTakeFirst()
      return r?.released_at
    }

    // ---- migrations ----

    test('migrations: opening a migrated database again changes nothing and keeps its data', async () => {
      const database = await factory.fresh()
      try {
        const first = await database.open()
        const accounts = new Accounts(first.db, loadConfig({ CAIRN_DATA_DIR: database.location.dataDir }))
        const a = await accounts.create({ zelid: fakeZelid(), email: 'Someone@Example.org' })
        await first.close()

        for (let i = 0; i < 2; i++) {
          const again = await database.open()
          const applied = await again.db.selectFrom('kysely_migration' as any).select('name' as any).execute() as Array<{ name: string }>
          assert.deepEqual(applied.map(r => r.name).sort(), MIGRATION_NAMES, 'each migration is recorded once')
          const back = await new Accounts(again.db, loadConfig({ CAIRN_DATA_DIR: database.location.dataDir })).get(a.id)
          assert.equal(back.email, 'someone@example.org')
          await again.close()
        }
      } finally {
        await database.destroy()
      }
    })

    test('a relaxed transaction (tus segment records) commits like any other; a failed one leaves nothing; full durability returns after it', async () => {
      await withWorld(async w => {
        const row = (id: string): Database['meta'] => ({ key: `relaxed-${id}`, value: id })
        await relaxedTransaction(w.store.db, w.store.dialect, async trx => { await trx.insertInto('meta').values(row('a')).execute() })
        await assert.rejects(relaxedTransaction(w.store.db, w.store.dialect, async trx => {
          await trx.insertInto('meta').values(row('b')).execute()
          throw new Error('refused')
        }), /refused/)
        const keys = (await w.store.db.selectFrom('meta').select('key').where('key', 'like', 'relaxed-%').execute()).map(r => r.key)
        assert.deepEqual(keys, ['relaxed-a'])
        if (w.store.dialect === 'sqlite') {
          const r = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(w.store.db)
          assert.equal(Number(r.rows[0].synchronous), 2, 'synchronous is FULL again')
        }
      })
    })

    test('migrations: two openMetadataStore calls at once on a fresh database both succeed', async () => {
      const database = await factory.fresh()
      try {
        const results = await Promise.allSettled([database.open(), database.open()])
        for (const r of results) if (r.status === 'fulfilled') await r.value.close()
        for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '')
        const s = await database.open()
        const applied = await s.db.selectFrom('kysely_migration' as any).select('name' as any).execute()
        assert.equal(applied.length, MIGRATION_NAMES.length)
        await s.close()
      } finally {
        await database.destroy()
      }
    })

    test('migrations: two processes starting at once on a fresh database both succeed', async () => {
      // the race is a matter of timing: try a few fresh databases
      for (let round = 0; round < 3; round++) {
        const database = await factory.fresh()
        try {
          const runs = await Promise.all([openInChild(database.location), openInChild(database.location)])
          for (const r of runs) assert.equal(r.status, 0, `round ${round}: a process failed to open the store:\n${r.output}`)
        } finally {
          await database.destroy()
        }
      }
    })

    test('migrations: 0002 backfills the usage counters of a database made before it', async () => {
      const database = await factory.fresh()
      const blobDir = await mkdtemp(join(tmpdir(), 'cairn-meta-blobs-'))
      const blobs = await new FsBlobStore(blobDir).init()
      const config = loadConfig({ CAIRN_DATA_DIR: database.location.dataDir })
      const driveOver = (st: MetadataStore): Drive => new Drive(st.db, new ContentStore(st.db, blobs), { thumbnailMaxSourceBytes: config.thumbnailMaxSourceBytes, thumbnailSize: config.thumbnailSize })
      try {
        // entries written by the drive: duplicates within an account, in two spaces and a
        // folder, content shared with another account, an account with nothing
        const first = await database.open()
        const accounts = new Accounts(first.db, config)
        const drive = driveOver(first)
        const [a, b, c] = [await accounts.create({}), await accounts.create({}), await accounts.create({})]
        const x = randomBytes(300_000)
        const y = randomBytes(7000)
        const put = async (account: Account, space: string, files: Array<{ name: string, data: Uint8Array }>, folderPath?: string): Promise<void> => {
          async function * sources (): AsyncIterable<{ filename: string, mimetype: string, content: AsyncIterable<Uint8Array> }> {
            for (const f of files) yield { filename: f.name, mimetype: 'application/octet-stream', content: once(f.data) }
          }
          await drive.putFiles(account, space, sources(), { profile: 'unixfs-v0-2015', folderPath, budget: await drive.budgetFor(account) })
        }
        await put(a, SPACE, [{ name: 'x1', data: x }, { name: 'x2', data: x }])
        await put(a, 'other', [{ name: 'x3', data: x }, { name: 'y', data: y }], 'deep/er')
        await put(b, SPACE, [{ name: 'x', data: x }])
        const expected = new Map([[a.id, x.length + y.length], [b.id, x.length], [c.id, 0]])

        // back to the accounts table as it was before 0002, then 0002 runs on it (later
        // migrations stay applied, so the migrator's own bookkeeping cannot be rolled back)
        await first.db.schema.alterTable('accounts').dropColumn('used_bytes').execute()
        const row = await first.db.selectFrom('accounts').selectAll().where('id', '=', a.id).executeTakeFirstOrThrow()
        assert.ok(!('used_bytes' in row), 'the column is gone')
        await runMigrationUp(first.db, '0002_account_used_bytes')
        await first.close()

        const again = await database.open()
        try {
          const d = driveOver(again)
          for (const [id, bytes] of expected) {
            assert.equal(await d.usage(id), bytes, 'the backfilled counter')
            assert.equal(await d.recomputeUsage(id), bytes, 'the entries agree')
          }
          assert.deepEqual((await fsck({ db: again.db, blobs })).problems, [])
        } finally {
          await again.close()
        }
      } finally {
        await blobs.close()
        await rm(blobDir, { recursive: true, force: true })
        await database.destroy()
      }
    })

    // only engines with server connections have connections to lose
    if (factory.dropConnections !== undefined) test('a process with an open store survives the database dropping its connections', async () => {
      const database = await factory.fresh()
      try {
        const setup = await database.open() // migrate first, so only the cut is under test
        await setup.close()
        const cut = factory.dropConnections
        assert.ok(cut !== undefined)
        const r = await survivesLostConnections(database.location, async () => { await cut(database.location) })
        assert.equal(r.status, 0, `the process died:\n${r.output.slice(0, 1500)}`)
        assert.match(r.output, /survived/)
      } finally {
        await database.destroy()
      }
    })

    // ---- accounts ----

    test('accounts: create, get, update and list', async () => {
      await withWorld(async ({ accounts }) => {
        const zelid = fakeZelid()
        const a = await accounts.create({ zelid, email: 'Alice@Example.COM', plan: 'standard' })
        assert.equal(a.zelid, zelid)
        assert.equal(a.email, 'alice@example.com', 'email is kept lower-case')
        assert.equal(a.plan, 'STANDARD')
        assert.equal(a.active, true)
        assert.equal(a.role, 'user')
        assert.equal(a.capacityBytes, a.planLimits.capacityBytes, 'without an override the plan capacity applies')
        assert.deepEqual(await accounts.get(a.id), a)
        assert.deepEqual(await accounts.findByZelid(zelid), a)
        assert.equal(await accounts.findByZelid(fakeZelid()), undefined)

        const b = await accounts.create({ plan: 'PRO', role: 'admin', capacityBytes: 12345, active: false })
        assert.equal(b.zelid, null)
        assert.equal(b.capacityBytes, 12345)
        assert.equal(b.active, false)
        assert.equal(b.role, 'admin')

        const updated = await accounts.update(a.id, { active: false, plan: 'elite', capacityBytes: 999 })
        assert.equal(updated.active, false)
        assert.equal(updated.plan, 'ELITE')
        assert.equal(updated.capacityBytes, 999)
        assert.deepEqual(await accounts.get(a.id), updated, 'the update is stored')
        const reset = await accounts.update(a.id, { active: true, capacityBytes: null })
        assert.equal(reset.active, true)
        assert.equal(reset.capacityBytes, reset.planLimits.capacityBytes, 'clearing the override restores the plan capacity')

        const all = await accounts.list()
        assert.deepEqual(all.map(x => x.id).sort(), [a.id, b.id].sort())
        await assert.rejects(accounts.get('00000000-0000-0000-0000-000000000000'), code('not_found'))
        await assert.rejects(accounts.update('00000000-0000-0000-0000-000000000000', { active: false }), code('not_found'))
        await assert.rejects(accounts.create({ plan: 'GOLD' }), code('invalid_argument'))
      })
    })

    test('accounts: a second account with the same ZelID or email is a conflict', async () => {
      await withWorld(async ({ accounts }) => {
        const zelid = fakeZelid()
        await accounts.create({ zelid, email: 'bob@example.com' })
        await assert.rejects(accounts.create({ zelid }), code('conflict'))
        await assert.rejects(accounts.create({ zelid: fakeZelid(), email: 'BOB@example.com' }), code('conflict'))
        // the failed inserts left nothing behind and the store still works
        assert.equal((await accounts.list()).length, 1)
        const other = await accounts.create({ zelid: fakeZelid(), email: 'carol@example.com' })
        assert.equal((await accounts.get(other.id)).email, 'carol@example.com')
      })
    })

    // ---- API keys ----

    test('keys: a new key authenticates; only a hash of it is stored', async () => {
      await withWorld(async ({ accounts, store, account }) => {
        const a = await account()
        const { key, info } = await accounts.createKey(a.id, { name: 'laptop', scopes: ['read', 'write'] })
        assert.ok(key.length >= 40, 'a long random secret')
        assert.ok(key.startsWith(info.prefix), 'the listed prefix is the start of the key')

        const p = await accounts.authenticate(key)
        assert.equal(p.account.id, a.id)
        assert.equal(p.keyId, info.id)
        assert.deepEqual(p.scopes, ['read', 'write'])

        const row = await store.db.selectFrom('api_keys').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow()
        assert.notEqual(row.key_hash, key)
        assert.ok(!JSON.stringify(row).includes(key), 'the secret appears nowhere in the stored row')
        assert.ok(!JSON.stringify(row).includes(key.slice(info.prefix.length)), 'not even the part after the prefix')
        assert.notEqual(row.last_used_at, null, 'authenticating records when the key was used')

        const listed = await accounts.listKeys(a.id)
        assert.equal(listed.length, 1)
        assert.equal(listed[0].name, 'laptop')
        assert.ok(!JSON.stringify(listed).includes(key), 'listings never show the secret')

        await assert.rejects(accounts.authenticate(key + 'x'), code('unauthenticated'))
        await assert.rejects(accounts.authenticate(''), code('unauthenticated'))
      })
    })

    test('keys: a revoked key is refused; revoking is scoped to the owner', async () => {
      await withWorld(async ({ accounts, account }) => {
        const a = await account()
        const b = await account()
        const { key, info } = await accounts.createKey(a.id)
        await assert.rejects(accounts.revokeKey(info.id, b.id), code('not_found'), 'another account cannot revoke it')
        assert.equal((await accounts.authenticate(key)).account.id, a.id)

        await accounts.revokeKey(info.id, a.id)
        await assert.rejects(accounts.authenticate(key), code('unauthenticated'))
        await assert.rejects(accounts.revokeKey(info.id, a.id), code('not_found'), 'already revoked')
        const listed = await accounts.listKeys(a.id)
        assert.equal(typeof listed[0].revokedAt, 'number')
      })
    })

    test('keys: a key revoked or an account deactivated by another process is refused (at once on SQLite)', async () => {
      await withWorld(async ({ accounts, account, database, config, store }) => {
        const a = await account()
        const { key, info } = await accounts.createKey(a.id)
        assert.equal((await accounts.authenticate(key)).account.active, true) // cached from here on
        const other = await database.open() // another connection: the CLI, or another server
        try {
          const elsewhere = new Accounts(other.db, config, other.changedElsewhere)
          await elsewhere.update(a.id, { active: false })
          // SQLite sees another connection's commit at once; PostgreSQL servers trust a key
          // for at most 2 s (Accounts' AUTH_CACHE_MS)
          if (store.changedElsewhere === undefined) await sleep(2100)
          assert.equal((await accounts.authenticate(key)).account.active, false)
          await elsewhere.revokeKey(info.id)
          if (store.changedElsewhere === undefined) await sleep(2100)
          await assert.rejects(accounts.authenticate(key), code('unauthenticated'))
        } finally {
          await other.close()
        }
      })
    })

    test('keys: an expired key is refused', async () => {
      await withWorld(async ({ accounts, account }) => {
        const a = await account()
        await assert.rejects(accounts.createKey(a.id, { expiresAt: Date.now() - 1000 }), code('invalid_argument'))
        const expiresAt = Date.now() + 1500
        const { key } = await accounts.createKey(a.id, { expiresAt })
        assert.equal((await accounts.authenticate(key)).account.id, a.id, 'valid before its expiry')
        await sleep(expiresAt - Date.now() + 50)
        await assert.rejects(accounts.authenticate(key), code('unauthenticated'))
      })
    })

    test(`keys: at most ${MAX_KEYS_PER_ACCOUNT} live keys per account; revoked keys do not count`, async () => {
      await withWorld(async ({ accounts, account }) => {
        const a = await account()
        const b = await account()
        const made = []
        for (let i = 0; i < MAX_KEYS_PER_ACCOUNT; i++) made.push(await accounts.createKey(a.id, { name: `k${i}` }))
        await assert.rejects(accounts.createKey(a.id), code('conflict'))
        await accounts.createKey(b.id) // the limit is per account
        await accounts.revokeKey(made[3].info.id)
        const fresh = await accounts.createKey(a.id)
        assert.equal((await accounts.authenticate(fresh.key)).account.id, a.id)
        await assert.rejects(accounts.createKey(a.id), code('conflict'))
        for (const m of made.filter((_, i) => i !== 3)) assert.equal((await accounts.authenticate(m.key)).account.id, a.id)
      })
    })

    test(`keys: creating keys concurrently still stops at ${MAX_KEYS_PER_ACCOUNT}`, async () => {
      await withWorld(async ({ accounts, account }) => {
        const a = await account()
        const results = await Promise.allSettled(Array.from({ length: MAX_KEYS_PER_ACCOUNT + 5 }, async (_, i) => await accounts.createKey(a.id, { name: `k${i}` })))
        const made = results.filter(r => r.status === 'fulfilled').length
        assert.equal(made, MAX_KEYS_PER_ACCOUNT, `${made} keys were created`)
        for (const r of results) if (r.status === 'rejected') code('conflict')(r.reason)
        assert.equal((await accounts.listKeys(a.id)).length, MAX_KEYS_PER_ACCOUNT)
      })
    })

    // ---- content, usage, release and garbage collection ----

    test('content: the same bytes from two accounts are stored once and count for both', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const data = randomBytes(300_000) // more than one chunk: a real multi-block DAG
        const [ea] = await w.put(a, [{ name: 'a.bin', data }])
        const [eb] = await w.put(b, [{ name: 'b.bin', data }])
        assert.ok(ea.cid !== null && ea.cid.startsWith('Qm'))
        assert.equal(eb.cid, ea.cid)
        assert.equal(ea.size, data.length)

        assert.equal(await w.count('packs'), 1, 'one pack row')
        assert.equal(await w.count('contents'), 1)
        assert.equal((await w.blobKeys()).length, 1, 'the second upload\'s pack was discarded')
        assert.equal(await w.count('entries'), 2, 'each account has its own entry')
        assert.equal(await w.drive.usage(a.id), data.length)
        assert.equal(await w.drive.usage(b.id), data.length, 'an account pays for bytes another account stored first')
        assert.deepEqual(await w.bytesOf(ea.cid), data)

        // accounts never see each other's records
        const [onlyA] = await w.put(a, [{ name: 'private.bin', data: randomBytes(1000) }])
        assert.ok(onlyA.cid !== null)
        await w.drive.readable(a.id, CID.parse(onlyA.cid))
        await assert.rejects(w.drive.readable(b.id, CID.parse(onlyA.cid)), code('not_found'))
        const listedB = await w.drive.list(b.id, SPACE, { folderId: '', offset: 0, limit: 100, includeFolders: true })
        assert.deepEqual(listedB.entries.map(e => e.name), ['b.bin'])
      })
    })

    test('content: usage counts each distinct CID once', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const x = randomBytes(5000)
        const y = randomBytes(7000)
        await w.put(a, [{ name: 'x1', data: x }, { name: 'x2', data: x }])
        await w.put(a, [{ name: 'x3', data: x }, { name: 'y', data: y }])
        assert.equal(await w.drive.fileCount(a.id), 4)
        assert.equal(await w.drive.usage(a.id), x.length + y.length)
        const b = await w.account()
        assert.equal(await w.drive.usage(b.id), 0)
      })
    })

    /** The counter and the recomputation from entries both say `expected`. */
    async function expectUsage (w: World, account: Account, expected: number, label: string): Promise<void> {
      assert.equal(await w.drive.recomputeUsage(account.id), expected, `${label}: recomputed from entries`)
      assert.equal(await w.drive.usage(account.id), expected, `${label}: the counter`)
    }

    async function putIn (w: World, account: Account, space: string, files: Array<{ name: string, data: Uint8Array }>, opts: { folderPath?: string, budget?: number } = {}): Promise<Entry[]> {
      async function * sources (): AsyncIterable<{ filename: string, mimetype: string, content: AsyncIterable<Uint8Array> }> {
        for (const f of files) yield { filename: f.name, mimetype: 'application/octet-stream', content: once(f.data) }
      }
      const budget = opts.budget === undefined ? await w.drive.budgetFor(account) : { remaining: opts.budget, maxFileBytes: opts.budget, seen: 0 }
      return await w.drive.putFiles(account, space, sources(), { profile: 'unixfs-v0-2015', folderPath: opts.folderPath, budget })
    }

    test('usage counter: equals the recomputation through new and duplicate CIDs, spaces, folders and rm', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const x = randomBytes(5000)
        const y = randomBytes(7000)
        const z = randomBytes(300_000) // a multi-block DAG
        await expectUsage(w, a, 0, 'a new account')

        const [x1] = await w.put(a, [{ name: 'x1', data: x }, { name: 'x2', data: x }])
        await expectUsage(w, a, x.length, 'one put naming one CID twice')
        await w.put(a, [{ name: 'x3', data: x }, { name: 'y', data: y }])
        await expectUsage(w, a, x.length + y.length, 'a known CID and a new one')
        await putIn(w, a, 'other', [{ name: 'z', data: z }, { name: 'x4', data: x }], { folderPath: 'a/b' })
        await expectUsage(w, a, x.length + y.length + z.length, 'another space, in folders (which count nothing)')
        await w.put(b, [{ name: 'x', data: x }])
        await expectUsage(w, b, x.length, 'the same bytes in another account count for it too')
        await expectUsage(w, a, x.length + y.length + z.length, 'and nothing changes for the first')

        // a directory entry counts its size once too
        async function * tree (): AsyncIterable<{ filename: string, mimetype: string, content: AsyncIterable<Uint8Array> }> {
          yield { filename: 'd/one', mimetype: 'application/octet-stream', content: once(y) }
          yield { filename: 'd/two', mimetype: 'application/octet-stream', content: once(x) }
        }
        const dir1 = await w.drive.putFolder(b, SPACE, tree(), { name: 'd', profile: 'unixfs-v0-2015', budget: await w.drive.budgetFor(b) })
        const dir2 = await w.drive.putFolder(b, SPACE, tree(), { name: 'd again', profile: 'unixfs-v0-2015', budget: await w.drive.budgetFor(b) })
        assert.equal(dir2.entry.cid, dir1.entry.cid)
        assert.ok(dir1.entry.size > 0)
        await expectUsage(w, b, x.length + dir1.entry.size, 'a folder uploaded twice')

        // rm in one space: x is still named in the other space, so it still counts
        assert.equal(await w.remove(a, x1.cid as string), 3)
        await expectUsage(w, a, x.length + y.length + z.length, 'rm of a CID the account still names elsewhere')
        assert.equal(await w.drive.removeByCid(a.id, 'other', CID.parse(x1.cid as string)), 1)
        await expectUsage(w, a, y.length + z.length, 'rm of its last entry')
        await assert.rejects(w.remove(a, x1.cid as string), code('not_found'))
        await expectUsage(w, a, y.length + z.length, 'a failed rm')
        await expectUsage(w, b, x.length + dir1.entry.size, 'the other account keeps paying for x')
        assert.equal(await w.remove(b, dir1.entry.cid as string), 2)
        await expectUsage(w, b, x.length, 'rm of both directory entries')

        // the CID v1 form of a v0 file names the same entries for rm
        const [again] = await w.put(a, [{ name: 'x5', data: x }])
        await expectUsage(w, a, x.length + y.length + z.length, 'x stored again after its rm')
        assert.equal(await w.remove(a, CID.parse(again.cid as string).toV1().toString()), 1)
        await expectUsage(w, a, y.length + z.length, 'rm by the v1 form')

        assert.deepEqual((await fsck({ db: w.store.db, blobs: w.blobs })).problems, [])
      })
    })

    test('usage counter: a commit over capacity rolls back, counter included', async () => {
      await withWorld(async (w) => {
        const a = await w.account({ capacityBytes: 10_000 })
        const x = randomBytes(6000)
        await w.put(a, [{ name: 'x', data: x }])
        // a budget larger than the capacity: the quota check inside the commit has to catch it
        await assert.rejects(putIn(w, a, SPACE, [{ name: 'y', data: randomBytes(6000) }], { budget: 1e9 }), code('quota_exceeded'))
        await expectUsage(w, a, x.length, 'after the refused commit')
        // a duplicate of what it already has adds nothing and is accepted
        await putIn(w, a, SPACE, [{ name: 'x again', data: x }, { name: 'x once more', data: x }], { budget: 1e9 })
        await expectUsage(w, a, x.length, 'duplicates at full capacity')
        assert.equal(await w.drive.fileCount(a.id), 3)
      })
    })

    test('usage counter: concurrent puts and removals of two accounts sharing content stay exact', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const pool = Array.from({ length: 4 }, (_, i) => randomBytes(3000 + 1000 * i))
        const cids: string[] = []
        for (const data of pool) cids.push((await w.put(a, [{ name: 'seed', data }]))[0].cid as string)
        const ops: Array<Promise<unknown>> = []
        for (let i = 0; i < 24; i++) {
          const who = i % 2 === 0 ? a : b
          const p = pool[i % pool.length]
          const q = pool[(i + 1) % pool.length]
          if (i % 6 === 5) {
            ops.push(w.remove(who, cids[i % pool.length]).catch(err => { code('not_found')(err) }))
          } else if (who === a) {
            // several files of one request, two of them naming one CID, one new
            ops.push(w.put(a, [{ name: `p${i}`, data: p }, { name: `q${i}`, data: q }, { name: `p${i}-again`, data: p }, { name: `n${i}`, data: randomBytes(100 + i) }]))
          } else {
            // one CID per request from the other account (content shared with a)
            ops.push(putIn(w, b, i % 4 === 1 ? SPACE : 'other', [{ name: `p${i}`, data: p }]))
          }
        }
        const results = await Promise.allSettled(ops)
        for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '')
        for (const acc of [a, b]) {
          const recomputed = await w.drive.recomputeUsage(acc.id)
          assert.ok(recomputed > 0)
          assert.equal(await w.drive.usage(acc.id), recomputed, 'the counter after concurrent commits')
        }
        assert.deepEqual((await fsck({ db: w.store.db, blobs: w.blobs })).problems, [])
      })
    })

    test('usage counter: rm of a CID racing a put of it into another space stays exact', async () => {
      // the put sees the old entry and adds nothing; the rm must then see the new one and
      // subtract nothing. Both hold the account's row lock, so they cannot interleave.
      await withWorld(async (w) => {
        const a = await w.account()
        const x = randomBytes(3000)
        const [e] = await w.put(a, [{ name: 'x', data: x }])
        const cid = e.cid as string
        for (let round = 0; round < 24; round++) {
          const [there, other] = round % 2 === 0 ? [SPACE, 'other'] : ['other', SPACE]
          // the put imports and syncs its pack before it commits: start the rm at different
          // moments of that, so the two transactions overlap in most rounds
          await Promise.all([
            putIn(w, a, other, [{ name: `x${round}`, data: x }]),
            sleep(round % 8).then(async () => await w.drive.removeByCid(a.id, there, CID.parse(cid)))
          ])
          await expectUsage(w, a, x.length, `round ${round}`)
        }
      })
    })

    test('concurrent multi-file puts of two accounts naming the same CIDs in opposite orders all land', async () => {
      // PostgreSQL: each commit locks the contents rows it revives; taken in request order,
      // [x, y] and [y, x] from two accounts deadlocked (40P01) and the put failed
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const x = randomBytes(3000)
        const y = randomBytes(4000)
        await w.put(a, [{ name: 'x', data: x }, { name: 'y', data: y }])
        for (let round = 0; round < 12; round++) {
          const results = await Promise.allSettled([
            w.put(a, [{ name: 'x', data: x }, { name: 'y', data: y }]),
            w.put(b, [{ name: 'y', data: y }, { name: 'x', data: x }]),
            w.put(a, [{ name: 'y', data: y }, { name: 'x', data: x }]),
            w.put(b, [{ name: 'x', data: x }, { name: 'y', data: y }])
          ])
          for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? `round ${round}: ${String(r.reason)}` : '')
        }
        await expectUsage(w, a, x.length + y.length, 'a')
        await expectUsage(w, b, x.length + y.length, 'b')
        assert.equal(await w.count('contents'), 2)
      })
    })

    test('fsck: reports an account whose usage counter disagrees with its entries; only repairUsage changes it', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const x = randomBytes(4000)
        await w.put(a, [{ name: 'x', data: x }])
        let report = await fsck({ db: w.store.db, blobs: w.blobs })
        assert.equal(report.accounts, 2)
        assert.deepEqual(report.problems, [])

        await w.store.db.updateTable('accounts').set({ used_bytes: 1 }).where('id', '=', a.id).execute()
        await w.store.db.updateTable('accounts').set({ used_bytes: 5 }).where('id', '=', b.id).execute()
        report = await fsck({ db: w.store.db, blobs: w.blobs })
        assert.deepEqual(report.problems.map(p => [p.problem, p.account]).sort(), [['usage_mismatch', a.id], ['usage_mismatch', b.id]].sort())
        assert.match(report.problems.find(p => p.account === a.id)?.detail ?? '', new RegExp(`counter says 1 bytes, entries say ${x.length}`))
        assert.equal(await w.drive.usage(a.id), 1, 'fsck reports and changes nothing')

        assert.deepEqual(await w.drive.repairUsage(a.id), { before: 1, after: x.length })
        assert.deepEqual(await w.drive.repairUsage(b.id), { before: 5, after: 0 })
        assert.deepEqual(await w.drive.repairUsage(b.id), { before: 0, after: 0 })
        await expectUsage(w, a, x.length, 'after the repair')
        assert.deepEqual((await fsck({ db: w.store.db, blobs: w.blobs })).problems, [])
      })
    })

    test('gc: removed content is freed only when no account references it', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const b = await w.account()
        const data = randomBytes(600_000)
        const keep = randomBytes(2000)
        const [shared, kept] = await w.put(a, [{ name: 'shared.bin', data }, { name: 'keep.bin', data: keep }])
        await w.put(b, [{ name: 'same.bin', data }])
        const cid = shared.cid as string
        const pack = await packOf(w, cid)
        const blocks = await w.count('blocks', { column: 'pack_id', value: pack.id })
        assert.ok(blocks > 1)

        // A removes it; B still references it, so nothing is released or freed
        assert.equal(await w.remove(a, cid), 1)
        assert.equal(await releasedAt(w, cid), null)
        await sleep(5)
        let report = await w.gc(0)
        assert.equal(report.contentsFreed, 0)
        assert.equal(await w.count('blocks', { column: 'pack_id', value: pack.id }), blocks)
        assert.ok((await w.blobKeys()).includes(pack.blob_key))
        assert.deepEqual(await w.bytesOf(cid), data, 'B still reads it')
        assert.equal(await w.drive.usage(a.id), keep.length)

        // B removes it too: released, and the collector frees the pack and its block index
        assert.equal(await w.remove(b, cid), 1)
        assert.equal(typeof await releasedAt(w, cid), 'number')
        await sleep(5)
        report = await w.gc(0)
        assert.equal(report.contentsFreed, 1)
        assert.equal(report.packsDeleted, 1)
        assert.equal(await releasedAt(w, cid), undefined, 'the contents row is gone')
        assert.equal(await w.count('packs', { column: 'id', value: pack.id }), 0)
        assert.equal(await w.count('blocks', { column: 'pack_id', value: pack.id }), 0)
        assert.ok(!(await w.blobKeys()).includes(pack.blob_key), 'the pack blob is deleted')
        assert.equal(await w.content.isStored(CID.parse(cid)), false)
        await assert.rejects(w.remove(b, cid), code('not_found'))

        // the other file of A's upload is untouched
        assert.deepEqual(await w.bytesOf(kept.cid as string), keep)
        assert.equal(await w.drive.usage(a.id), keep.length)
        assert.equal(await w.drive.usage(b.id), 0)
      })
    })

    test('gc: a file uploaded again after its release is revived and survives collection', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const data = randomBytes(300_000)
        const [e] = await w.put(a, [{ name: 'f.bin', data }])
        const cid = e.cid as string
        const pack = await packOf(w, cid)
        await w.remove(a, cid)
        assert.equal(typeof await releasedAt(w, cid), 'number')

        const [again] = await w.put(a, [{ name: 'f-again.bin', data }])
        assert.equal(again.cid, cid)
        assert.equal(await releasedAt(w, cid), null, 'the upload revived the released content')
        assert.deepEqual((await packOf(w, cid)), pack, 'the stored pack was reused')
        assert.deepEqual(await w.blobKeys(), [pack.blob_key], 'the redundant new pack was discarded')

        await sleep(5)
        const report = await w.gc(0)
        assert.equal(report.contentsFreed, 0)
        assert.equal(report.packsDeleted, 0)
        assert.deepEqual(await w.blobKeys(), [pack.blob_key])
        assert.deepEqual(await w.bytesOf(cid), data)
        assert.equal(await w.drive.usage(a.id), data.length)
      })
    })

    test('gc: content released but referenced again before collection is kept', async () => {
      await withWorld(async (w) => {
        const a = await w.account()
        const data = randomBytes(3000)
        const [e] = await w.put(a, [{ name: 'f.bin', data }])
        const cid = e.cid as string
        await w.remove(a, cid)
        // an entry that names the CID (as another dialect might add) without clearing released_at
        await w.store.db.insertInto('entries').values({
          id: '11111111-1111-1111-1111-111111111111', space_id: await w.drive.space(a.id, SPACE), account_id: a.id,
          parent_id: '', kind: 'file', name: 'again', cid, size: data.length, mimetype: null,
          thumbnail_cid: null, pinned: 1, created_at: Date.now()
        }).execute()
        await sleep(5)
        const report = await w.gc(0)
        assert.equal(report.contentsFreed, 0)
        assert.equal(await releasedAt(w, cid), null, 'the collector un-released referenced content')
        assert.deepEqual(await w.bytesOf(cid), data)
      })
    })

    // ---- numbers ----

    test('bigint columns come back as exact JS numbers', async () => {
      await withWorld(async (w) => {
        const big = 2 ** 33 + 12345 // above 2^32
        const a = await w.accounts.create({ zelid: fakeZelid(), capacityBytes: big })
        const got = await w.accounts.get(a.id)
        assert.strictEqual(got.capacityBytes, big)
        assert.strictEqual(typeof got.createdAt, 'number')
        assert.ok(got.createdAt > 2 ** 32, 'epoch-ms timestamps are bigints too')
        const { info } = await w.accounts.createKey(a.id, { expiresAt: Date.now() + 3_600_000 })
        const [k] = await w.accounts.listKeys(a.id)
        assert.strictEqual(k.createdAt, info.createdAt)
        assert.strictEqual(k.expiresAt, info.expiresAt)

        const [e] = await w.put(a, [{ name: 'small.bin', data: randomBytes(100) }])
        const cid = e.cid as string
        const pack = await packOf(w, cid)
        // sizes above 2^32 in every bigint column that holds one
        const huge = 6_000_000_123
        await w.store.db.updateTable('packs').set({ size: huge + 1 }).where('id', '=', pack.id).execute()
        await w.store.db.updateTable('contents').set({ size: huge, dag_size: huge + 2 }).where('cid', '=', cid).execute()
        await w.store.db.updateTable('entries').set({ size: huge }).where('cid', '=', cid).execute()
        await w.store.db.updateTable('blocks').set({ offset: huge + 3 }).where('pack_id', '=', pack.id).execute()

        const p = await w.store.db.selectFrom('packs').selectAll().where('id', '=', pack.id).executeTakeFirstOrThrow()
        assert.strictEqual(p.size, huge + 1)
        assert.strictEqual(typeof p.created_at, 'number')
        const c = await w.store.db.selectFrom('contents').selectAll().where('cid', '=', cid).executeTakeFirstOrThrow()
        assert.strictEqual(c.size, huge)
        assert.strictEqual(c.dag_size, huge + 2)
        const b = await w.store.db.selectFrom('blocks').select('offset').where('pack_id', '=', pack.id).executeTakeFirstOrThrow()
        assert.strictEqual(b.offset, huge + 3)
        const listed = await w.drive.list(a.id, SPACE, { folderId: '', offset: 0, limit: 10, includeFolders: false })
        assert.strictEqual(listed.entries[0].size, huge)
        assert.strictEqual(await w.drive.recomputeUsage(a.id), huge, 'the recomputation sums sizes above 2^32 exactly')
        // the rows were changed behind the drive's back: its counter is repaired to match
        assert.deepEqual(await w.drive.repairUsage(a.id), { before: 100, after: huge })
        assert.strictEqual(await w.drive.usage(a.id), huge, 'the counter holds sizes above 2^32 exactly')
        await w.put(a, [{ name: 'more.bin', data: randomBytes(100) }])
        assert.strictEqual(await w.drive.usage(a.id), huge + 100, 'and adds to them exactly')
        assert.strictEqual(await w.drive.recomputeUsage(a.id), huge + 100)
      })
    })
  })
}

// ---- engines ----

metadataSuite('SQLite (embedded)', {
  fresh: async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-meta-'))
    return {
      location: { dataDir },
      open: async () => await openMetadataStore({ dataDir }),
      destroy: async () => { await rm(dataDir, { recursive: true, force: true }) }
    }
  }
})

const pgUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL metadata store')
if (pgUrl !== undefined) {
  const databases = pgDatabases(pgUrl)
  after(async () => { await databases.end() })
  metadataSuite('PostgreSQL', {
    dropConnections: async loc => {
      await databases.terminate(new URL(loc.databaseUrl as string).pathname.slice(1))
    },
    fresh: async () => {
      const { name, url } = await databases.fresh()
      const dataDir = await mkdtemp(join(tmpdir(), 'cairn-meta-pg-'))
      return {
        location: { dataDir, databaseUrl: url },
        open: async () => await openMetadataStore({ dataDir, databaseUrl: url }),
        destroy: async () => {
          await databases.drop(name)
          await rm(dataDir, { recursive: true, force: true })
        }
      }
    }
  })
}
