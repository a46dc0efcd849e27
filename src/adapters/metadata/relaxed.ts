/**
 * A transaction whose commit must survive a crash of the process but need not survive a
 * power loss, for records that are cheap to lose: a tus upload's segment records (losing
 * the last few only makes the upload resume a little earlier; their packs, without rows,
 * are swept as leftovers). The embedded SQLite commits it without waiting for the disk
 * (synchronous=NORMAL for this transaction: with WAL, the next full commit makes it durable
 * too). That matters because better-sqlite3 waits for the fsync on the event loop: one per
 * 16 MiB tus PATCH held up everything else for ~5 ms. PostgreSQL: synchronous_commit off.
 */
import { sql, type Transaction } from 'kysely'
import type { Database } from './schema.js'
import type { Db } from './open.js'

export async function relaxedTransaction<T> (db: Db, dialect: 'sqlite' | 'postgres', fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (dialect === 'postgres') {
    return await db.transaction().execute(async trx => {
      await sql`SET LOCAL synchronous_commit = off`.execute(trx)
      return await fn(trx)
    })
  }
  // the connection is the store's only one, held for the whole callback: no other commit
  // runs while the setting is relaxed
  return await db.connection().execute(async conn => {
    await sql`PRAGMA synchronous = NORMAL`.execute(conn)
    try {
      return await conn.transaction().execute(fn)
    } finally {
      await sql`PRAGMA synchronous = FULL`.execute(conn)
    }
  })
}
