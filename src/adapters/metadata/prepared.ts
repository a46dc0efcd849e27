/**
 * A query built and compiled once, then run with new arguments. Kysely builds and compiles
 * its operation tree on every call (for a query with nested EXISTS, more CPU than SQLite
 * takes to run it from a cached prepared statement); a query on a hot path (the gateway's
 * policy check, once per request) can skip that. The query is compiled with placeholder
 * arguments, and each run substitutes the real ones where the placeholders are in the
 * compiled parameter list, so the SQL text is the same for every run (SQLite keeps its
 * prepared statement, see open.ts; PostgreSQL gets the same $n parameters).
 */
import { CompiledQuery, type Compilable } from 'kysely'
import type { Db } from './open.js'

const placeholder = (i: number): string => `\u0000prepared-argument-${i}\u0000`

export interface PreparedQuery<R> {
  /** the rows for these arguments (as many as the build function takes) */
  rows: (db: Db, args: readonly string[]) => Promise<R[]>
}

/** `build` makes the query from its string arguments; `arity`: how many it takes. */
export function preparedQuery<R> (arity: number, build: (db: Db, args: readonly string[]) => Compilable<R>): PreparedQuery<R> {
  const compiled = new WeakMap<Db, { sql: string, slots: Array<number | { value: unknown }> }>()
  const compile = (db: Db): { sql: string, slots: Array<number | { value: unknown }> } => {
    let c = compiled.get(db)
    if (c === undefined) {
      const args = Array.from({ length: arity }, (_, i) => placeholder(i))
      const q = build(db, args).compile()
      const slots = q.parameters.map(p => {
        const i = args.indexOf(p as string)
        return i >= 0 ? i : { value: p }
      })
      for (let i = 0; i < arity; i++) {
        if (!slots.includes(i)) throw new Error(`prepared query: argument ${i} is not a parameter of ${q.sql}`)
      }
      c = { sql: q.sql, slots }
      compiled.set(db, c)
    }
    return c
  }
  return {
    rows: async (db, args) => {
      if (args.length !== arity) throw new Error(`prepared query: ${arity} arguments expected, got ${args.length}`)
      const c = compile(db)
      const parameters = c.slots.map(s => typeof s === 'number' ? args[s] : s.value)
      const result = await db.executeQuery<R>(CompiledQuery.raw(c.sql, parameters))
      return result.rows
    }
  }
}
