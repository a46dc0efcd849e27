/**
 * Upload sessions (the /buckets dialect's sessions, after QuickSync's QS Framework): an
 * account opens a session with rules (total size, file count, members, expiry, an optional
 * password) and receives a session token; others join it with its id (and password) and
 * get their own tokens. Every member uploads into the session's bucket: the folder
 * `upload-sessions/<sessionId>` of the session account's files (FILES_SPACE), so its files are
 * that account's files in every dialect (FluxDrive ls, the gateway's file list, ...).
 *
 * Tokens are 256-bit random secrets shown once and stored as SHA-256 (as API keys are).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { UploadsConfig } from '../config.js'
import type { Db } from '../adapters/metadata/open.js'
import type { Database } from '../adapters/metadata/schema.js'
import type { Account, Accounts } from './accounts.js'
import { hashKey } from './accounts.js'
import { CairnError, invalid, notFound } from './errors.js'
import { FILES_SPACE } from './drive.js'

/** the folder of the account's files that holds one folder per session: its bucket */
export const BUCKETS_FOLDER = 'upload-sessions'

const TOKEN_PREFIX = 'cairns_'
const MB = 1024 * 1024

export type SessionRole = 'Host' | 'Client'

export interface UploadSession {
  id: string
  accountId: string
  /** where the session's bucket is: a folder (folderPath) of a space (spaceName) of the account */
  spaceName: string
  folderPath: string
  maxTotalBytes: number
  maxFiles: number
  maxUsers: number
  passwordProtected: boolean
  createdAt: number
  expiresAt: number
}

export interface SessionMember {
  id: string
  sessionId: string
  role: SessionRole
  name: string | null
  address: string | null
  createdAt: number
}

/** Who a session token belongs to. */
export interface SessionPrincipal {
  session: UploadSession
  member: SessionMember
  account: Account
}

export interface SessionRulesInput {
  /** seconds from now */
  expiryDurationInSeconds?: number | null
  userCapacity?: number | null
  password?: string | null
  maxFiles?: number | null
  maxTotalMegaBytes?: number | null
}

export interface SessionCredentials {
  session: UploadSession
  member: SessionMember
  /** the bearer token; shown once */
  token: string
}

function sessionOf (r: Database['upload_sessions']): UploadSession {
  return {
    id: r.id,
    accountId: r.account_id,
    spaceName: r.space_name,
    folderPath: `${BUCKETS_FOLDER}/${r.id}`,
    maxTotalBytes: Number(r.max_total_bytes),
    maxFiles: Number(r.max_files),
    maxUsers: Number(r.max_users),
    passwordProtected: r.password_hash !== null,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at)
  }
}

function memberOf (r: Database['session_members']): SessionMember {
  return {
    id: r.id,
    sessionId: r.session_id,
    role: r.role === 'Host' ? 'Host' : 'Client',
    name: r.name,
    address: r.address,
    createdAt: Number(r.created_at)
  }
}

function positiveInt (v: number | null | undefined, name: string): number | undefined {
  if (v === undefined || v === null) return undefined
  if (!Number.isSafeInteger(v) || v < 1) throw invalid(`${name} must be a positive integer`)
  return v
}

function shortText (v: unknown, name: string, max: number): string | null {
  if (v === undefined || v === null || v === '') return null
  if (typeof v !== 'string' || v.length > max) throw invalid(`${name} must be a string of at most ${max} characters`)
  return v
}

const hashPassword = (sessionId: string, password: string): string => createHash('sha256').update(`${sessionId}\0${password}`).digest('hex')

export class UploadSessions {
  constructor (private readonly db: Db, private readonly accounts: Accounts, private readonly config: UploadsConfig) {}

  /** Open a session for the account of an API key; the caller becomes its host. */
  async create (account: Account, input: { rules?: SessionRulesInput, identity?: { name?: unknown, chainAddress?: unknown } }): Promise<SessionCredentials> {
    if (!account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    const rules = input.rules ?? {}
    const c = this.config
    const expiry = positiveInt(rules.expiryDurationInSeconds, 'expiryDurationInSeconds') ?? c.sessionDefaultExpirySeconds
    if (expiry > c.sessionMaxExpirySeconds) throw invalid(`expiryDurationInSeconds may be at most ${c.sessionMaxExpirySeconds}`)
    const maxUsers = positiveInt(rules.userCapacity, 'userCapacity') ?? c.sessionMaxUsers
    if (maxUsers > c.sessionMaxUsers) throw invalid(`userCapacity may be at most ${c.sessionMaxUsers}`)
    const maxFiles = positiveInt(rules.maxFiles, 'maxFiles') ?? c.sessionMaxFiles
    if (maxFiles > c.sessionMaxFiles) throw invalid(`maxFiles may be at most ${c.sessionMaxFiles}`)
    const maxMb = positiveInt(rules.maxTotalMegaBytes, 'maxTotalMegaBytes')
    const maxTotalBytes = maxMb === undefined ? c.sessionMaxTotalBytes : maxMb * MB
    if (maxTotalBytes > c.sessionMaxTotalBytes) throw invalid(`maxTotalMegaBytes may be at most ${Math.floor(c.sessionMaxTotalBytes / MB)}`)
    const password = shortText(rules.password, 'password', 200)
    const now = Date.now()
    const id = randomUUID()
    const row: Database['upload_sessions'] = {
      id,
      account_id: account.id,
      space_name: FILES_SPACE,
      max_total_bytes: maxTotalBytes,
      max_files: maxFiles,
      max_users: maxUsers,
      password_hash: password === null ? null : hashPassword(id, password),
      created_at: now,
      expires_at: now + expiry * 1000,
      deleted_at: null
    }
    return await this.db.transaction().execute(async trx => {
      await trx.insertInto('upload_sessions').values(row).execute()
      const m = await addMember(trx, id, 'Host', input.identity)
      return { session: sessionOf(row), ...m }
    })
  }

  /**
   * Join a live session by id (and password, when it has one) with any account's key: the
   * new member uploads into the session's bucket, which the session's account owns.
   */
  async join (joiner: Account, input: { sessionId: unknown, password?: unknown, identity?: { name?: unknown, chainAddress?: unknown } }): Promise<SessionCredentials & { members: SessionMember[] }> {
    if (!joiner.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    if (typeof input.sessionId !== 'string' || input.sessionId === '') throw invalid('sessionId is required')
    const sessionId = input.sessionId
    return await this.db.transaction().execute(async trx => {
      // the session row's lock: joins of one session count members one after another
      const locked = await trx.updateTable('upload_sessions').set(eb => ({ max_users: eb.ref('max_users') }))
        .where('id', '=', sessionId).where('deleted_at', 'is', null).where('expires_at', '>', Date.now()).executeTakeFirst()
      if (Number(locked.numUpdatedRows) === 0) throw notFound('Session not found or expired')
      const row = await trx.selectFrom('upload_sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow()
      if (row.password_hash !== null) {
        const given = typeof input.password === 'string' ? hashPassword(sessionId, input.password) : ''
        if (given.length !== row.password_hash.length || !timingSafeEqual(Buffer.from(given), Buffer.from(row.password_hash))) {
          throw new CairnError('unauthenticated', 'Wrong session password')
        }
      }
      const live = await trx.selectFrom('session_members').select(eb => eb.fn.countAll<number>().as('n'))
        .where('session_id', '=', sessionId).where('left_at', 'is', null).executeTakeFirstOrThrow()
      if (Number(live.n) >= Number(row.max_users)) throw new CairnError('conflict', `The session is full (at most ${row.max_users} users)`)
      const m = await addMember(trx, sessionId, 'Client', input.identity)
      const members = (await trx.selectFrom('session_members').selectAll().where('session_id', '=', sessionId)
        .where('left_at', 'is', null).orderBy('created_at').execute()).map(memberOf)
      return { session: sessionOf(row), ...m, members }
    })
  }

  /**
   * Resolve a session token. Unknown tokens, tokens of members that left, and tokens of
   * deleted sessions are `unauthenticated`; an expired session says so.
   */
  async authenticate (token: string): Promise<SessionPrincipal> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) throw new CairnError('unauthenticated', 'Invalid session token')
    const r = await this.db.selectFrom('session_members')
      .innerJoin('upload_sessions', 'upload_sessions.id', 'session_members.session_id')
      .selectAll('session_members')
      .select(['upload_sessions.account_id', 'upload_sessions.space_name', 'upload_sessions.max_total_bytes', 'upload_sessions.max_files',
        'upload_sessions.max_users', 'upload_sessions.password_hash', 'upload_sessions.created_at as s_created_at',
        'upload_sessions.expires_at', 'upload_sessions.deleted_at'])
      .where('session_members.token_hash', '=', hashKey(token)).executeTakeFirst()
    if (r === undefined || r.left_at !== null || r.deleted_at !== null) throw new CairnError('unauthenticated', 'Invalid session token')
    if (Number(r.expires_at) <= Date.now()) throw new CairnError('unauthenticated', 'Session expired', { reason: 'session_expired' })
    const session = sessionOf({
      id: r.session_id,
      account_id: r.account_id,
      space_name: r.space_name,
      max_total_bytes: r.max_total_bytes,
      max_files: r.max_files,
      max_users: r.max_users,
      password_hash: r.password_hash,
      created_at: r.s_created_at,
      expires_at: r.expires_at,
      deleted_at: r.deleted_at
    })
    const account = await this.accounts.get(session.accountId)
    if (!account.active) throw new CairnError('subscription_inactive', 'Subscription not active')
    return { session, member: memberOf(r), account }
  }

  async members (sessionId: string): Promise<SessionMember[]> {
    return (await this.db.selectFrom('session_members').selectAll().where('session_id', '=', sessionId)
      .where('left_at', 'is', null).orderBy('created_at').execute()).map(memberOf)
  }

  /** A member leaves: its token stops working. */
  async leave (memberId: string): Promise<void> {
    await this.db.updateTable('session_members').set({ left_at: Date.now() }).where('id', '=', memberId).where('left_at', 'is', null).execute()
  }

  /** The host ends the session: every token stops working; finished files stay the account's. */
  async end (p: SessionPrincipal): Promise<void> {
    if (p.member.role !== 'Host') throw new CairnError('forbidden', 'Only the session host may delete the session')
    await this.db.updateTable('upload_sessions').set({ deleted_at: Date.now() }).where('id', '=', p.session.id).where('deleted_at', 'is', null).execute()
  }

  /** Sessions past their expiry or deleted, that still have unfinished uploads. */
  async endedWithOpenUploads (now = Date.now()): Promise<string[]> {
    const rows = await this.db.selectFrom('upload_sessions').select('id')
      .where(eb => eb.or([eb('expires_at', '<=', now), eb('deleted_at', 'is not', null)]))
      .where(eb => eb.exists(eb.selectFrom('bucket_uploads').select('bucket_uploads.id')
        .whereRef('bucket_uploads.session_id', '=', 'upload_sessions.id').where('bucket_uploads.status', '!=', 'completed')))
      .execute()
    return rows.map(r => r.id)
  }
}

async function addMember (trx: Db | import('kysely').Transaction<Database>, sessionId: string, role: SessionRole, identity: { name?: unknown, chainAddress?: unknown } | undefined): Promise<{ member: SessionMember, token: string }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const row: Database['session_members'] = {
    id: randomUUID(),
    session_id: sessionId,
    token_hash: hashKey(token),
    role,
    name: shortText(identity?.name, 'identity.name', 100),
    address: shortText(identity?.chainAddress, 'identity.chainAddress', 100),
    created_at: Date.now(),
    left_at: null
  }
  await trx.insertInto('session_members').values(row).execute()
  return { member: memberOf(row), token }
}
