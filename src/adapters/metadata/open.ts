/**
 * Open the metadata store: the embedded SQLite file (WAL) under the data dir, or PostgreSQL
 * when a database URL is configured. Both run the same migrations and the same queries.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely'
import type BetterSqlite3 from 'better-sqlite3'
import type { Database } from './schema.js'
import { migrate } from './migrations.js'

export type Db = Kysely<Database>

export interface MetadataStore {
  db: Db
  dialect: 'sqlite' | 'postgres'
  /**
   * A number that changes whenever another process (the CLI) commits to the store, read
   * without a query through Kysely; the process's own commits do not change it. SQLite only
   * (its `data_version`); PostgreSQL, where other servers may commit, cannot tell this cheaply.
   */
  changedElsewhere?: () => number
  close: () => Promise<void>
}

const STATEMENT_CACHE = 256

/**
 * Kysely's SQLite driver prepares every query anew; the same few hundred query shapes run
 * again and again, so keep their prepared statements (per connection, most recent last).
 * Kysely runs one query at a time on the connection, so a statement is never in use twice.
 */
function withStatementCache (file: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>()
  return {
    close: () => { cache.clear(); file.close() },
    prepare: (sqlText: string) => {
      let stmt = cache.get(sqlText)
      if (stmt !== undefined) {
        cache.delete(sqlText)
      } else {
        stmt = file.prepare(sqlText)
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string)
      }
      cache.set(sqlText, stmt)
      return stmt
    }
  }
}

/**
 * Opens of one SQLite file in this process, chained: a second BEGIN IMMEDIATE on the same
 * file would block the event loop while the first migration needs it to finish.
 */
const sqliteOpens = new Map<string, Promise<unknown>>()

export async function openMetadataStore (opts: { dataDir: string, databaseUrl?: string, onError?: (err: Error) => void }): Promise<MetadataStore> {
  if (opts.databaseUrl !== undefined) {
    const pg = (await import('pg')).default
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 10,
      // bigint (int8) columns hold sizes and timestamps well inside 2^53: read them as numbers
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser }
    })
    // an idle connection closed by the server (restart, failover) must not crash the process;
    // the pool opens a fresh one on the next query
    pool.on('error', err => { opts.onError?.(err) })
    // and one checked out at that moment (inside a transaction) must not either: the query
    // in flight fails on its own; the event needs a listener
    pool.on('connect', client => { client.on('error', err => { opts.onError?.(err) }) })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    try {
      await migrate(db) // Kysely's PostgreSQL migrator takes an advisory lock
    } catch (err) {
      await db.destroy()
      throw err
    }
    return { db, dialect: 'postgres', close: async () => { await db.destroy() } }
  }

  const Sqlite = (await import('better-sqlite3')).default
  mkdirSync(opts.dataDir, { recursive: true })
  const path = join(opts.dataDir, 'cairn.db')
  const previous = sqliteOpens.get(path) ?? Promise.resolve()
  const opening = previous.catch(() => {}).then(async () => {
    const file = new Sqlite(path)
    file.pragma('journal_mode = WAL')
    file.pragma('synchronous = FULL') // an acknowledged commit survives power loss, not only a crash
    file.pragma('busy_timeout = 10000') // the CLI and the server share the file
    file.pragma('foreign_keys = ON')
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(file) }) })
    try {
      // Kysely's SQLite migrator takes no lock: hold SQLite's write lock across the
      // migration so processes starting together migrate once, one after the other
      file.exec('BEGIN IMMEDIATE')
      try {
        await migrate(db)
        file.exec('COMMIT')
      } catch (err) {
        if (file.inTransaction) file.exec('ROLLBACK')
        throw err
      }
    } catch (err) {
      await db.destroy()
      throw err
    }
    const dataVersion = file.prepare('PRAGMA data_version').pluck()
    return {
      db,
      dialect: 'sqlite' as const,
      changedElsewhere: () => dataVersion.get() as number,
      close: async () => { await db.destroy() }
    }
  })
  sqliteOpens.set(path, opening)
  try {
    return await opening
  } finally {
    if (sqliteOpens.get(path) === opening) sqliteOpens.delete(path)
  }
}
