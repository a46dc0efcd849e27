/**
 * The gateway's errors: plain text, as IPFS gateways answer, with the statuses the path and
 * trustless gateway specifications give (404 for content not served here, 400 for a bad
 * request or parameter, 406 for an Accept variant not offered, 412 for only-if-cached).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'
import { statusTable } from '../../http/error-status.js'

// a gateway: an Accept variant not offered is 406, a store it cannot reach is 502
const STATUS = statusTable({ unsupported_media: 406, unavailable: 502 })

export function gatewayErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  // a stream already under way cannot change its status: cut it, so the client sees it incomplete
  if (reply.sent || reply.raw.headersSent) { reply.raw.destroy(err); return }
  void reply.header('content-type', 'text/plain; charset=utf-8')
  reply.removeHeader('content-disposition')
  reply.removeHeader('content-length')
  reply.removeHeader('etag')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    // errors are not immutable: a 404 now may be a 200 after an upload
    reply.header('cache-control', 'no-cache')
    void reply.code(STATUS[err.code]).send(`${err.message}\n`)
    return
  }
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.code(status).send(`${err.message}\n`)
    return
  }
  req.log.error({ err }, 'unhandled gateway error')
  void reply.code(500).send('Internal server error\n')
}
