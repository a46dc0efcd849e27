import type * as React from 'react'
import { useState } from 'react'

export function CopyButton ({ text, label = 'Copy' }: { text: string, label?: string }): React.JSX.Element {
  const [done, setDone] = useState(false)
  return (
    <button type="button" className="small" onClick={() => {
      void navigator.clipboard?.writeText(text).then(() => { setDone(true); setTimeout(() => { setDone(false) }, 1500) }, () => {})
    }} aria-label={`${label}: ${text.length > 40 ? text.slice(0, 40) + '…' : text}`}>{done ? 'Copied' : label}</button>
  )
}

export function ErrorNote ({ error }: { error: string | undefined }): React.JSX.Element | null {
  if (error === undefined) return null
  return <p role="alert" className="error">{error}</p>
}
