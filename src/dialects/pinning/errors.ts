/**
 * The Pinning Service API's error shape: `{ "error": { "reason": "MACHINE_CODE", "details":
 * "for humans" } }`, with the statuses the specification names (400, 401, 404, 409
 * INSUFFICIENT_FUNDS) and custom 4XX/5XX ones for the rest.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'

const TABLE: Record<ErrorCode, [number, string]> = {
  unauthenticated: [401, 'UNAUTHORIZED'],
  // the account cannot pay for more: the spec's 409
  subscription_inactive: [409, 'INSUFFICIENT_FUNDS'],
  quota_exceeded: [409, 'INSUFFICIENT_FUNDS'],
  file_too_large: [409, 'INSUFFICIENT_FUNDS'],
  forbidden: [403, 'FORBIDDEN'],
  not_found: [404, 'NOT_FOUND'],
  invalid_argument: [400, 'BAD_REQUEST'],
  unsupported_media: [400, 'BAD_REQUEST'],
  aborted: [400, 'BAD_REQUEST'],
  rate_limited: [429, 'RATE_LIMITED'],
  conflict: [409, 'CONFLICT'],
  failed_precondition: [422, 'UNPROCESSABLE'],
  unavailable: [503, 'SERVICE_UNAVAILABLE']
}

export function sendFailure (reply: FastifyReply, status: number, reason: string, details?: string): FastifyReply {
  return reply.code(status).send({ error: details === undefined ? { reason } : { reason, details } })
}

export function pinningErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (isCairnError(err)) {
    const [status, reason] = TABLE[err.code]
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="pins"')
    void sendFailure(reply, status, reason, err.message)
    return
  }
  const e = err as FastifyError
  const status = e.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    const details = e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      ? 'Unsupported Content-Type: send application/json'
      : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'Empty JSON body: send a Pin object' : e.message
    void sendFailure(reply, status === 413 ? 413 : 400, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', details)
    return
  }
  req.log.error({ err }, 'unhandled error')
  void sendFailure(reply, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error')
}
