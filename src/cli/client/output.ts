/**
 * Output of the client commands: text for people, one JSON document on stdout with --json;
 * errors as one line on stderr (JSON with --json) and a documented exit code.
 */
import { AuthError, CairnApiError, NetworkError, NotFoundError, QuotaError, RateLimitedError } from '../../../packages/sdk/src/index.js'

export const EXIT = {
  ok: 0,
  /** anything else: a server error, a refused request, a local file problem */
  error: 1,
  /** bad arguments or options, a bad config file */
  usage: 2,
  /** not logged in, a wrong, revoked or expired key, a suspended account */
  auth: 3,
  /** no such file, CID, key or task */
  notFound: 4,
  /** over capacity or a size limit */
  quota: 5,
  /** rate limited (the server's Retry-After was too long to wait) */
  rateLimited: 6,
  /** the server could not be reached */
  network: 7,
  /** interrupted (Ctrl-C); a resumable upload can be run again */
  interrupted: 130
} as const

export class CliError extends Error {
  constructor (readonly exitCode: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}) { super(message) }
}

interface ErrorView { exitCode: number, code: string, message: string, status?: number, retryAfter?: number }

/** any error as an exit code and one clear line (no stack traces for what we expect) */
export function errorView (err: unknown): ErrorView {
  if (err instanceof CliError) return { exitCode: err.exitCode, code: err.code, message: err.message }
  if (err instanceof RateLimitedError) return { exitCode: EXIT.rateLimited, code: err.code, status: err.status, retryAfter: err.retryAfter, message: `rate limited by the server${err.retryAfter === undefined ? '' : `: try again in ${err.retryAfter} s`} (${err.message})` }
  if (err instanceof AuthError) {
    const hint = err.status === 401 ? ': the API key is wrong or missing; run `cairn login`' : ''
    return { exitCode: EXIT.auth, code: err.code, status: err.status, message: `${err.message}${hint}` }
  }
  if (err instanceof NotFoundError) return { exitCode: EXIT.notFound, code: err.code, status: err.status, message: err.message }
  if (err instanceof QuotaError) return { exitCode: EXIT.quota, code: err.code, status: err.status, message: err.message }
  if (err instanceof CairnApiError) return { exitCode: err.status === 400 ? EXIT.usage : EXIT.error, code: err.code, status: err.status === 0 ? undefined : err.status, message: err.message }
  if (err instanceof NetworkError) return { exitCode: EXIT.network, code: 'network_error', message: `could not reach the server: ${err.message}` }
  const e = err as NodeJS.ErrnoException
  if (e?.name === 'AbortError') return { exitCode: EXIT.interrupted, code: 'interrupted', message: 'interrupted' }
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') {
    // a local file problem: ENOENT, EACCES, EISDIR, ...
    return { exitCode: e.code === 'ENOENT' ? EXIT.notFound : EXIT.error, code: e.code.toLowerCase(), message: e.message }
  }
  if (e instanceof TypeError || e instanceof RangeError) return { exitCode: EXIT.usage, code: 'invalid_argument', message: e.message }
  return { exitCode: EXIT.error, code: 'error', message: e?.message ?? String(err) }
}

export function reportError (err: unknown, json: boolean): number {
  const v = errorView(err)
  const extra = err instanceof CliError ? err.extra : {}
  if (json) {
    process.stderr.write(JSON.stringify({ error: { code: v.code, message: v.message, exit_code: v.exitCode, ...(v.status === undefined ? {} : { status: v.status }), ...(v.retryAfter === undefined ? {} : { retry_after: v.retryAfter }), ...extra } }) + '\n')
  } else {
    process.stderr.write(`cairn: ${v.message}\n`)
  }
  return v.exitCode
}

/** the one result of a command: JSON (--json) or text */
export function emit (json: boolean, data: unknown, text: () => string): void {
  if (json) { process.stdout.write(JSON.stringify(data, null, 2) + '\n'); return }
  const t = text()
  if (t !== '') process.stdout.write(t.endsWith('\n') ? t : t + '\n')
}

/** a note for people on stderr (never with --json, never on stdout) */
export function note (json: boolean, line: string): void {
  if (!json) process.stderr.write(line + '\n')
}

export function bytes (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`
}
