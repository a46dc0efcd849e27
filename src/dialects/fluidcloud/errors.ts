/**
 * FluidCloud's one error shape: `{"detail": string | object}`. A string for most statuses;
 * an object with a stable `error` for 402 (`quota_exceeded`) and 403 (`insufficient_scope`,
 * `feature_not_in_plan`), the only ones clients branch on. See docs/fluidcloud.md.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError, RateLimitedError, type CairnError, type ErrorCode } from '../../core/errors.js'
import { statusTable } from '../../http/error-status.js'

// FluidCloud's table: a validation error is 422, an inactive plan 403 (feature_not_in_plan),
// a quota 402; there is no 415
const STATUS = statusTable({ subscription_inactive: 403, invalid_argument: 422, quota_exceeded: 402, failed_precondition: 422, unsupported_media: 400 })

export type Detail = string | { error: string, message: string, [k: string]: unknown }

export function sendDetail (reply: FastifyReply, status: number, detail: Detail): FastifyReply {
  return reply.code(status).send({ detail })
}

function detailOf (err: CairnError): Detail {
  switch (err.code) {
    case 'quota_exceeded': return { error: 'quota_exceeded', message: err.message, ...err.details }
    case 'forbidden': return { error: String(err.details.error ?? 'forbidden'), message: err.message, ...err.details }
    case 'subscription_inactive': return { error: 'feature_not_in_plan', message: err.message }
    case 'rate_limited': return `Too many requests — retry after ${String(err.details.retryAfterSeconds)} s`
    default: return err.message
  }
}

export function cloudErrorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (req.raw.complete === false) reply.header('connection', 'close')
  if (isCairnError(err)) {
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    void sendDetail(reply, STATUS[err.code], detailOf(err))
    return
  }
  const e = err as FastifyError
  if (e.code === 'FST_ERR_VALIDATION') {
    void sendDetail(reply, 422, e.message)
    return
  }
  const status = e.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    const mapped = status === 413 || status === 415 ? status : 400
    void sendDetail(reply, mapped === 415 ? 400 : mapped, clientMessage(e))
    return
  }
  req.log.error({ err }, 'unhandled error')
  void sendDetail(reply, 500, 'Internal server error')
}

function clientMessage (err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'Unsupported Content-Type: send application/json (multipart/form-data for POST /files)'
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'Request body too large'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'Empty JSON body'
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return 'Malformed JSON body'
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': return 'Malformed multipart body'
    case 'FST_REQ_FILE_TOO_LARGE': return 'File size exceeds the limit'
    default: return err.message
  }
}
