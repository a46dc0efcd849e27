/** A tiny router over history: pages live under /app/<page> (the server answers index.html there). */
import { useEffect, useState } from 'react'

export const PAGES = ['files', 'upload', 'retrieve', 'keys', 'usage', 'docs', 'login'] as const
export type Page = typeof PAGES[number]

export function pageOf (path: string): Page | undefined {
  const m = /^\/app\/([a-z]+)\/?$/.exec(path)
  return m !== null && (PAGES as readonly string[]).includes(m[1]) ? m[1] as Page : undefined
}

export function navigate (page: Page, search = ''): void {
  history.pushState(null, '', `/app/${page}${search}`)
  dispatchEvent(new PopStateEvent('popstate'))
}

export function usePath (): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const on = (): void => { setPath(location.pathname) }
    addEventListener('popstate', on)
    return () => { removeEventListener('popstate', on) }
  }, [])
  return path
}
