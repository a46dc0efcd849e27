import type * as React from 'react'
import { useState } from 'react'
import type { ContentInfo } from '@cairn/sdk'
import type { PageProps } from '../App'
import { CopyButton, ErrorNote } from '../components'
import { bytes, errorText } from '../format'

export function RetrievePage ({ client }: PageProps): React.JSX.Element {
  const [cid, setCid] = useState('')
  const [info, setInfo] = useState<ContentInfo>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const look = async (): Promise<void> => {
    setBusy(true); setError(undefined); setInfo(undefined)
    try { setInfo(await client.files.content(cid.trim())) } catch (err) { setError(errorText(err)) } finally { setBusy(false) }
  }
  return (
    <section aria-labelledby="retrieve-title">
      <h1 id="retrieve-title">Retrieve</h1>
      <p className="muted">Any CID your account may read: your files, files inside your folders, their thumbnails.</p>
      <form className="toolbar" onSubmit={e => { e.preventDefault(); void look() }}>
        <label htmlFor="cid">CID</label>
        <input id="cid" value={cid} onChange={e => { setCid(e.target.value) }} required spellCheck={false} autoComplete="off" placeholder="bafy…" />
        <button type="submit" className="primary" disabled={busy}>Retrieve</button>
      </form>
      <ErrorNote error={error} />
      {info !== undefined && (
        <dl className="facts" aria-label="Content">
          <dt>Name</dt><dd>{info.name}</dd>
          <dt>CID</dt><dd><code className="cid">{info.cid}</code> <CopyButton text={info.cid} label="Copy CID" /></dd>
          <dt>Type</dt><dd>{info.kind === 'directory' ? 'directory' : info.content_type}</dd>
          <dt>Size</dt><dd>{bytes(info.size)}</dd>
          <dt>DAG size</dt><dd>{bytes(info.dag_size)}{info.dag_size !== null ? ` (${info.dag_size} bytes)` : ''}</dd>
          <dt>Open</dt><dd><a href={info.url} target="_blank" rel="noopener noreferrer">on the files origin</a> (link valid an hour)</dd>
        </dl>
      )}
    </section>
  )
}
