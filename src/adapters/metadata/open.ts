/**
 * Open the metadata store: the embedded SQLite file (WAL) under the data dir, or PostgreSQL
 * when a database URL is configured. Both run the same migrations and the same queries.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import type { Database } from './schema.js'
import { migrate } from './migrations.js'

export type Db = Kysely<Database>

export interface MetadataStore {
  db: Db
  dialect: 'sqlite' | 'postgres'
  close: () => Promise<void>
}

export async function openMetadataStore (opts: { dataDir: string, databaseUrl?: string }): Promise<MetadataStore> {
  let store: MetadataStore
  if (opts.databaseUrl !== undefined) {
    const pg = (await import('pg')).default
    // bigint (int8) columns hold sizes and timestamps well inside 2^53: read them as numbers
    pg.types.setTypeParser(20, (v: string) => Number(v))
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    store = { db, dialect: 'postgres', close: async () => { await db.destroy() } }
  } else {
    const Sqlite = (await import('better-sqlite3')).default
    mkdirSync(opts.dataDir, { recursive: true })
    const file = new Sqlite(join(opts.dataDir, 'cairn.db'))
    file.pragma('journal_mode = WAL')
    file.pragma('synchronous = FULL') // an acknowledged commit survives power loss, not only a crash
    file.pragma('busy_timeout = 10000') // the CLI and the server share the file
    file.pragma('foreign_keys = ON')
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) })
    store = { db, dialect: 'sqlite', close: async () => { await db.destroy() } }
  }
  await migrate(store.db)
  return store
}
