/**
 * The Upload API's error envelope. Its docs show no error bodies, so Cairn answers
 * `{ "error": "<message>", "code": "<code>" }` plus the error's details (e.g. `missingParts`,
 * `rule`), with the statuses below.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'
import { statusTable } from '../../http/error-status.js'

const STATUS = statusTable()

export function statusOf (code: ErrorCode): number { return STATUS[code] }

export function bucketsErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  // a part refused mid-stream: answer now and close, rather than read what we will not keep
  if (req.raw.complete === false) reply.header('connection', 'close')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer realm="Cairn upload sessions"')
    const { retryAfterSeconds: _r, ...details } = err.details
    void reply.code(STATUS[err.code]).send({ error: err.message, code: err.code, ...details })
    return
  }
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.code(status).send({ error: err.message, code: 'invalid_argument' })
    return
  }
  req.log.error({ err }, 'unhandled error')
  void reply.code(500).send({ error: 'Internal server error', code: 'internal' })
}
