/**
 * Self-service accounts (the gateway's users): register with an email and a password, and
 * get a new key by a 6-digit code sent to that email when the old one is lost.
 *
 * Renewal codes: one live code per account (a new challenge replaces it), valid 15 minutes,
 * single use, void after 5 wrong guesses, stored as a hash. Whether an email has an account
 * is never revealed: the challenge answers the same either way, and a renewal for an email
 * without an account fails exactly like a wrong code.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto'
import type { Config } from '../config.js'
import type { Db } from '../adapters/metadata/open.js'
import { Accounts, EMAIL_RE, isUniqueViolation, type Account } from './accounts.js'
import { CairnError, invalid } from './errors.js'
import { checkPassword, hashPassword, verifyPassword } from './passwords.js'
import type { JobQueue } from './ports/job-queue.js'
import type { MailReceipt, Mailer } from './ports/mailer.js'

export const GATEWAY_KEY_PREFIX = 'ak_'
export const GATEWAY_KEY_NAME = 'gateway'
export const RENEWAL_CODE_TTL_MS = 15 * 60_000
export const RENEWAL_CODE_TRIES = 5
/** mail a fresh renewal code: payload RenewalCodeJob */
export const RENEWAL_CODE_JOB = 'account.renewal_code'

/** the name of the keys a password login makes (a browser's session) */
export const SESSION_KEY_NAME = 'web session'
export const SESSION_TTL_MAX_MS = 7 * 86_400_000
export const SESSION_TTL_DEFAULT_MS = 12 * 3_600_000

export interface RenewalCodeJob { accountId: string, to: string }

const badCode = (): CairnError => new CairnError('unauthenticated', 'Invalid or expired verification code', { reason: 'renewal_code' })

function codeHash (accountId: string, code: string): string {
  return createHash('sha256').update(`${accountId}:${code}`).digest('hex')
}

/** verified when the email has no account, so both failures cost the same (made once, on first use) */
let dummyHash: Promise<string> | undefined

export function normalizeEmail (email: unknown): string {
  if (typeof email !== 'string' || email.trim().length === 0) throw invalid('Missing required field: email')
  const e = email.trim().toLowerCase()
  if (e.length > 254 || !EMAIL_RE.test(e)) throw invalid(`Invalid email address: "${email.length > 100 ? email.slice(0, 100) + '…' : email}"`)
  return e
}

export class SelfService {
  constructor (
    private readonly db: Db,
    private readonly config: Config,
    private readonly jobs: Pick<JobQueue, 'enqueue'>,
    private readonly mailer: Pick<Mailer, 'send'>,
    /** the process's Accounts, whose cache of authenticated keys must forget revoked ones */
    private readonly keyCache?: Pick<Accounts, 'keysChanged'>
  ) {}

  /** A new STARTER account with this email and password, and its first key (`ak_...`). */
  async register (input: { email: unknown, password: unknown }): Promise<{ account: Account, key: string }> {
    const email = normalizeEmail(input.email)
    const password = checkPassword(input.password, email)
    const passwordHash = await hashPassword(password)
    try {
      return await this.db.transaction().execute(async trx => {
        const accounts = new Accounts(trx as unknown as Db, this.config)
        const account = await accounts.create({ email })
        await trx.updateTable('accounts').set({ password_hash: passwordHash }).where('id', '=', account.id).execute()
        const { key } = await accounts.createKey(account.id, { name: GATEWAY_KEY_NAME, prefix: GATEWAY_KEY_PREFIX })
        return { account, key }
      })
    } catch (err) {
      if ((err instanceof CairnError && err.code === 'conflict') || isUniqueViolation(err)) {
        throw new CairnError('conflict', 'An account with this email already exists')
      }
      throw err
    }
  }

  /**
   * Log in with email and password: a new short-lived `ak_` key (a session for a browser or
   * a script), whose secret is in the answer only. A wrong password and an unknown email
   * fail alike (and take as long: a hash is verified either way). When the account already
   * has its most keys, its oldest session key is revoked to make room.
   */
  async login (input: { email: unknown, password: unknown, ttlMs?: number, name?: string }): Promise<{ account: Account, key: string, keyId: string, expiresAt: number }> {
    const email = normalizeEmail(input.email)
    if (typeof input.password !== 'string' || input.password.length === 0 || input.password.length > 1024) throw invalid('Missing required field: password')
    const ttl = input.ttlMs ?? SESSION_TTL_DEFAULT_MS
    if (!Number.isSafeInteger(ttl) || ttl < 60_000 || ttl > SESSION_TTL_MAX_MS) throw invalid(`expires_in must be between 60 and ${SESSION_TTL_MAX_MS / 1000} seconds`)
    const row = await this.db.selectFrom('accounts').select(['id', 'password_hash']).where('email', '=', email).executeTakeFirst()
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'))
    const ok = await verifyPassword(row?.password_hash ?? await dummyHash, input.password)
    if (row === undefined || row.password_hash === null || !ok) throw new CairnError('unauthenticated', 'Invalid email or password', { reason: 'password' })
    const accounts = new Accounts(this.db, this.config)
    const account = await accounts.get(row.id)
    const name = input.name ?? SESSION_KEY_NAME
    const expiresAt = Date.now() + ttl
    const create = async (): Promise<{ key: string, info: { id: string } }> => await accounts.createKey(account.id, { name, prefix: GATEWAY_KEY_PREFIX, expiresAt, session: true })
    let made: { key: string, info: { id: string } }
    try {
      made = await create()
    } catch (err) {
      if (!(err instanceof CairnError && err.code === 'conflict')) throw err
      const oldest = (await accounts.listKeys(account.id))
        .filter(k => k.revokedAt === null && k.name.startsWith(SESSION_KEY_NAME) && (k.expiresAt === null || k.expiresAt > Date.now()))[0]
      if (oldest === undefined) throw err
      await accounts.revokeKey(oldest.id, account.id)
      this.keyCache?.keysChanged()
      made = await create()
    }
    return { account, key: made.key, keyId: made.info.id, expiresAt }
  }

  /**
   * Send a renewal code to the account of this email, if there is one. The mail goes out as
   * a job (retried with backoff while the mail server is down); the job makes the code when
   * it sends, so no code is ever stored except as a hash.
   */
  async requestRenewal (emailInput: unknown): Promise<void> {
    const email = normalizeEmail(emailInput)
    const account = await this.db.selectFrom('accounts').select(['id']).where('email', '=', email).executeTakeFirst()
    if (account === undefined) return
    const payload: RenewalCodeJob = { accountId: account.id, to: email }
    await this.jobs.enqueue(RENEWAL_CODE_JOB, payload, { accountId: account.id, maxAttempts: 5, backoffMs: 5000 })
  }

  /**
   * The renewal-code job: a fresh code replaces the account's previous one (valid 15 minutes
   * from now, 5 tries), and goes out by mail. A retry after a failed delivery makes another.
   */
  async sendRenewalCode (job: RenewalCodeJob): Promise<MailReceipt> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    const now = Date.now()
    const row = { code_hash: codeHash(job.accountId, code), expires_at: now + RENEWAL_CODE_TTL_MS, attempts_left: RENEWAL_CODE_TRIES, created_at: now }
    await this.db.insertInto('renewal_codes').values({ account_id: job.accountId, ...row })
      .onConflict(oc => oc.column('account_id').doUpdateSet(row)).execute()
    return await this.mailer.send({
      to: job.to,
      subject: `Your API key renewal code: ${code}`,
      text: [
        'Someone (hopefully you) asked to renew the API key of this account.',
        '',
        `Verification code: ${code}`,
        '',
        `It is valid for ${RENEWAL_CODE_TTL_MS / 60_000} minutes and can be used once. Renewing replaces your`,
        'current key: the old key stops working at once.',
        '',
        'If you did not ask for this, ignore this message; your key stays as it is.'
      ].join('\n')
    })
  }

  /**
   * Trade a valid code for a new gateway key. The account's previous gateway keys (`ak_...`)
   * are revoked in the same transaction, so they stop working the moment the new one exists.
   */
  async renew (input: { email: unknown, code: unknown }): Promise<{ account: Account, key: string }> {
    const email = normalizeEmail(input.email)
    if (typeof input.code !== 'string' && typeof input.code !== 'number') throw invalid('Missing required field: verification_code')
    const code = String(input.code).trim()
    if (!/^\d{6}$/.test(code)) throw invalid('verification_code must be 6 digits')
    const found = await this.db.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirst()
    if (found === undefined) throw badCode()
    const accountId = found.id
    const now = Date.now()
    // use up a try first (one conditional write: concurrent guesses cannot share a try)
    const spent = await this.db.updateTable('renewal_codes').set(eb => ({ attempts_left: eb('attempts_left', '-', 1) }))
      .where('account_id', '=', accountId).where('attempts_left', '>', 0).where('expires_at', '>', now).executeTakeFirst()
    if (Number(spent.numUpdatedRows) === 0) throw badCode()
    this.keyCache?.keysChanged()
    const outcome = await this.db.transaction().execute(async trx => {
      // single use: only the request that deletes the matching row gets a key
      const used = await trx.deleteFrom('renewal_codes')
        .where('account_id', '=', accountId).where('code_hash', '=', codeHash(accountId, code)).where('expires_at', '>', now)
        .executeTakeFirst()
      if (Number(used.numDeletedRows) === 0) return undefined
      const live = await trx.selectFrom('api_keys').select(['id', 'prefix'])
        .where('account_id', '=', accountId).where('revoked_at', 'is', null).execute()
      const old = live.filter(k => k.prefix.startsWith(GATEWAY_KEY_PREFIX)).map(k => k.id)
      if (old.length > 0) await trx.updateTable('api_keys').set({ revoked_at: now }).where('id', 'in', old).execute()
      const accounts = new Accounts(trx as unknown as Db, this.config)
      const { key } = await accounts.createKey(accountId, { name: GATEWAY_KEY_NAME, prefix: GATEWAY_KEY_PREFIX })
      return { account: await accounts.get(accountId), key }
    })
    this.keyCache?.keysChanged() // the old keys stop working at once, cached or not
    if (outcome === undefined) {
      await this.db.deleteFrom('renewal_codes').where('account_id', '=', accountId).where('attempts_left', '<=', 0).execute()
      throw badCode()
    }
    return outcome
  }
}
