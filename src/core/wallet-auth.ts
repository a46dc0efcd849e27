/**
 * Wallet login (ZelID, BTC or ETH address): a single-use login phrase, signed by the wallet,
 * opens a session of 14 days in the account of that address (made on the first login when
 * signup is on). Sessions live in the metadata store, so they survive restarts and every
 * process sees a logout at once: each request looks its session up, there is no cache.
 *
 * Unlike the original node, a user-level signature is worth nothing without a live session,
 * and a user can log out only their own sessions (the admin any).
 */
import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import { sql } from 'kysely'
import type { Config } from '../config.js'
import type { Db } from '../adapters/metadata/open.js'
import { Accounts, isUniqueViolation, type Account, type Principal } from './accounts.js'
import { CairnError, invalid, notFound } from './errors.js'
import { canonicalAddress, isEthAddress, verifyWalletSignature } from './wallet-signatures.js'

export const PHRASE_TTL_MS = 15 * 60 * 1000
export const SESSION_TTL_MS = 14 * 24 * 60 * 60 * 1000
export const MIN_PHRASE_LENGTH = 40
/** a phrase's clock may run this far ahead of ours (several nodes behind one name) */
const CLOCK_SKEW_MS = 60 * 1000
const PRUNE_EVERY_MS = 60 * 1000

export type Privilege = 'admin' | 'user'

export interface WalletSession {
  id: string
  zelid: string
  accountId: string
  loginPhrase: string
  signature: string
  createdAt: number
  expireAt: number
}

export interface WalletPrincipal {
  account: Account
  session: WalletSession
  privilege: Privilege
}

export interface WalletCredentials { zelid: string, loginPhrase: string, signature: string }

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** 13-digit millisecond timestamp + 43 random [a-z0-9] from the CSPRNG: 56 characters */
function makePhrase (now: number): string {
  let tail = ''
  for (let i = 0; i < 43; i++) tail += ALPHABET[randomInt(ALPHABET.length)]
  return String(now).padStart(13, '0') + tail
}

const denied = (message: string): CairnError => new CairnError('unauthenticated', message)

export class WalletAuth {
  private lastPrune = 0

  constructor (private readonly db: Db, private readonly accounts: Accounts, private readonly config: Config) {}

  privilegeOf (zelid: string): Privilege {
    const id = isEthAddress(zelid) ? zelid.toLowerCase() : zelid
    return this.config.adminZelids.some(a => (isEthAddress(a) ? a.toLowerCase() : a) === id) ? 'admin' : 'user'
  }

  /** A new login phrase, stored until it expires or is used. */
  async newPhrase (): Promise<string> {
    await this.prune()
    const now = Date.now()
    const phrase = makePhrase(now)
    await this.db.insertInto('wallet_phrases').values({ phrase, created_at: now, expires_at: now + PHRASE_TTL_MS, used_at: null }).execute()
    return phrase
  }

  /** Phrases handed out in the last 15 minutes, used or not (admin view). */
  async activePhrases (): Promise<Array<{ loginPhrase: string, createdAt: number, expireAt: number, used: boolean }>> {
    const rows = await this.db.selectFrom('wallet_phrases').selectAll().where('expires_at', '>', Date.now()).orderBy('created_at').execute()
    return rows.map(r => ({ loginPhrase: r.phrase, createdAt: r.created_at, expireAt: r.expires_at, used: r.used_at !== null }))
  }

  private checkPhraseShape (phrase: string, now: number): void {
    if (phrase.length < MIN_PHRASE_LENGTH || phrase.length > 200) throw invalid('Invalid login phrase')
    const stamp = Number(phrase.slice(0, 13))
    if (!/^\d{13}$/.test(phrase.slice(0, 13)) || stamp + PHRASE_TTL_MS < now || stamp > now + CLOCK_SKEW_MS) {
      throw denied('Signed message is no longer valid. Please request a new one.')
    }
  }

  /** The canonical address and a verified signature, or an error saying which part failed. */
  private async verified (creds: WalletCredentials): Promise<string> {
    const zelid = await canonicalAddress(creds.zelid)
    if (zelid === undefined) throw invalid('Invalid zelid: a P2PKH address (1...), a 0x address or a hex public key')
    if (!await verifyWalletSignature(zelid, creds.loginPhrase, creds.signature)) throw denied('Invalid signature')
    return zelid
  }

  /**
   * Log in: the phrase must be one we handed out, unexpired and unused, and signed by the
   * address. The phrase is consumed in the same transaction that opens the session.
   */
  async login (creds: WalletCredentials): Promise<WalletPrincipal> {
    const now = Date.now()
    this.checkPhraseShape(creds.loginPhrase, now)
    const known = await this.db.selectFrom('wallet_phrases').selectAll().where('phrase', '=', creds.loginPhrase).executeTakeFirst()
    if (known === undefined || known.expires_at <= now) throw denied('Signed message is no longer valid. Please request a new one.')
    if (known.used_at !== null) throw denied('Signed message was already used. Please request a new one.')
    const zelid = await this.verified(creds)
    for (let tries = 1; ; tries++) {
      try {
        return await this.openSession(zelid, creds, now)
      } catch (err) {
        // two first logins of one address at once: the other made the account; take it
        if (!isUniqueViolation(err) && !(err instanceof CairnError && err.code === 'conflict')) throw err
        if (tries >= 2) throw err
      }
    }
  }

  private async openSession (zelid: string, creds: WalletCredentials, now: number): Promise<WalletPrincipal> {
    return await this.db.transaction().execute(async trx => {
      const consumed = await trx.updateTable('wallet_phrases').set({ used_at: now })
        .where('phrase', '=', creds.loginPhrase).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst()
      if (Number(consumed.numUpdatedRows) !== 1) throw denied('Signed message was already used. Please request a new one.')
      const accounts = new Accounts(trx as unknown as Db, this.config)
      let account = await findAccount(trx as unknown as Db, accounts, zelid)
      if (account === undefined) {
        if (!this.config.walletSignup) throw new CairnError('forbidden', 'No account for this address, and this server does not create accounts on login')
        account = await accounts.create({ zelid })
      }
      const session: WalletSession = {
        id: randomUUID(), zelid, accountId: account.id, loginPhrase: creds.loginPhrase, signature: creds.signature, createdAt: now, expireAt: now + SESSION_TTL_MS
      }
      await trx.insertInto('wallet_sessions').values({
        id: session.id, zelid, account_id: account.id, login_phrase: session.loginPhrase, signature: session.signature,
        created_at: now, expires_at: session.expireAt, revoked_at: null
      }).execute()
      return { account, session, privilege: this.privilegeOf(zelid) }
    })
  }

  /**
   * The session a zelidauth header names: its phrase, the same address and the very
   * signature that opened it, not expired and not logged out.
   */
  async authenticate (creds: WalletCredentials): Promise<WalletPrincipal> {
    const zelid = await canonicalAddress(creds.zelid)
    if (zelid === undefined || creds.loginPhrase.length === 0 || creds.loginPhrase.length > 200) throw denied('Unauthorized. Access denied.')
    const r = await this.db.selectFrom('wallet_sessions').selectAll().where('login_phrase', '=', creds.loginPhrase).executeTakeFirst()
    if (r === undefined || r.revoked_at !== null || r.expires_at <= Date.now() || r.zelid !== zelid || !sameText(r.signature, creds.signature)) {
      throw denied('Unauthorized. Access denied.')
    }
    const account = await this.accounts.get(r.account_id)
    return { account, session: toSession(r), privilege: this.privilegeOf(zelid) }
  }

  /** The principal other dialects (FluxDrive) accept for a wallet session. */
  async principal (creds: WalletCredentials): Promise<Principal> {
    const p = await this.authenticate(creds)
    return { account: p.account, keyId: `wallet-session:${p.session.id}`, scopes: ['*'], session: false }
  }

  /** /id/checkprivilege: the privilege of a live session, else unauthenticated ('none'). */
  async checkPrivilege (creds: WalletCredentials): Promise<Privilege> {
    return (await this.authenticate(creds)).privilege
  }

  /** /id/providesign: keep a verified signature of `message` for 15 minutes. */
  async provideSign (creds: WalletCredentials): Promise<{ signature: string, identifier: string, createdAt: number, expireAt: number }> {
    const now = Date.now()
    if (creds.loginPhrase.length < MIN_PHRASE_LENGTH || creds.loginPhrase.length > 200) throw invalid('Invalid message: at least 40 characters')
    const address = await this.verified(creds)
    const row = { message: creds.loginPhrase, address, signature: creds.signature, created_at: now, expires_at: now + PHRASE_TTL_MS }
    await this.db.deleteFrom('wallet_signatures').where('message', '=', row.message).execute()
    await this.db.insertInto('wallet_signatures').values(row).execute()
    return { signature: row.signature, identifier: row.message, createdAt: now, expireAt: row.expires_at }
  }

  async providedSignature (message: string): Promise<{ signature: string, identifier: string, address: string, createdAt: number, expireAt: number }> {
    const r = await this.db.selectFrom('wallet_signatures').selectAll().where('message', '=', message).where('expires_at', '>', Date.now()).executeTakeFirst()
    if (r === undefined) throw notFound('No signature for this message')
    return { signature: r.signature, identifier: r.message, address: r.address, createdAt: r.created_at, expireAt: r.expires_at }
  }

  /** Live sessions of one address, or of everyone (zelid undefined, admin). */
  async sessions (zelid?: string): Promise<WalletSession[]> {
    let q = this.db.selectFrom('wallet_sessions').selectAll().where('revoked_at', 'is', null).where('expires_at', '>', Date.now())
    if (zelid !== undefined) q = q.where('zelid', '=', zelid)
    return (await q.orderBy('created_at').execute()).map(toSession)
  }

  /** Log out one session by its phrase; `zelid` limits it to that address's own sessions. */
  async logoutPhrase (loginPhrase: string, zelid: string | undefined): Promise<void> {
    let q = this.db.updateTable('wallet_sessions').set({ revoked_at: Date.now() })
      .where('login_phrase', '=', loginPhrase).where('revoked_at', 'is', null)
    if (zelid !== undefined) q = q.where('zelid', '=', zelid)
    const r = await q.executeTakeFirst()
    if (Number(r.numUpdatedRows) === 0) throw notFound('Specified session not found')
  }

  /** Log out every session of one address, or (undefined) of everyone. */
  async logoutAll (zelid: string | undefined): Promise<number> {
    let q = this.db.updateTable('wallet_sessions').set({ revoked_at: Date.now() }).where('revoked_at', 'is', null)
    if (zelid !== undefined) q = q.where('zelid', '=', zelid)
    const r = await q.executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  /** Drop what can no longer be used: old phrases, provided signatures, ended sessions. */
  private async prune (): Promise<void> {
    const now = Date.now()
    if (now - this.lastPrune < PRUNE_EVERY_MS) return
    this.lastPrune = now
    await this.db.deleteFrom('wallet_phrases').where('expires_at', '<', now).execute()
    await this.db.deleteFrom('wallet_signatures').where('expires_at', '<', now).execute()
    await this.db.deleteFrom('wallet_sessions').where(eb => eb.or([
      eb('expires_at', '<', now), eb('revoked_at', '<', now - 24 * 60 * 60 * 1000)
    ])).execute()
  }
}

/** The account of an address: exact, or for 0x addresses in any letter case. */
async function findAccount (db: Db, accounts: Accounts, zelid: string): Promise<Account | undefined> {
  const exact = await accounts.findByZelid(zelid)
  if (exact !== undefined || !isEthAddress(zelid)) return exact
  const r = await db.selectFrom('accounts').select('id').where(sql<string>`lower(zelid)`, '=', zelid.toLowerCase()).executeTakeFirst()
  return r === undefined ? undefined : await accounts.get(r.id)
}

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function toSession (r: { id: string, zelid: string, account_id: string, login_phrase: string, signature: string, created_at: number, expires_at: number }): WalletSession {
  return { id: r.id, zelid: r.zelid, accountId: r.account_id, loginPhrase: r.login_phrase, signature: r.signature, createdAt: r.created_at, expireAt: r.expires_at }
}
