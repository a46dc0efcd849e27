/**
 * Accounts (tenants), their plans and API keys. Keys are 256-bit random secrets: shown once,
 * stored as SHA-256 (a fast hash is right for high-entropy secrets; a password hash is not
 * needed and would make every request slow), revocable, optionally expiring.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Config, PlanConfig, PlanName } from '../config.js'
import { PLAN_NAMES } from '../config.js'
import type { Db } from '../adapters/metadata/open.js'
import { CairnError, invalid, notFound } from './errors.js'

export interface Account {
  id: string
  zelid: string | null
  email: string | null
  plan: PlanName
  planLimits: PlanConfig
  capacityBytes: number
  active: boolean
  role: 'user' | 'admin'
  createdAt: number
}

export interface ApiKeyInfo {
  id: string
  accountId: string
  name: string
  prefix: string
  scopes: string[]
  createdAt: number
  expiresAt: number | null
  lastUsedAt: number | null
  revokedAt: number | null
}

export interface Principal {
  account: Account
  keyId: string
  scopes: string[]
  /** a session key from a password login (the gateway gives these their own call budget) */
  session: boolean
}

const KEY_PREFIX = 'cairn_'
/** what may precede a key's secret part: a short tag such as `cairn_` or the gateway's `ak_` */
const KEY_PREFIX_RE = /^[a-z][a-z0-9]{0,15}_$/
export const MAX_KEYS_PER_ACCOUNT = 10
/** A ZelID is a Bitcoin-style address; 0x... Ethereum addresses are accepted for wallet users too. */
const ZELID_RE = /^(?:[13][a-km-zA-HJ-NP-Z1-9]{25,34}|bc1[02-9ac-hj-np-z]{11,71}|0x[0-9a-fA-F]{40})$/
export const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{1,63}$/

export function hashKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

function isPlan (p: string): p is PlanName {
  return (PLAN_NAMES as readonly string[]).includes(p)
}

type AccountRow = {
  id: string, zelid: string | null, email: string | null, plan: string, capacity_bytes: number | null,
  active: number, role: string, created_at: number
}

/** how long an authenticated key is trusted without asking the store again (see authenticate) */
const AUTH_CACHE_MS = 2000
const AUTH_CACHE_MAX = 10_000

type KeyRow = AccountRow & { key_id: string, scopes: string, session: number, expires_at: number | null, revoked_at: number | null, last_used_at: number | null }

export class Accounts {
  /** key hash -> its row, as read at `at` (store version `version`) */
  private readonly keyCache = new Map<string, { row: KeyRow, at: number, version: number | undefined }>()
  /** bumped by every change to keys or accounts made here, so a lookup racing one is not cached */
  private generation = 0

  /** `changedElsewhere`: the metadata store's counter of other processes' commits, if it has one */
  constructor (private readonly db: Db, private readonly config: Config, private readonly changedElsewhere?: () => number) {}

  /**
   * Forget every cached key: a key or an account changed. Whoever revokes keys or changes
   * accounts without going through this class (self-service renewal) calls it before and
   * after its transaction.
   */
  keysChanged (): void {
    this.generation++
    this.keyCache.clear()
  }

  private toAccount (r: AccountRow): Account {
    const plan = isPlan(r.plan) ? r.plan : 'STARTER'
    const planLimits = this.config.plans[plan]
    return {
      id: r.id,
      zelid: r.zelid,
      email: r.email,
      plan,
      planLimits,
      capacityBytes: r.capacity_bytes ?? planLimits.capacityBytes,
      active: r.active === 1,
      role: r.role === 'admin' ? 'admin' : 'user',
      createdAt: r.created_at
    }
  }

  async create (input: { plan?: string, zelid?: string, email?: string, capacityBytes?: number, role?: 'user' | 'admin', active?: boolean }): Promise<Account> {
    const plan = (input.plan ?? 'STARTER').toUpperCase()
    if (!isPlan(plan)) throw invalid(`unknown plan "${input.plan}" (one of ${PLAN_NAMES.join(', ')})`)
    if (input.zelid !== undefined && !ZELID_RE.test(input.zelid)) throw invalid(`not a ZelID or 0x address: "${input.zelid}"`)
    if (input.email !== undefined && !EMAIL_RE.test(input.email)) throw invalid(`not an email address: "${input.email}"`)
    if (input.capacityBytes !== undefined && (!Number.isSafeInteger(input.capacityBytes) || input.capacityBytes < 0)) throw invalid('capacity must be a non-negative size')
    const row: AccountRow = {
      id: randomUUID(),
      zelid: input.zelid ?? null,
      email: input.email?.toLowerCase() ?? null,
      plan,
      capacity_bytes: input.capacityBytes ?? null,
      active: input.active === false ? 0 : 1,
      role: input.role ?? 'user',
      created_at: Date.now()
    }
    try {
      await this.db.insertInto('accounts').values(row).execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new CairnError('conflict', 'an account with this ZelID or email already exists')
      throw err
    }
    return this.toAccount(row)
  }

  async get (id: string): Promise<Account> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
    if (r === undefined) throw notFound(`account ${id} not found`)
    return this.toAccount(r)
  }

  async findByEmail (email: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst()
    return r === undefined ? undefined : this.toAccount(r)
  }

  async findByZelid (zelid: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('zelid', '=', zelid).executeTakeFirst()
    return r === undefined ? undefined : this.toAccount(r)
  }

  async list (): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().orderBy('created_at').execute()
    return rows.map(r => this.toAccount(r))
  }

  async update (id: string, patch: { active?: boolean, plan?: string, capacityBytes?: number | null }): Promise<Account> {
    const set: Partial<AccountRow> = {}
    if (patch.active !== undefined) set.active = patch.active ? 1 : 0
    if (patch.plan !== undefined) {
      const plan = patch.plan.toUpperCase()
      if (!isPlan(plan)) throw invalid(`unknown plan "${patch.plan}" (one of ${PLAN_NAMES.join(', ')})`)
      set.plan = plan
    }
    if (patch.capacityBytes !== undefined) set.capacity_bytes = patch.capacityBytes
    if (Object.keys(set).length > 0) {
      this.keysChanged()
      try {
        const r = await this.db.updateTable('accounts').set(set).where('id', '=', id).executeTakeFirst()
        if (Number(r.numUpdatedRows) === 0) throw notFound(`account ${id} not found`)
      } finally {
        this.keysChanged()
      }
    }
    return await this.get(id)
  }

  /**
   * Create a key; the secret is in the answer and nowhere else, ever. `prefix` tags the key
   * for the dialect that issued it (the gateway's keys are `ak_...`); authentication hashes
   * the whole key, so any of an account's keys works in every dialect.
   */
  async createKey (accountId: string, opts: { name?: string, scopes?: string[], expiresAt?: number | null, prefix?: string, session?: boolean } = {}): Promise<{ key: string, info: ApiKeyInfo }> {
    await this.get(accountId)
    const name = (opts.name ?? 'default').trim()
    if (name.length === 0 || name.length > 64) throw invalid('key name must be 1 to 64 characters')
    if (opts.expiresAt != null && opts.expiresAt <= Date.now()) throw invalid('expiry must be in the future')
    const keyPrefix = opts.prefix ?? KEY_PREFIX
    if (!KEY_PREFIX_RE.test(keyPrefix)) throw invalid('a key prefix is 1 to 16 lowercase letters or digits followed by "_"')
    const key = keyPrefix + randomBytes(32).toString('base64url')
    const info: ApiKeyInfo = {
      id: randomUUID(),
      accountId,
      name,
      prefix: key.slice(0, keyPrefix.length + 8),
      scopes: opts.scopes ?? ['*'],
      createdAt: Date.now(),
      expiresAt: opts.expiresAt ?? null,
      lastUsedAt: null,
      revokedAt: null
    }
    const inTransaction = async (run: (trx: Db) => Promise<void>): Promise<void> => {
      // bootstrapAdmin calls this inside its own transaction
      if (this.db.isTransaction) await run(this.db)
      else await this.db.transaction().execute(async trx => { await run(trx as unknown as Db) })
    }
    await inTransaction(async trx => {
      // lock the account row so concurrent creations count one after another (a no-op write
      // of a non-key column: writing the key would make SQLite check every referencing row)
      await trx.updateTable('accounts').set(eb => ({ used_bytes: eb.ref('used_bytes') })).where('id', '=', accountId).execute()
      const live = await trx.selectFrom('api_keys').select(eb => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId).where('revoked_at', 'is', null)
        .where(eb => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', info.createdAt)]))
        .executeTakeFirstOrThrow()
      if (Number(live.n) >= MAX_KEYS_PER_ACCOUNT) throw new CairnError('conflict', `an account may have at most ${MAX_KEYS_PER_ACCOUNT} keys; revoke one first`)
      await trx.insertInto('api_keys').values({
        id: info.id,
        account_id: accountId,
        name,
        prefix: info.prefix,
        key_hash: hashKey(key),
        scopes: JSON.stringify(info.scopes),
        created_at: info.createdAt,
        expires_at: info.expiresAt,
        last_used_at: null,
        revoked_at: null,
        session: opts.session === true ? 1 : 0
      }).execute()
    })
    return { key, info }
  }

  async listKeys (accountId?: string): Promise<ApiKeyInfo[]> {
    let q = this.db.selectFrom('api_keys').selectAll().orderBy('created_at')
    if (accountId !== undefined) q = q.where('account_id', '=', accountId)
    return (await q.execute()).map(r => ({
      id: r.id,
      accountId: r.account_id,
      name: r.name,
      prefix: r.prefix,
      scopes: JSON.parse(r.scopes) as string[],
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at
    }))
  }

  async revokeKey (keyId: string, accountId?: string): Promise<void> {
    let q = this.db.updateTable('api_keys').set({ revoked_at: Date.now() })
      .where('id', '=', keyId).where('revoked_at', 'is', null)
    if (accountId !== undefined) q = q.where('account_id', '=', accountId)
    this.keysChanged()
    try {
      const r = await q.executeTakeFirst()
      if (Number(r.numUpdatedRows) === 0) throw notFound(`key ${keyId} not found or already revoked`)
    } finally {
      this.keysChanged()
    }
  }

  /**
   * Resolve a presented key to its principal. Unknown, revoked and expired keys are all
   * `unauthenticated`; the check does not depend on the account being active (the dialect
   * decides whether an inactive subscription may still read).
   */
  async authenticate (key: string): Promise<Principal> {
    if (key.length === 0 || key.length > 200) throw new CairnError('unauthenticated', 'Invalid credentials')
    const hash = hashKey(key)
    const r = await this.keyRow(hash)
    const now = Date.now()
    if (r === undefined) throw new CairnError('unauthenticated', 'Invalid credentials')
    // a key that once was valid: dialects may say so (the gateway answers 403 "invalidated")
    if (r.revoked_at !== null) throw new CairnError('unauthenticated', 'Invalid credentials', { reason: 'revoked' })
    if (r.expires_at !== null && r.expires_at <= now) throw new CairnError('unauthenticated', 'Invalid credentials', { reason: 'expired' })
    // last-used is for people, not for security: refresh it at most once a minute per key
    if (r.last_used_at === null || now - r.last_used_at > 60_000) {
      r.last_used_at = now
      await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', r.key_id).execute()
    }
    return { account: this.toAccount(r), keyId: r.key_id, scopes: JSON.parse(r.scopes) as string[], session: Number(r.session) === 1 }
  }

  /**
   * The row of a key and its account. This runs on every request, so a key found is trusted
   * for AUTH_CACHE_MS without another query. Trust ends at once when this process revokes a
   * key or changes an account (`keysChanged`), and when another process (the CLI) commits
   * anything (`changedElsewhere`: SQLite's data_version). A store without such a counter
   * (PostgreSQL, shared by many nodes) is asked every time, so that a key revoked on one
   * node is refused by every node at once. Unknown keys are never cached.
   */
  private async keyRow (hash: string): Promise<KeyRow | undefined> {
    if (this.changedElsewhere === undefined) return await this.queryKeyRow(hash)
    const version = this.changedElsewhere()
    const hit = this.keyCache.get(hash)
    if (hit !== undefined && Date.now() - hit.at < AUTH_CACHE_MS && hit.version === version) return hit.row
    if (hit !== undefined) this.keyCache.delete(hash)
    const generation = this.generation
    const r = await this.queryKeyRow(hash)
    if (r !== undefined && generation === this.generation) {
      if (this.keyCache.size >= AUTH_CACHE_MAX) this.keyCache.delete(this.keyCache.keys().next().value as string)
      this.keyCache.set(hash, { row: r, at: Date.now(), version })
    }
    return r
  }

  private async queryKeyRow (hash: string): Promise<KeyRow | undefined> {
    return await this.db.selectFrom('api_keys').innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
      .select([
        'api_keys.id as key_id', 'api_keys.scopes', 'api_keys.session', 'api_keys.expires_at', 'api_keys.revoked_at', 'api_keys.last_used_at',
        'accounts.id', 'accounts.zelid', 'accounts.email', 'accounts.plan', 'accounts.capacity_bytes', 'accounts.active',
        'accounts.role', 'accounts.created_at'
      ])
      .where('api_keys.key_hash', '=', hash).executeTakeFirst()
  }

  /** The first start of a fresh store makes an admin account and key; later starts do not. */
  async bootstrapAdmin (): Promise<{ account: Account, key: string } | undefined> {
    const existing = await this.db.selectFrom('meta').select('value').where('key', '=', 'bootstrap_admin').executeTakeFirst()
    if (existing !== undefined) return undefined
    return await this.db.transaction().execute(async trx => {
      const claimed = await trx.insertInto('meta').values({ key: 'bootstrap_admin', value: String(Date.now()) })
        .onConflict(oc => oc.column('key').doNothing()).executeTakeFirst()
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) return undefined
      const accounts = new Accounts(trx as unknown as Db, this.config)
      const account = await accounts.create({ plan: 'PRO', role: 'admin' })
      const { key } = await accounts.createKey(account.id, { name: 'bootstrap admin' })
      return { account, key }
    })
  }
}

export function isUniqueViolation (err: unknown): boolean {
  const e = err as { code?: string, message?: string }
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
