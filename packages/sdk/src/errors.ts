/** Typed errors carrying the server's status, code and message, whatever dialect answered. */

export class CairnApiError extends Error {
  override readonly name: string = 'CairnApiError'
  constructor (
    readonly status: number,
    readonly code: string,
    message: string,
    /** the raw body: parsed JSON when it was JSON, else the text */
    readonly body: unknown,
    readonly headers?: Headers
  ) { super(message) }
}
/** 401, or 403 (suspended account, invalidated key, missing scope) */
export class AuthError extends CairnApiError { override readonly name = 'AuthError' }
export class NotFoundError extends CairnApiError { override readonly name = 'NotFoundError' }
/** over capacity, a plan's cap or a size limit (402, 413, and the pinning API's 409 INSUFFICIENT_FUNDS) */
export class QuotaError extends CairnApiError { override readonly name = 'QuotaError' }
export class RateLimitedError extends CairnApiError {
  override readonly name = 'RateLimitedError'
  /** seconds the server asked to wait (Retry-After), when it said */
  retryAfter?: number
}
/** the request never got an answer (connection refused, reset, DNS) */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'
  constructor (message: string, override readonly cause?: unknown) { super(message) }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'bad_request', 401: 'unauthorized', 402: 'payment_required', 403: 'forbidden', 404: 'not_found',
  409: 'conflict', 410: 'gone', 413: 'payload_too_large', 416: 'range_not_satisfiable', 422: 'unprocessable_entity',
  429: 'rate_limited', 500: 'internal_server_error', 503: 'service_unavailable'
}

/** code and message out of each dialect's envelope */
export function parseEnvelope (status: number, body: unknown): { code: string, message: string } {
  const fallback = { code: STATUS_NAMES[status] ?? `http_${status}`, message: `HTTP ${status}` }
  if (typeof body === 'string') return { ...fallback, message: body.trim() === '' ? fallback.message : body.slice(0, 500) }
  if (body === null || typeof body !== 'object') return fallback
  const b = body as Record<string, any>
  // Pinning Service API: {error: {reason, details}}; admin API: {error: {code, message}}
  if (b.error !== null && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>
    return { code: String(e.reason ?? e.code ?? fallback.code), message: String(e.details ?? e.message ?? e.reason ?? fallback.message) }
  }
  // FluidCloud: {detail: string | {error, message}}
  if ('detail' in b) {
    if (typeof b.detail === 'string') return { code: fallback.code, message: b.detail }
    if (b.detail !== null && typeof b.detail === 'object') return { code: String(b.detail.error ?? fallback.code), message: String(b.detail.message ?? b.detail.error ?? fallback.message) }
  }
  // Flux: {status: 'error', data: {code, name, message}}
  if (b.status === 'error' && b.data !== null && typeof b.data === 'object') {
    return { code: String(b.data.name ?? fallback.code), message: String(b.data.message ?? fallback.message) }
  }
  // Gateway API: {status, error, message}; buckets/tus/FluxDrive: {error, code?}
  if (typeof b.error === 'string') {
    if (typeof b.message === 'string') return { code: typeof b.code === 'string' ? b.code : b.error, message: b.message }
    return { code: typeof b.code === 'string' ? b.code : fallback.code, message: b.error }
  }
  if (typeof b.message === 'string') return { code: fallback.code, message: b.message }
  return fallback
}

export function retryAfterSeconds (headers: Headers): number | undefined {
  const v = headers.get('retry-after')
  if (v === null) return undefined
  if (/^\d+$/.test(v.trim())) return Number(v.trim())
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

export function apiError (status: number, body: unknown, headers?: Headers): CairnApiError {
  const { code, message } = parseEnvelope(status, body)
  if (status === 429) {
    const e = new RateLimitedError(status, code, message, body, headers)
    if (headers !== undefined) e.retryAfter = retryAfterSeconds(headers)
    return e
  }
  if (status === 401 || status === 403) return new AuthError(status, code, message, body, headers)
  if (status === 404 || status === 410) return new NotFoundError(status, code, message, body, headers)
  if (status === 402 || status === 413 || code === 'INSUFFICIENT_FUNDS' || code === 'quota_exceeded') return new QuotaError(status, code, message, body, headers)
  return new CairnApiError(status, code, message, body, headers)
}
