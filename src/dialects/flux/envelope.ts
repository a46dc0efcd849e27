/**
 * The Flux envelope: `{status:'success', data}` and `{status:'error', data:{code, name,
 * message}}`. Unlike the original node, which answers HTTP 200 to everything, errors carry
 * the HTTP status that matches them (and the same number in data.code), so generic clients
 * can tell failure from success; Flux clients that read only the body see what they expect.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'

export const STATUS: Record<ErrorCode, number> = {
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

const NAMES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable'
}

export const UNAUTHORIZED = 'Unauthorized. Access denied.'

export function success (data: unknown): { status: 'success', data: unknown } {
  return { status: 'success', data }
}

export function message (text: unknown): { status: 'success', data: { code?: number, name?: string, message: unknown } } {
  return { status: 'success', data: { message: text } }
}

export function errorBody (status: number, text: string): { status: 'error', data: { code: number, name: string, message: string } } {
  return { status: 'error', data: { code: status, name: NAMES[status] ?? 'Error', message: text } }
}

export function fluxErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (req.raw.complete === false) reply.header('connection', 'close')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    const status = STATUS[err.code]
    void reply.code(status).send(errorBody(status, err.message))
    return
  }
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    const code = (err as FastifyError).code
    const text = code === 'FST_REQ_FILE_TOO_LARGE' ? 'File size exceeds the limit'
      : code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'Request body too large'
        : err.message
    void reply.code(status).send(errorBody(status, text))
    return
  }
  req.log.error({ err }, 'unhandled error')
  void reply.code(500).send(errorBody(500, 'Internal server error'))
}
