/**
 * The HTTP status of each core error code, as most dialects answer it. A dialect states only
 * where its clients' documents say otherwise (statusTable's overrides), so that a new code
 * gets a sensible status everywhere at once and the differences stay visible.
 */
import type { ErrorCode } from '../core/errors.js'

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  unauthenticated: 401,
  subscription_inactive: 402,
  forbidden: 403,
  not_found: 404,
  invalid_argument: 400,
  file_too_large: 413,
  quota_exceeded: 413,
  rate_limited: 429,
  conflict: 409,
  failed_precondition: 409,
  unsupported_media: 415,
  aborted: 400,
  unavailable: 503
}

export function statusTable (overrides: Partial<Record<ErrorCode, number>> = {}): Readonly<Record<ErrorCode, number>> {
  return { ...HTTP_STATUS, ...overrides }
}
