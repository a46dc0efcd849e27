/**
 * Domain errors: a stable `code`, a human message, no HTTP status. Each dialect owns a table
 * from code to its own status and envelope.
 */
export type ErrorCode =
  | 'unauthenticated'       // no or unknown credentials
  | 'subscription_inactive'
  | 'forbidden'
  | 'not_found'
  | 'invalid_argument'
  | 'file_too_large'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'conflict'
  | 'failed_precondition'   // valid request the current state rejects (gateway: 422)
  | 'unsupported_media'
  | 'aborted'
  | 'unavailable'

export class CairnError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown>
  constructor (code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'CairnError'
    this.code = code
    this.details = details
  }
}

export class RateLimitedError extends CairnError {
  readonly retryAfterSeconds: number
  constructor (retryAfterSeconds: number) {
    super('rate_limited', 'Too many requests', { retryAfterSeconds })
    this.retryAfterSeconds = retryAfterSeconds
  }
}

export const notFound = (what = 'Not found'): CairnError => new CairnError('not_found', what)
export const invalid = (message: string, details: Record<string, unknown> = {}): CairnError => new CairnError('invalid_argument', message, details)

export function isCairnError (err: unknown): err is CairnError {
  return err instanceof CairnError
}
