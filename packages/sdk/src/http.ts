/** The transport: auth headers, retries (429 with Retry-After; network errors when idempotent), errors. */
import { apiError, NetworkError, RateLimitedError, retryAfterSeconds } from './errors.js'

export interface Session { zelid: string, loginPhrase: string, signature: string }

export interface TransportOptions {
  baseUrl: string
  apiKey?: string
  basic?: { zelid: string, key: string }
  session?: Session
  cloudKey?: string
  fetch?: typeof fetch
  /** retries after the first attempt (default 3) */
  retries?: number
  /** the longest Retry-After honoured, in seconds (default 60); a longer one throws RateLimitedError */
  maxRetryAfter?: number
  /** first backoff after a network error, in ms (default 250, doubled each retry) */
  backoffMs?: number
}

/** which credential a call sends */
export type Auth = 'key' | 'bearer' | 'basic' | 'session' | 'cloud' | 'none'

export interface RequestOptions {
  auth?: Auth
  query?: Record<string, string | number | boolean | undefined | null>
  json?: unknown
  /** a body, or a function making a fresh one for each attempt (so a streamed body can be sent again after a 429) */
  body?: BodyInit | (() => BodyInit)
  headers?: Record<string, string>
  signal?: AbortSignal
  /** safe to send again after a network error (default: GET, HEAD, DELETE, PUT) */
  idempotent?: boolean
  /** answer the Response as it is, without reading or throwing on its status */
  raw?: boolean
}

/** a wait that ends early, rejecting with the signal's reason, on abort */
export const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => await new Promise((resolve, reject) => {
  if (signal?.aborted === true) { reject(signal.reason); return }
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
  const onAbort = (): void => { clearTimeout(t); reject(signal?.reason) }
  signal?.addEventListener('abort', onAbort, { once: true })
})

function replayable (body: BodyInit | undefined | null): boolean {
  return body == null || typeof body === 'string' || body instanceof Blob || body instanceof FormData ||
    body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof URLSearchParams
}

export class Transport {
  readonly baseUrl: string
  session?: Session
  private readonly fetchImpl: typeof fetch
  constructor (readonly opts: TransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.session = opts.session
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis)
  }

  /** the account key: apiKey, or the key half of basic */
  get accountKey (): string | undefined { return this.opts.apiKey ?? this.opts.basic?.key }

  url (path: string, query?: RequestOptions['query']): string {
    const u = new URL(/^https?:/.test(path) ? path : this.baseUrl + path)
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) u.searchParams.set(k, String(v))
    return u.toString()
  }

  authHeaders (auth: Auth): Record<string, string> {
    const need = (v: string | undefined, what: string): string => {
      if (v === undefined) throw new TypeError(`this call needs ${what} in the CairnClient options`)
      return v
    }
    switch (auth) {
      case 'none': return {}
      case 'key': return { 'x-api-key': need(this.accountKey, 'apiKey (or basic)') }
      case 'bearer': return { authorization: `Bearer ${need(this.accountKey, 'apiKey (or basic)')}` }
      case 'cloud': return { 'x-api-key': need(this.opts.cloudKey, 'cloudKey') }
      case 'session': {
        const s = this.session
        if (s === undefined) throw new TypeError('this call needs a wallet session: wallet.login() first, or pass session')
        return { zelidauth: JSON.stringify({ zelid: s.zelid, signature: s.signature, loginPhrase: s.loginPhrase }) }
      }
      case 'basic': {
        if (this.opts.basic !== undefined) {
          const raw = `${this.opts.basic.zelid}:${this.opts.basic.key}`
          return { authorization: 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(raw))) }
        }
        return this.authHeaders('session')
      }
    }
  }

  /** fetch with retries; throws a typed error on a non-2xx status unless raw */
  async request (method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...this.authHeaders(o.auth ?? 'key'), ...o.headers }
    const make = typeof o.body === 'function' ? o.body : undefined
    let body = make === undefined ? o.body as BodyInit | undefined : undefined
    if (o.json !== undefined) { body = JSON.stringify(o.json); headers['content-type'] ??= 'application/json' }
    const canResend = make !== undefined || replayable(body)
    const idempotent = (o.idempotent ?? ['GET', 'HEAD', 'DELETE', 'PUT'].includes(method)) && canResend
    const retries = this.opts.retries ?? 3
    const url = this.url(path, o.query)
    for (let attempt = 0; ; attempt++) {
      let res: Response
      if (make !== undefined) body = make()
      try {
        const init: RequestInit & { duplex?: string } = { method, headers, body, signal: o.signal }
        if (body instanceof ReadableStream) init.duplex = 'half'
        res = await this.fetchImpl(url, init)
      } catch (err) {
        if (o.signal?.aborted === true) throw o.signal.reason
        if (!idempotent || attempt >= retries) throw new NetworkError(`${method} ${url}: ${(err as Error).message}`, err)
        await sleep((this.opts.backoffMs ?? 250) * 2 ** attempt * (0.75 + Math.random() / 2), o.signal)
        continue
      }
      if (res.status === 429 && attempt < retries && canResend) {
        const wait = retryAfterSeconds(res.headers) ?? 2 ** attempt
        if (wait <= (this.opts.maxRetryAfter ?? 60)) {
          await res.body?.cancel()
          await sleep(wait * 1000, o.signal)
          continue
        }
      }
      if (o.raw === true || res.ok) return res
      throw await errorOf(res)
    }
  }

  async json<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, o)
    const text = await res.text()
    return (text === '' ? undefined : JSON.parse(text)) as T
  }
}

export async function errorOf (res: Response): Promise<Error> {
  const text = await res.text().catch(() => '')
  let body: unknown = text
  try { body = text === '' ? undefined : JSON.parse(text) } catch {}
  return apiError(res.status, body, res.headers)
}

export { RateLimitedError }
