/**
 * FluxDrive's error envelope: `{ "error": "<message>" }` with the statuses its docs list.
 * Domain codes map here; anything unexpected is a logged 500 with no internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type ErrorCode } from '../../core/errors.js'
import { statusTable } from '../../http/error-status.js'

// FluxDrive's documents answer 400 for any malformed input, an unsupported type included
const STATUS = statusTable({ unsupported_media: 400 })

export function fluxdriveErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  // an upload refused mid-stream: answer now and close, rather than read gigabytes we will not keep
  if (req.raw.complete === false) reply.header('connection', 'close')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Basic realm="FluxDrive", charset="UTF-8"')
    void reply.code(STATUS[err.code]).send({ error: err.message })
    return
  }
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.code(status).send({ error: clientMessage(err as FastifyError) })
    return
  }
  req.log.error({ err }, 'unhandled error')
  void reply.code(500).send({ error: 'Internal server error' })
}

function clientMessage (err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'Unsupported Content-Type'
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'Request body too large'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'Empty JSON body'
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': return 'Malformed multipart body'
    case 'FST_FILES_LIMIT': return 'Too many files in one request'
    case 'FST_PARTS_LIMIT': return 'Too many parts in one request'
    case 'FST_FIELDS_LIMIT': return 'Too many fields in one request'
    case 'FST_REQ_FILE_TOO_LARGE': return 'File size exceeds the limit'
    default: return err.message
  }
}
