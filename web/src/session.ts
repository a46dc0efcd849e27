/**
 * The signed-in session: a short-lived ak_ key from POST /api/v1/users/login (or a wallet
 * login's key), kept in sessionStorage on the API origin only. Nothing the files origin
 * serves can read it: that is another origin, and this origin serves no user content.
 */
import { CairnClient } from '@cairn/sdk'

export interface SessionInfo {
  apiKey: string
  /** the key's id, so logout can revoke it */
  keyId?: string
  email?: string | null
  zelid?: string
  expiresAt?: string | null
}

const STORE = 'cairn.session'

export function loadSession (): SessionInfo | undefined {
  try {
    const raw = sessionStorage.getItem(STORE)
    if (raw === null) return undefined
    const s = JSON.parse(raw) as SessionInfo
    if (s.expiresAt != null && Date.parse(s.expiresAt) <= Date.now()) { sessionStorage.removeItem(STORE); return undefined }
    return typeof s.apiKey === 'string' ? s : undefined
  } catch {
    return undefined
  }
}

export function saveSession (s: SessionInfo | undefined): void {
  if (s === undefined) sessionStorage.removeItem(STORE)
  else sessionStorage.setItem(STORE, JSON.stringify(s))
}

export function clientFor (s?: SessionInfo): CairnClient {
  // retries: 1 keeps a rate-limited page from hanging for minutes
  return new CairnClient({ baseUrl: location.origin, apiKey: s?.apiKey, retries: 1, maxRetryAfter: 5 })
}
