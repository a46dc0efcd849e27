import type * as React from 'react'
import { useEffect, useMemo, useState } from 'react'
import { CairnClient } from '@cairn/sdk'
import { CopyButton, ErrorNote } from '../components'
import { errorText } from '../format'

/** every dialect's OpenAPI document, as the server serves it */
const DOCS: Array<{ id: string, title: string, path: string, auth: string }> = [
  { id: 'gateway', title: 'IPFS Gateway API (/api/v1)', path: '/api/v1/openapi.json', auth: "-H 'X-API-Key: $KEY'" },
  { id: 'fluxdrive', title: 'FluxDrive API (/api/v0)', path: '/api/v0/openapi.json', auth: '-u "$ZELID:$KEY"' },
  { id: 'pins', title: 'IPFS Pinning Service API (/pins)', path: '/pins/openapi.json', auth: "-H \"Authorization: Bearer $KEY\"" },
  { id: 'cloud', title: 'FluidCloud API (/cloud/api/v1)', path: '/cloud/api/v1/openapi.json', auth: "-H 'X-API-Key: $FCK'" },
  { id: 'flux', title: 'Flux identity and files (/id, ...)', path: '/id/openapi.json', auth: "-H \"zelidauth: $ZELIDAUTH\"" },
  { id: 'uploads', title: 'Upload API: sessions and buckets (/v1)', path: '/v1/openapi.json', auth: "-H \"Authorization: Bearer $KEY\"" },
  { id: 'admin', title: 'Operator API (/admin/v1)', path: '/admin/v1/openapi.json', auth: "-H \"Authorization: Bearer $ADMIN_KEY\"" }
]
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head'] as const

interface Op { method: string, path: string, summary?: string, description?: string, parameters?: any[], requestBody?: any, security?: any[] }

export function DocsPage (): React.JSX.Element {
  const client = useMemo(() => new CairnClient({ baseUrl: location.origin, retries: 1 }), [])
  const [which, setWhich] = useState(DOCS[0].id)
  const [doc, setDoc] = useState<Record<string, any>>()
  const [error, setError] = useState<string>()
  const [filter, setFilter] = useState('')
  const d = DOCS.find(x => x.id === which) ?? DOCS[0]
  useEffect(() => {
    setDoc(undefined); setError(undefined)
    const ac = new AbortController()
    client.openapi(d.path, { signal: ac.signal }).then(setDoc, err => { if (!ac.signal.aborted) setError(errorText(err)) })
    return () => { ac.abort() }
  }, [client, d.path])
  const ops: Op[] = useMemo(() => {
    const out: Op[] = []
    for (const [p, item] of Object.entries<any>(doc?.paths ?? {})) {
      for (const m of METHODS) if (item[m] !== undefined) out.push({ method: m.toUpperCase(), path: p, ...item[m] })
    }
    const f = filter.trim().toLowerCase()
    return f === '' ? out : out.filter(o => `${o.method} ${o.path} ${o.summary ?? ''}`.toLowerCase().includes(f))
  }, [doc, filter])
  const base = d.id === 'cloud' ? location.origin + '/cloud/api/v1' : location.origin
  return (
    <section aria-labelledby="docs-title">
      <h1 id="docs-title">API docs</h1>
      <div className="toolbar">
        <label htmlFor="doc">API</label>
        <select id="doc" value={which} onChange={e => { setWhich(e.target.value) }}>
          {DOCS.map(x => <option key={x.id} value={x.id}>{x.title}</option>)}
        </select>
        <label htmlFor="doc-filter">Filter</label>
        <input id="doc-filter" type="search" value={filter} onChange={e => { setFilter(e.target.value) }} placeholder="path or words" />
        <a href={d.path} target="_blank" rel="noopener noreferrer">OpenAPI JSON</a>
      </div>
      <ErrorNote error={error} />
      {doc === undefined && error === undefined && <p aria-live="polite">Loading…</p>}
      {doc !== undefined && <p className="muted">{doc.info?.title} {doc.info?.version} · {ops.length} operations</p>}
      {ops.map(o => {
        const curl = curlOf(o, base, d.auth)
        return (
          <details key={`${o.method} ${o.path}`} className="op">
            <summary><span className={`method m-${o.method.toLowerCase()}`}>{o.method}</span> <code>{o.path}</code> <span className="muted">{o.summary}</span></summary>
            {o.description !== undefined && <p>{o.description}</p>}
            {(o.parameters ?? []).length > 0 && (
              <table>
                <thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Description</th></tr></thead>
                <tbody>{(o.parameters ?? []).map((p: any) => <tr key={`${p.in}:${p.name}`}><td><code>{p.name}</code>{p.required === true ? ' *' : ''}</td><td>{p.in}</td><td>{p.description ?? p.schema?.type ?? ''}</td></tr>)}</tbody>
              </table>
            )}
            <div className="curl"><pre tabIndex={0}>{curl}</pre><CopyButton text={curl} label="Copy curl" /></div>
          </details>
        )
      })}
    </section>
  )
}

function curlOf (o: Op, base: string, auth: string): string {
  const path = o.path.replace(/\{(\w+)\}/g, (_m, n: string) => `$${n.toUpperCase()}`)
  const query = (o.parameters ?? []).filter((p: any) => p.in === 'query' && p.required === true).map((p: any) => `${p.name}=…`).join('&')
  const parts = [`curl -s -X ${o.method} "${base}${path}${query !== '' ? '?' + query : ''}"`]
  const open = Array.isArray(o.security) && o.security.length === 0
  if (!open) parts.push(auth)
  const content = o.requestBody?.content ?? {}
  if (content['multipart/form-data'] !== undefined) parts.push('-F file=@./example.txt')
  else if (content['application/json'] !== undefined) {
    const props = content['application/json'].schema?.properties ?? {}
    const example = Object.fromEntries(Object.entries<any>(props).slice(0, 6).map(([k, v]) => [k, sample(v)]))
    parts.push("-H 'Content-Type: application/json'", `-d '${JSON.stringify(example)}'`)
  }
  return parts.join(' \\\n  ')
}

function sample (s: any): unknown {
  const t = Array.isArray(s?.type) ? s.type[0] : s?.type
  if (s?.default !== undefined) return s.default
  if (Array.isArray(s?.enum)) return s.enum[0]
  switch (t) {
    case 'integer': case 'number': return 0
    case 'boolean': return false
    case 'array': return []
    case 'object': return {}
    default: return '…'
  }
}
