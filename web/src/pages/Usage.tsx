import type * as React from 'react'
import { useEffect, useState } from 'react'
import type { Usage } from '@cairn/sdk'
import type { PageProps } from '../App'
import { ErrorNote } from '../components'
import { bytes, errorText } from '../format'

export function UsagePage ({ client }: PageProps): React.JSX.Element {
  const [u, setU] = useState<Usage>()
  const [error, setError] = useState<string>()
  useEffect(() => { client.keys.usage().then(setU, err => { setError(errorText(err)) }) }, [client])
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <ErrorNote error={error} />
      {u !== undefined && (
        <>
          <Meter label="Storage" value={u.used_bytes} max={u.capacity_bytes} text={`${bytes(u.used_bytes)} of ${bytes(u.capacity_bytes)}`} />
          <Meter label="Share links" value={u.share_links} max={u.share_links_max} text={`${u.share_links} of ${u.share_links_max}`} />
          <p>{u.file_count} file{u.file_count === 1 ? '' : 's'}.</p>
          <h2>Stored over the last 90 days</h2>
          <Chart history={u.history} />
        </>
      )}
    </section>
  )
}

function Meter ({ label, value, max, text }: { label: string, value: number, max: number, text: string }): React.JSX.Element {
  const id = `meter-${label.replace(/\W/g, '')}`
  return (
    <div className="meter">
      <label htmlFor={id}>{label}: {text}</label>
      <meter id={id} min={0} max={Math.max(1, max)} value={value} high={max * 0.9}>{text}</meter>
    </div>
  )
}

/** a small SVG line of cumulative bytes by day; the numbers are in a table for screen readers */
function Chart ({ history }: { history: Usage['history'] }): React.JSX.Element {
  const W = 600; const H = 160; const P = 4
  const max = Math.max(1, ...history.map(h => h.bytes))
  const x = (i: number): number => P + (i * (W - 2 * P)) / Math.max(1, history.length - 1)
  const y = (b: number): number => H - P - (b / max) * (H - 2 * P)
  const line = history.map((h, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(h.bytes).toFixed(1)}`).join(' ')
  const last = history[history.length - 1]
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Bytes stored by day, from ${history[0]?.date} (${bytes(history[0]?.bytes)}) to ${last?.date} (${bytes(last?.bytes)})`}>
        <path d={`${line} L${x(history.length - 1)},${H - P} L${x(0)},${H - P} Z`} className="area" />
        <path d={line} className="line" />
      </svg>
      <figcaption className="muted small-text">{history[0]?.date} – {last?.date}: peak {bytes(max)}</figcaption>
      <details>
        <summary>As a table</summary>
        <table><thead><tr><th scope="col">Day</th><th scope="col">Stored</th></tr></thead>
          <tbody>{history.filter((h, i) => i === 0 || h.bytes !== history[i - 1].bytes).map(h => <tr key={h.date}><td>{h.date}</td><td>{bytes(h.bytes)}</td></tr>)}</tbody>
        </table>
      </details>
    </figure>
  )
}
