import type * as React from 'react'
import { useCallback, useEffect, useMemo, useState } from 'react'
import type { CairnClient } from '@cairn/sdk'
import { navigate, pageOf, usePath, type Page } from './router'
import { clientFor, loadSession, saveSession, type SessionInfo } from './session'
import { LoginPage } from './pages/Login'
import { UploadPage } from './pages/Upload'
import { FilesPage } from './pages/Files'
import { RetrievePage } from './pages/Retrieve'
import { KeysPage } from './pages/Keys'
import { UsagePage } from './pages/Usage'
import { DocsPage } from './pages/Docs'

const NAV: Array<[Page, string]> = [
  ['files', 'Files'], ['upload', 'Upload'], ['retrieve', 'Retrieve'], ['keys', 'API keys'], ['usage', 'Usage'], ['docs', 'Docs']
]

export interface PageProps { client: CairnClient, session: SessionInfo }

export function App (): React.JSX.Element {
  const path = usePath()
  const [session, setSession] = useState<SessionInfo | undefined>(loadSession)
  const client = useMemo(() => clientFor(session), [session])
  const page = pageOf(path) ?? (session === undefined ? 'login' : 'files')
  const needsLogin = session === undefined && page !== 'docs' && page !== 'login'

  useEffect(() => {
    if (pageOf(path) === undefined) history.replaceState(null, '', `/app/${page}`)
  }, [path, page])
  useEffect(() => {
    const title = NAV.find(([p]) => p === page)?.[1] ?? 'Sign in'
    document.title = `${title} · Cairn`
    document.getElementById('main')?.focus({ preventScroll: true })
  }, [page])

  const signedIn = useCallback((s: SessionInfo) => {
    saveSession(s)
    setSession(s)
    navigate('files')
  }, [])
  const logout = useCallback(async () => {
    try { await client.keys.logout() } catch { /* the key may have expired already */ }
    saveSession(undefined)
    setSession(undefined)
    navigate('login')
  }, [client])

  const shown: Page = needsLogin ? 'login' : page
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <a className="brand" href="/app/files" onClick={e => { e.preventDefault(); navigate(session === undefined ? 'login' : 'files') }}>Cairn</a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter(([p]) => session !== undefined || p === 'docs').map(([p, label]) => (
              <li key={p}>
                <a href={`/app/${p}`} aria-current={shown === p ? 'page' : undefined} onClick={e => { e.preventDefault(); navigate(p) }}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          {session !== undefined
            ? <><span className="muted" title="signed in as">{session.email ?? session.zelid}</span> <button type="button" onClick={() => { void logout() }}>Log out</button></>
            : shown !== 'login' && <a href="/app/login" onClick={e => { e.preventDefault(); navigate('login') }}>Sign in</a>}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {shown === 'login' && <LoginPage onSignedIn={signedIn} />}
        {shown === 'docs' && <DocsPage />}
        {session !== undefined && shown === 'files' && <FilesPage client={client} session={session} />}
        {session !== undefined && shown === 'upload' && <UploadPage client={client} session={session} />}
        {session !== undefined && shown === 'retrieve' && <RetrievePage client={client} session={session} />}
        {session !== undefined && shown === 'keys' && <KeysPage client={client} session={session} />}
        {session !== undefined && shown === 'usage' && <UsagePage client={client} session={session} />}
      </main>
    </>
  )
}
