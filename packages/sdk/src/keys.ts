/** Accounts and keys: the Gateway API's self-service account, and a wallet user's own API keys (/id/apikeys). */
import type { Transport } from './http.js'

export interface AccountStatus {
  email: string
  created_at: string
  file_count: number
  total_size_bytes: number
  plan: string
  capacity_bytes: number
  key_status: string
}
export interface UserKey { id: string, name: string | null, prefix: string, createdAt: number, expiresAt: number | null, lastUsedAt: number | null, revoked: boolean, scopes?: string[], current?: boolean }
/** a password login: a key that expires, shown once */
export interface LoginSession { email: string, apiKey: string, keyId: string, expiresAt: string }
export interface Usage {
  used_bytes: number
  capacity_bytes: number
  file_count: number
  share_links: number
  share_links_max: number
  /** bytes of the account's files by upload day, cumulative (last 90 days) */
  history: Array<{ date: string, bytes: number }>
}

/** a /api/v1/users/keys record as UserKey */
function fromGateway (k: any): UserKey {
  const ms = (v: string | null): number | null => v === null || v === undefined ? null : Date.parse(v)
  return { id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, createdAt: Date.parse(k.created_at), expiresAt: ms(k.expires_at), lastUsedAt: ms(k.last_used_at), revoked: false, current: k.current }
}

type Sig = { signal?: AbortSignal }

export class KeysClient {
  constructor (private readonly t: Transport) {}

  /** a new Gateway account; its `ak_` key is shown this once */
  async register (email: string, password: string, o: Sig = {}): Promise<{ email: string, apiKey: string, createdAt: string }> {
    const r = await this.t.json('POST', '/api/v1/users/register', { auth: 'none', json: { email, password }, signal: o.signal })
    return { email: r.data.email, apiKey: r.data.api_key, createdAt: r.data.created_at }
  }
  async status (o: Sig = {}): Promise<AccountStatus> {
    return (await this.t.json('GET', '/api/v1/users/status', { signal: o.signal })).data
  }
  /** mails a 6-digit code to the account's email */
  async renewChallenge (email: string, o: Sig = {}): Promise<void> {
    await this.t.json('POST', '/api/v1/users/renew/challenge', { auth: 'none', json: { email }, signal: o.signal })
  }
  /** a new key for the code; the account's previous `ak_` keys stop working */
  async renew (email: string, verificationCode: string, o: Sig = {}): Promise<string> {
    return (await this.t.json('POST', '/api/v1/users/renew', { auth: 'none', json: { email, verification_code: verificationCode }, signal: o.signal })).data.api_key
  }

  /**
   * Log in with email and password: a new `ak_` key that expires (12 hours by default, at
   * most 7 days), for a browser or a script. `logout()` revokes it.
   */
  async login (email: string, password: string, opts: { name?: string, expiresIn?: number } & Sig = {}): Promise<LoginSession> {
    const r = await this.t.json('POST', '/api/v1/users/login', { auth: 'none', json: { email, password, name: opts.name, expires_in: opts.expiresIn }, signal: opts.signal })
    return { email: r.data.email, apiKey: r.data.api_key, keyId: r.data.key_id, expiresAt: r.data.expires_at }
  }
  /** revoke the key this client uses (a login's session key, or any other) */
  async logout (o: Sig = {}): Promise<void> {
    await this.t.json('POST', '/api/v1/users/logout', { signal: o.signal })
  }
  /** storage used and its capacity, share links and their cap, and bytes stored by day */
  async usage (o: Sig = {}): Promise<Usage> {
    return (await this.t.json('GET', '/api/v1/users/usage', { signal: o.signal })).data
  }

  /** the account's live keys: with a wallet session, /id/apikeys; with a key, /api/v1/users/keys */
  async list (o: Sig = {}): Promise<UserKey[]> {
    if (this.t.session !== undefined) return (await this.t.json('GET', '/id/apikeys', { auth: 'session', signal: o.signal })).data
    return (await this.t.json('GET', '/api/v1/users/keys', { signal: o.signal })).data.map(fromGateway)
  }
  /** a new key for every dialect (and FluxDrive's Basic auth with a ZelID); `key` is shown once */
  async create (opts: { name?: string, expiresAt?: Date | number, expiresIn?: number, scopes?: string[] } = {}, o: Sig = {}): Promise<UserKey & { key: string, zelid?: string }> {
    if (this.t.session === undefined) {
      let expiresIn = opts.expiresIn
      if (expiresIn === undefined && opts.expiresAt !== undefined) expiresIn = Math.round(((opts.expiresAt instanceof Date ? opts.expiresAt.getTime() : opts.expiresAt) - Date.now()) / 1000)
      const r = (await this.t.json('POST', '/api/v1/users/keys', { json: { name: opts.name ?? 'default', scopes: opts.scopes, expires_in: expiresIn }, signal: o.signal })).data
      return { ...fromGateway(r), key: r.api_key }
    }
    const body: Record<string, unknown> = { name: opts.name, expiresIn: opts.expiresIn }
    if (opts.expiresAt !== undefined) body.expiresAt = opts.expiresAt instanceof Date ? opts.expiresAt.getTime() : opts.expiresAt
    return (await this.t.json('POST', '/id/apikeys', { auth: 'session', json: body, signal: o.signal })).data
  }
  async revoke (id: string, o: Sig = {}): Promise<void> {
    if (this.t.session === undefined) { await this.t.json('DELETE', `/api/v1/users/keys/${encodeURIComponent(id)}`, { signal: o.signal }); return }
    await this.t.json('DELETE', `/id/apikeys/${encodeURIComponent(id)}`, { auth: 'session', signal: o.signal })
  }
}
