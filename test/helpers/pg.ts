/** Throw-away PostgreSQL databases for tests, made from the admin URL in CAIRN_TEST_DATABASE_URL. */
import { randomBytes } from 'node:crypto'
import { after, before } from 'node:test'
import pg from 'pg'
import { startServer, type TestServer } from './server.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export interface PgDatabases {
  /** a new, empty database; its URL */
  fresh: () => Promise<{ name: string, url: string }>
  drop: (name: string) => Promise<void>
  /** terminate other sessions on a database (a server restart, as its clients see it) */
  terminate: (name: string) => Promise<void>
  /** drop what is left and disconnect */
  end: () => Promise<void>
}

export function pgDatabases (adminUrl: string): PgDatabases {
  const admin = new pg.Client({ connectionString: adminUrl })
  let connected: Promise<unknown> | undefined
  const made = new Set<string>()
  const ready = async (): Promise<void> => { connected ??= admin.connect(); await connected }
  /**
   * Drop once its connections are gone. Never WITH (FORCE): a closed store's pool finishes
   * disconnecting a moment after close() resolves; waiting a little is enough.
   */
  const drop = async (name: string): Promise<void> => {
    await ready()
    const deadline = Date.now() + 15_000
    for (;;) {
      const r = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])
      if (r.rows[0].n === 0 || Date.now() > deadline) break
      await sleep(20)
    }
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`)
      made.delete(name)
    } catch (err) {
      process.stderr.write(`note: could not drop test database ${name}: ${(err as Error).message}\n`)
    }
  }
  return {
    fresh: async () => {
      await ready()
      const name = `cairn_test_${process.pid}_${randomBytes(6).toString('hex')}`
      await admin.query(`CREATE DATABASE "${name}"`)
      made.add(name)
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return { name, url: url.toString() }
    },
    drop,
    terminate: async (name: string) => {
      await ready()
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])
    },
    end: async () => {
      if (connected === undefined) return
      for (const name of [...made]) await drop(name)
      await admin.end()
    }
  }
}

/**
 * A test server on a fresh PostgreSQL database for the enclosing describe(): made before its
 * tests (`ready` receives it), closed and its database dropped after them.
 */
export function serverOnFreshDatabase (adminUrl: string, env: Record<string, string>, ready: (s: TestServer) => void): void {
  let dbs: PgDatabases | undefined
  let name: string | undefined
  let server: TestServer | undefined
  before(async () => {
    dbs = pgDatabases(adminUrl)
    const db = await dbs.fresh()
    name = db.name
    server = await startServer({ CAIRN_DATABASE_URL: db.url, ...env })
    ready(server)
  })
  after(async () => {
    await server?.close()
    if (name !== undefined) await dbs?.drop(name)
    await dbs?.end()
  })
}
