/** Flux wallet login: the server's phrase, signed by the caller's wallet, traded for a zelidauth session. */
import type { Session, Transport } from './http.js'

export interface WalletSession extends Session {
  /** the value of the zelidauth header */
  header: string
  privilege: string
  createdAt: number
  expireAt: number
}

export class WalletClient {
  constructor (private readonly t: Transport) {}

  /**
   * `sign` gets the login phrase and answers its signature: a Bitcoin message signature
   * (base64, Zelcore) or an Ethereum personal_sign (0x...). The session is kept by the client
   * for the calls that need it (keys.list/create/revoke) and answered.
   */
  async login (address: string, sign: (message: string) => Promise<string>, o: { signal?: AbortSignal } = {}): Promise<WalletSession> {
    const phrase = (await this.t.json('GET', '/id/loginphrase', { auth: 'none', signal: o.signal })).data as string
    const signature = await sign(phrase)
    const r = await this.t.json('POST', '/id/verifylogin', {
      auth: 'none', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ zelid: address, loginPhrase: phrase, signature }), signal: o.signal
    })
    const session = { zelid: r.data.zelid as string, loginPhrase: phrase, signature }
    this.t.session = session
    return { ...session, header: JSON.stringify({ zelid: session.zelid, signature, loginPhrase: phrase }), privilege: r.data.privilage, createdAt: r.data.createdAt, expireAt: r.data.expireAt }
  }

  /** ends this session on the server and forgets it */
  async logout (o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.t.json('GET', '/id/logoutcurrentsession', { auth: 'session', signal: o.signal })
    this.t.session = undefined
  }
}
