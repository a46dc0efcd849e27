import type * as React from 'react'
import { useRef, useState, type FormEvent } from 'react'
import { CairnClient } from '@cairn/sdk'
import { ErrorNote, CopyButton } from '../components'
import { errorText } from '../format'
import type { SessionInfo } from '../session'

type Mode = 'login' | 'register' | 'wallet'
const SESSION_SECONDS = 12 * 3600

declare global {
  interface Window { ethereum?: { request: (a: { method: string, params?: unknown[] }) => Promise<unknown> } }
}

export function LoginPage ({ onSignedIn }: { onSignedIn: (s: SessionInfo) => void }): React.JSX.Element {
  const [mode, setMode] = useState<Mode>('login')
  const tabs: Array<[Mode, string]> = [['login', 'Sign in'], ['register', 'Register'], ['wallet', 'Wallet']]
  return (
    <section className="narrow" aria-labelledby="login-title">
      <h1 id="login-title">{mode === 'register' ? 'Create an account' : 'Sign in to Cairn'}</h1>
      <div role="tablist" aria-label="How to sign in" className="tabs">
        {tabs.map(([m, label]) => (
          <button key={m} type="button" role="tab" id={`tab-${m}`} aria-selected={mode === m} aria-controls={`panel-${m}`} onClick={() => { setMode(m) }}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${mode}`} aria-labelledby={`tab-${mode}`}>
        {mode === 'wallet' ? <WalletLogin onSignedIn={onSignedIn} /> : <EmailForm register={mode === 'register'} onSignedIn={onSignedIn} />}
      </div>
    </section>
  )
}

function EmailForm ({ register, onSignedIn }: { register: boolean, onSignedIn: (s: SessionInfo) => void }): React.JSX.Element {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setBusy(true); setError(undefined)
    const anon = new CairnClient({ baseUrl: location.origin, retries: 0 })
    try {
      // registering answers a permanent key; the browser keeps only a session key, so log in after
      if (register) await anon.keys.register(email, password)
      const s = await anon.keys.login(email, password, { name: 'web session', expiresIn: SESSION_SECONDS })
      onSignedIn({ apiKey: s.apiKey, keyId: s.keyId, email: s.email, expiresAt: s.expiresAt })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={e => { void submit(e) }} aria-busy={busy}>
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" autoComplete="email" required value={email} onChange={e => { setEmail(e.target.value) }} />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete={register ? 'new-password' : 'current-password'} required minLength={8} value={password} onChange={e => { setPassword(e.target.value) }} aria-describedby={register ? 'password-help' : undefined} />
      {register && <p id="password-help" className="muted small-text">At least 8 characters, mixing two of lowercase, uppercase, digits and symbols.</p>}
      <ErrorNote error={error} />
      <button type="submit" className="primary" disabled={busy}>{register ? 'Create account' : 'Sign in'}</button>
    </form>
  )
}

/** a wallet login: a browser wallet signs the phrase (0x addresses), or a Zelcore signature is pasted */
function WalletLogin ({ onSignedIn }: { onSignedIn: (s: SessionInfo) => void }): React.JSX.Element {
  const [address, setAddress] = useState('')
  const [phrase, setPhrase] = useState<string>()
  const [signature, setSignature] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const pending = useRef<((sig: string) => void) | undefined>(undefined)

  const finish = async (addr: string, sign: (message: string) => Promise<string>): Promise<void> => {
    setBusy(true); setError(undefined)
    const c = new CairnClient({ baseUrl: location.origin, retries: 0 })
    try {
      const w = await c.wallet.login(addr, sign)
      // trade the wallet session for a key that expires, then end the wallet session: the key is all the browser keeps
      const k = await c.keys.create({ name: 'web session (wallet)', expiresIn: SESSION_SECONDS })
      await c.wallet.logout().catch(() => {})
      onSignedIn({ apiKey: k.key, keyId: k.id, zelid: w.zelid, expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString() })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false); setPhrase(undefined); pending.current = undefined
    }
  }
  const withBrowserWallet = async (): Promise<void> => {
    const eth = window.ethereum
    if (eth === undefined) { setError('No browser wallet found (window.ethereum). Paste a signature instead.'); return }
    try {
      const accounts = await eth.request({ method: 'eth_requestAccounts' }) as string[]
      const addr = address.trim() !== '' ? address.trim() : accounts[0]
      setAddress(addr)
      await finish(addr, async msg => String(await eth.request({ method: 'personal_sign', params: [msg, addr] })))
    } catch (err) { setError(errorText(err)) }
  }
  const withPastedSignature = (): void => {
    void finish(address.trim(), async message => {
      setPhrase(message)
      return await new Promise<string>(resolve => { pending.current = resolve })
    })
  }
  return (
    <div>
      <label htmlFor="address">Wallet address (ZelID, Bitcoin or 0x Ethereum)</label>
      <input id="address" value={address} onChange={e => { setAddress(e.target.value) }} autoComplete="off" spellCheck={false} />
      <div className="row">
        <button type="button" onClick={() => { void withBrowserWallet() }} disabled={busy}>Sign with browser wallet</button>
        <button type="button" onClick={withPastedSignature} disabled={busy || address.trim() === ''}>Sign with Zelcore (paste)</button>
      </div>
      {phrase !== undefined && (
        <form onSubmit={e => { e.preventDefault(); pending.current?.(signature.trim()) }}>
          <p>Sign this message in Zelcore with the address above, then paste the signature.</p>
          <p className="mono break" id="phrase">{phrase} <CopyButton text={phrase} /></p>
          <label htmlFor="signature">Signature</label>
          <textarea id="signature" rows={3} value={signature} onChange={e => { setSignature(e.target.value) }} required />
          <button type="submit" className="primary">Sign in</button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  )
}
