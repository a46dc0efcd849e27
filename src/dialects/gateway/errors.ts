/**
 * The gateway's error envelope, as its docs show it: `{ "status", "error", "message" }`,
 * `error` being the status's name. Domain codes map to the statuses of its error table.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'

const STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401,
  subscription_inactive: 403, // "Account suspended"
  forbidden: 403,
  not_found: 404,
  invalid_argument: 400,
  file_too_large: 413,
  quota_exceeded: 413,
  rate_limited: 429,
  conflict: 409,
  failed_precondition: 422,
  unsupported_media: 400,
  aborted: 400,
  unavailable: 503
}

/** statuses this API documents; other client errors from the framework become 400 */
const DOCUMENTED = new Set([400, 401, 403, 404, 409, 413, 422, 429])

export function envelope (status: number, message: string): { status: number, error: string, message: string } {
  return { status, error: STATUS_CODES[status] ?? 'Error', message }
}

export function sendError (reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send(envelope(status, message))
}

export function gatewayErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  // an upload refused mid-stream: answer now and close, rather than read what we will not keep
  if (req.raw.complete === false) reply.header('connection', 'close')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) {
      reply.header('retry-after', String(err.retryAfterSeconds))
      void sendError(reply, 429, `Rate limit exceeded: try again in ${err.retryAfterSeconds} seconds (Retry-After)`)
      return
    }
    void sendError(reply, STATUS[err.code], err.message)
    return
  }
  const e = err as FastifyError
  const status = e.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    void sendError(reply, DOCUMENTED.has(status) ? status : 400, clientMessage(e))
    return
  }
  req.log.error({ err }, 'unhandled error')
  void sendError(reply, 500, 'Internal server error')
}

function clientMessage (err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'Unsupported Content-Type: send application/json (or multipart/form-data for uploads)'
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'Request body too large'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'Empty JSON body'
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return 'Malformed JSON body'
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': return 'Malformed multipart body'
    case 'FST_FILES_LIMIT': return 'Too many files in one request'
    case 'FST_PARTS_LIMIT': return 'Too many parts in one request'
    case 'FST_FIELDS_LIMIT': return 'Too many fields in one request'
    case 'FST_REQ_FILE_TOO_LARGE': return 'File size exceeds the limit'
    default: return err.message
  }
}
