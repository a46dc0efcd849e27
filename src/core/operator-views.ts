/** How accounts and keys look to operators, in the CLI's JSON and the admin API alike. */
import type { Account, ApiKeyInfo } from './accounts.js'

export interface AccountView {
  account_id: string
  zelid: string | null
  email: string | null
  plan: string
  capacity_bytes: number
  active: boolean
  role: string
  created_at: string
}

export interface KeyView {
  key_id: string
  account_id: string
  name: string
  prefix: string
  scopes: string[]
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked: boolean
}

const iso = (t: number | null): string | null => t === null ? null : new Date(t).toISOString()

export function accountView (a: Account): AccountView {
  return {
    account_id: a.id, zelid: a.zelid, email: a.email, plan: a.plan, capacity_bytes: a.capacityBytes,
    active: a.active, role: a.role, created_at: new Date(a.createdAt).toISOString()
  }
}

export function keyView (k: ApiKeyInfo): KeyView {
  return {
    key_id: k.id, account_id: k.accountId, name: k.name, prefix: k.prefix, scopes: k.scopes,
    created_at: new Date(k.createdAt).toISOString(),
    expires_at: iso(k.expiresAt),
    last_used_at: iso(k.lastUsedAt),
    revoked: k.revokedAt !== null
  }
}
