import type * as React from 'react'
import { useCallback, useEffect, useState } from 'react'
import type { UserKey } from '@cairn/sdk'
import type { PageProps } from '../App'
import { CopyButton, ErrorNote } from '../components'
import { errorText, when } from '../format'

export function KeysPage ({ client }: PageProps): React.JSX.Element {
  const [keys, setKeys] = useState<UserKey[]>([])
  const [name, setName] = useState('')
  const [days, setDays] = useState('90')
  const [made, setMade] = useState<{ name: string, key: string }>()
  const [error, setError] = useState<string>()
  const load = useCallback(async () => {
    try { setKeys(await client.keys.list()) } catch (err) { setError(errorText(err)) }
  }, [client])
  useEffect(() => { void load() }, [load])
  const create = async (): Promise<void> => {
    setError(undefined)
    try {
      const d = Number(days)
      const k = await client.keys.create({ name: name.trim(), scopes: ['*'], expiresIn: d > 0 ? d * 86400 : undefined })
      setMade({ name: k.name ?? '', key: k.key }); setName('')
      await load()
    } catch (err) { setError(errorText(err)) }
  }
  const revoke = async (k: UserKey): Promise<void> => {
    if (!confirm(`Revoke the key "${k.name ?? k.prefix}"? Whatever uses it stops working at once.`)) return
    try { await client.keys.revoke(k.id); await load() } catch (err) { setError(errorText(err)) }
  }
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <p className="muted">Keys work in every API of this server (X-API-Key, Bearer, and FluxDrive's Basic with your ZelID). An account has at most 10.</p>
      <form className="toolbar" onSubmit={e => { e.preventDefault(); void create() }}>
        <label htmlFor="key-name">Name</label>
        <input id="key-name" value={name} onChange={e => { setName(e.target.value) }} required maxLength={64} />
        <label htmlFor="key-scopes">Scopes</label>
        <select id="key-scopes" defaultValue="*" aria-describedby="scopes-help"><option value="*">Everything (*)</option></select>
        <label htmlFor="key-expiry">Expires</label>
        <select id="key-expiry" value={days} onChange={e => { setDays(e.target.value) }}>
          <option value="7">in 7 days</option>
          <option value="30">in 30 days</option>
          <option value="90">in 90 days</option>
          <option value="365">in a year</option>
          <option value="0">never</option>
        </select>
        <button type="submit" className="primary">Create key</button>
      </form>
      <p id="scopes-help" className="muted small-text">Keys carry every right of the account today; narrower scopes are not offered yet.</p>
      <ErrorNote error={error} />
      {made !== undefined && (
        <div className="secret" role="status">
          <p><strong>Key “{made.name}” created.</strong> Copy it now: it is shown only this once.</p>
          <p className="cid-row"><code id="new-key" className="mono break">{made.key}</code> <CopyButton text={made.key} label="Copy key" /></p>
          <button type="button" className="small" onClick={() => { setMade(undefined) }}>Done</button>
        </div>
      )}
      <table className="keys">
        <caption className="visually-hidden">Your live keys</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {keys.map(k => (
            <tr key={k.id}>
              <td>{k.name}{k.current === true ? ' (this session)' : ''}</td>
              <td><code>{k.prefix}…</code></td>
              <td>{when(k.createdAt)}</td>
              <td>{k.expiresAt === null ? 'never' : when(k.expiresAt)}</td>
              <td>{when(k.lastUsedAt)}</td>
              <td>{k.current !== true && <button type="button" className="small danger" onClick={() => { void revoke(k) }} aria-label={`Revoke ${k.name ?? k.prefix}`}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
