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
export interface UserKey { id: string, name: string | null, prefix: string, createdAt: number, expiresAt: number | null, lastUsedAt: number | null, revoked: boolean }

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

  /** a wallet user's keys (needs a session from wallet.login) */
  async list (o: Sig = {}): Promise<UserKey[]> {
    return (await this.t.json('GET', '/id/apikeys', { auth: 'session', signal: o.signal })).data
  }
  /** a new key for FluxDrive's Basic auth and every other dialect; `key` is shown once */
  async create (opts: { name?: string, expiresAt?: Date | number, expiresIn?: number } = {}, o: Sig = {}): Promise<UserKey & { key: string, zelid: string }> {
    const body: Record<string, unknown> = { name: opts.name, expiresIn: opts.expiresIn }
    if (opts.expiresAt !== undefined) body.expiresAt = opts.expiresAt instanceof Date ? opts.expiresAt.getTime() : opts.expiresAt
    return (await this.t.json('POST', '/id/apikeys', { auth: 'session', json: body, signal: o.signal })).data
  }
  async revoke (id: string, o: Sig = {}): Promise<void> {
    await this.t.json('DELETE', `/id/apikeys/${encodeURIComponent(id)}`, { auth: 'session', signal: o.signal })
  }
}
