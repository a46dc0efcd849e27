/**
 * /id: wallet login and sessions. A user manages only their own sessions; the admin (the
 * node owner, CAIRN_ADMIN_ZELID) sees and ends everyone's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CairnError, invalid, isCairnError } from '../../../core/errors.js'
import type { WalletCredentials } from '../../../core/wallet-auth.js'
import { arg, bodyObject, routes } from '../args.js'
import { parseZelidauth, requireWallet } from '../auth.js'
import { limitPerIp, type FluxDeps } from '../context.js'
import { message, success } from '../envelope.js'

/** phrases handed out per client IP and minute (each is a stored row) */
const PHRASES_PER_MINUTE = 60
/** failed logins per client IP and minute */
const FAILED_LOGINS_PER_MINUTE = 30

function text (v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined
}

/** {zelid|address, loginPhrase|message, signature} from the body */
function credentials (req: FastifyRequest): WalletCredentials {
  const b = bodyObject(req)
  const zelid = text(b.zelid) ?? text(b.address)
  const loginPhrase = text(b.loginPhrase) ?? text(b.message)
  const signature = text(b.signature)
  if (zelid === undefined) throw invalid('Missing zelid')
  if (loginPhrase === undefined) throw invalid('Missing loginPhrase')
  if (signature === undefined) throw invalid('Missing signature')
  return { zelid, loginPhrase, signature }
}

const level = (l: 'public' | 'user' | 'admin'): { config: { level: typeof l } } => ({ config: { level: l } })

export function idRoutes (app: FastifyInstance, { core }: FluxDeps): void {
  const phrase = async (req: FastifyRequest): Promise<unknown> => {
    await limitPerIp(core, req, 'phrase', PHRASES_PER_MINUTE)
    return success(await core.wallet.newPhrase())
  }
  app.get('/loginphrase', { ...level('public'), schema: { summary: 'A login phrase to sign (single use, valid 15 minutes)' } }, phrase)
  app.get('/emergencyphrase', { ...level('public'), schema: { summary: 'A login phrase, as /id/loginphrase (no health checks to skip here)' } }, phrase)

  app.post('/verifylogin', { ...level('public'), schema: { summary: 'Log in: {zelid, loginPhrase, signature} as JSON (any Content-Type) or urlencoded' } }, async req => {
    const creds = credentials(req)
    try {
      const p = await core.wallet.login(creds)
      return success({
        message: 'Successfully logged in',
        zelid: p.session.zelid,
        loginPhrase: p.session.loginPhrase,
        signature: p.session.signature,
        privilage: p.privilege, // sic: the original's spelling, which its clients read
        createdAt: p.session.createdAt,
        expireAt: p.session.expireAt
      })
    } catch (err) {
      if (isCairnError(err) && err.code === 'unauthenticated') await limitPerIp(core, req, 'loginfail', FAILED_LOGINS_PER_MINUTE)
      throw err
    }
  })

  app.post('/providesign', { ...level('public'), schema: { summary: 'Hand over a verified signature of a message, readable for 15 minutes' } }, async req => {
    const r = await core.wallet.provideSign(credentials(req))
    return success(r)
  })
  routes(app, 'GET', ['/providesign', '/providesign/:message'], { ...level('public'), schema: { summary: 'The signature handed over for a message (Cairn\'s stand-in for the original websocket)' } }, async req => {
    const m = arg(req, 'message')
    if (m === undefined) throw invalid('Missing message')
    return success(await core.wallet.providedSignature(m))
  })

  app.post('/checkprivilege', { ...level('public'), schema: { summary: 'The privilege of a live session: admin or user (error "none" otherwise)' } }, async req => {
    const b = bodyObject(req)
    const creds = Object.keys(b).length > 0 ? credentials(req) : parseZelidauth(req.headers.zelidauth)
    if (creds === undefined) throw new CairnError('unauthenticated', 'none')
    try {
      return message(await core.wallet.checkPrivilege(creds))
    } catch (err) {
      if (isCairnError(err) && err.code === 'unauthenticated') throw new CairnError('unauthenticated', 'none')
      throw err
    }
  })

  app.get('/loggedsessions', { ...level('user'), schema: { summary: 'Your live sessions' } }, async req => {
    const w = requireWallet(req)
    const list = await core.wallet.sessions(w.session.zelid)
    return success(list.map(s => ({ zelid: s.zelid, loginPhrase: s.loginPhrase, createdAt: s.createdAt, expireAt: s.expireAt })))
  })

  app.get('/logoutcurrentsession', { ...level('user'), schema: { summary: 'End the session of this zelidauth header' } }, async req => {
    const w = requireWallet(req)
    await core.wallet.logoutPhrase(w.session.loginPhrase, w.session.zelid)
    return message('Successfully logged out')
  })

  app.get('/logoutallsessions', { ...level('user'), schema: { summary: 'End every session of your address' } }, async req => {
    const w = requireWallet(req)
    await core.wallet.logoutAll(w.session.zelid)
    return message('Successfully logged out all sessions')
  })

  app.post('/logoutspecificsession', { ...level('user'), schema: { summary: 'End one session by its loginPhrase: your own, or anyone\'s for the admin' } }, async req => {
    const w = requireWallet(req)
    const phraseArg = text(bodyObject(req).loginPhrase)
    if (phraseArg === undefined) throw invalid('Missing loginPhrase')
    await core.wallet.logoutPhrase(phraseArg, w.privilege === 'admin' ? undefined : w.session.zelid)
    return message('Session successfully logged out')
  })

  app.get('/loggedusers', { ...level('admin'), schema: { summary: 'Every live session (admin)' } }, async () => {
    const list = await core.wallet.sessions()
    return success(list.map(s => ({ zelid: s.zelid, loginPhrase: s.loginPhrase, createdAt: s.createdAt, expireAt: s.expireAt })))
  })

  app.get('/activeloginphrases', { ...level('admin'), schema: { summary: 'Login phrases handed out in the last 15 minutes (admin)' } }, async () => {
    return success(await core.wallet.activePhrases())
  })

  app.get('/logoutallusers', { ...level('admin'), schema: { summary: 'End every session of every address (admin)' } }, async () => {
    await core.wallet.logoutAll(undefined)
    return message('Successfully logged out all users')
  })
}
