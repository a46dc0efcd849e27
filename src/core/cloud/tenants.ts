/**
 * FluidCloud tenants and their keys. A tenant is two accounts: its live environment and its
 * test environment, so test data can never mix with live data (every query of the API is by
 * account). Keys (`fck_live_…` / `fck_test_…` + 32 random bytes as hex) belong to one
 * environment, carry scopes, are shown once and stored as SHA-256. They live in their own
 * table, not api_keys: a scoped FluidCloud key is not a key of the other dialects. Keys are
 * made by the operator CLI, never through the API.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Db } from '../../adapters/metadata/open.js'
import type { Account, Accounts } from '../accounts.js'
import { CairnError, invalid, notFound } from '../errors.js'

export const CLOUD_SCOPES = [
  'spaces:read', 'spaces:write', 'folders:read', 'folders:write', 'files:read', 'files:write',
  'shares:read', 'shares:write', 'quota:read'
] as const
export type CloudScope = typeof CLOUD_SCOPES[number]
export type CloudEnv = 'live' | 'test'

export interface Tenant { id: string, name: string, liveAccountId: string, testAccountId: string, createdAt: number }

export interface CloudKeyInfo {
  id: string
  tenantId: string
  env: CloudEnv
  label: string
  prefix: string
  scopes: CloudScope[]
  createdAt: number
  lastUsedAt: number | null
  revokedAt: number | null
}

/** who is calling: the environment's account is the partition every query is scoped to */
export interface CloudPrincipal {
  tenant: Tenant
  env: CloudEnv
  account: Account
  key: CloudKeyInfo
}

const KEY_RE = /^fck_(live|test)_[0-9a-f]{64}$/

function hash (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export function parseScopes (raw: string | string[]): CloudScope[] {
  const list = (Array.isArray(raw) ? raw : raw.split(',')).map(s => s.trim()).filter(s => s.length > 0)
  if (list.length === 1 && (list[0] === '*' || list[0] === 'all')) return [...CLOUD_SCOPES]
  const bad = list.filter(s => !(CLOUD_SCOPES as readonly string[]).includes(s))
  if (bad.length > 0) throw invalid(`unknown scope ${bad.join(', ')} (scopes: ${CLOUD_SCOPES.join(', ')}, or "all")`)
  if (list.length === 0) throw invalid('a key needs at least one scope')
  return [...new Set(list)] as CloudScope[]
}

type TenantRow = { id: string, name: string, live_account_id: string, test_account_id: string, created_at: number }
const toTenant = (r: TenantRow): Tenant => ({ id: r.id, name: r.name, liveAccountId: r.live_account_id, testAccountId: r.test_account_id, createdAt: r.created_at })

export class CloudTenants {
  constructor (private readonly db: Db, private readonly accounts: Accounts) {}

  /** a tenant on `plan` (both environments), each with its own quota */
  async create (input: { name: string, plan?: string, email?: string, capacityBytes?: number }): Promise<Tenant> {
    const name = input.name.trim()
    if (name.length === 0 || name.length > 200) throw invalid('tenant name must be 1 to 200 characters')
    const plan = input.plan ?? 'ELITE'
    const live = await this.accounts.create({ plan, email: input.email, capacityBytes: input.capacityBytes })
    const test = await this.accounts.create({ plan, capacityBytes: input.capacityBytes })
    const row: TenantRow = { id: randomUUID(), name, live_account_id: live.id, test_account_id: test.id, created_at: Date.now() }
    await this.db.insertInto('cloud_tenants').values(row).execute()
    return toTenant(row)
  }

  async get (id: string): Promise<Tenant> {
    const r = await this.db.selectFrom('cloud_tenants').selectAll().where('id', '=', id).executeTakeFirst()
    if (r === undefined) throw notFound(`tenant ${id} not found`)
    return toTenant(r)
  }

  async list (): Promise<Tenant[]> {
    return (await this.db.selectFrom('cloud_tenants').selectAll().orderBy('created_at').execute()).map(toTenant)
  }

  /** make a key; the secret is in the answer and nowhere else */
  async createKey (tenantId: string, opts: { env?: CloudEnv, scopes?: CloudScope[], label?: string } = {}): Promise<{ key: string, info: CloudKeyInfo }> {
    const tenant = await this.get(tenantId)
    const env = opts.env ?? 'live'
    const label = (opts.label ?? 'default').trim()
    if (label.length === 0 || label.length > 64) throw invalid('key label must be 1 to 64 characters')
    const key = `fck_${env}_${randomBytes(32).toString('hex')}`
    const info: CloudKeyInfo = {
      id: randomUUID(),
      tenantId,
      env,
      label,
      prefix: key.slice(0, 17),
      scopes: opts.scopes ?? [...CLOUD_SCOPES],
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null
    }
    await this.db.insertInto('cloud_keys').values({
      id: info.id,
      tenant_id: tenantId,
      account_id: env === 'live' ? tenant.liveAccountId : tenant.testAccountId,
      env,
      label,
      prefix: info.prefix,
      key_hash: hash(key),
      scopes: JSON.stringify(info.scopes),
      created_at: info.createdAt,
      last_used_at: null,
      revoked_at: null
    }).execute()
    return { key, info }
  }

  async listKeys (tenantId?: string): Promise<CloudKeyInfo[]> {
    let q = this.db.selectFrom('cloud_keys').selectAll().orderBy('created_at')
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId)
    return (await q.execute()).map(r => ({
      id: r.id, tenantId: r.tenant_id, env: r.env as CloudEnv, label: r.label, prefix: r.prefix,
      scopes: JSON.parse(r.scopes) as CloudScope[], createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at
    }))
  }

  async revokeKey (keyId: string): Promise<void> {
    const r = await this.db.updateTable('cloud_keys').set({ revoked_at: Date.now() }).where('id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst()
    if (Number(r.numUpdatedRows) === 0) throw notFound(`key ${keyId} not found or already revoked`)
  }

  /** a presented key to its principal; unknown and revoked keys are alike unauthenticated */
  async authenticate (key: string): Promise<CloudPrincipal> {
    if (!KEY_RE.test(key)) throw new CairnError('unauthenticated', 'Invalid API key')
    const r = await this.db.selectFrom('cloud_keys').innerJoin('cloud_tenants', 'cloud_tenants.id', 'cloud_keys.tenant_id')
      .select(['cloud_keys.id', 'cloud_keys.tenant_id', 'cloud_keys.account_id', 'cloud_keys.env', 'cloud_keys.label', 'cloud_keys.prefix',
        'cloud_keys.scopes', 'cloud_keys.created_at', 'cloud_keys.last_used_at', 'cloud_keys.revoked_at',
        'cloud_tenants.name', 'cloud_tenants.live_account_id', 'cloud_tenants.test_account_id', 'cloud_tenants.created_at as tenant_created_at'])
      .where('cloud_keys.key_hash', '=', hash(key)).executeTakeFirst()
    if (r === undefined || r.revoked_at !== null) throw new CairnError('unauthenticated', 'Invalid API key')
    const now = Date.now()
    if (r.last_used_at === null || now - r.last_used_at > 60_000) {
      await this.db.updateTable('cloud_keys').set({ last_used_at: now }).where('id', '=', r.id).execute()
    }
    const account = await this.accounts.get(r.account_id)
    return {
      tenant: { id: r.tenant_id, name: r.name, liveAccountId: r.live_account_id, testAccountId: r.test_account_id, createdAt: r.tenant_created_at },
      env: r.env as CloudEnv,
      account,
      key: {
        id: r.id, tenantId: r.tenant_id, env: r.env as CloudEnv, label: r.label, prefix: r.prefix,
        scopes: JSON.parse(r.scopes) as CloudScope[], createdAt: r.created_at, lastUsedAt: now, revokedAt: null
      }
    }
  }
}
