import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseCid } from '../../../core/content/cids.js'
import { FILES_SPACE, type FileSort, type UploadSource } from '../../../core/drive.js'
import { CairnError, invalid } from '../../../core/errors.js'
import { DELETE_BULK_JOB, PIN_JOB, type DeleteBulkPayload, type PinPayload } from '../../../core/file-tasks.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { bodyStream } from '../../../http/body-stream.js'
import { openMultipart } from '../../../http/multipart.js'
import { contentDisposition, parseRange, sendFile } from '../../../http/responses.js'
import { principalOf } from '../auth.js'
import type { GatewayDeps } from '../context.js'
import { sendError } from '../errors.js'
import { fileView } from '../views.js'
import { authErrors, cidParam, errorBody, fileRecord, messageOnly, taskStarted } from './schemas.js'
import { GATEWAY_PREFIX } from '../prefix.js'
import { fileViewWithThumb } from './browse.js'

export const MAX_BULK_CIDS = 10_000
const MAX_PAGE_SIZE = 500

/** Only the first file part is stored; an empty file is refused (as the service does). */
async function * oneFile (files: AsyncIterable<UploadSource>): AsyncIterable<UploadSource> {
  let n = 0
  for await (const f of files) {
    if (++n > 1) throw invalid('Send one file per request (multipart field "file")')
    yield { ...f, content: nonEmpty(f.content) }
  }
  if (n === 0) throw invalid('No file uploaded: send multipart/form-data with a "file" part')
}

async function * nonEmpty (content: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let bytes = 0
  for await (const chunk of content) { bytes += chunk.byteLength; yield chunk }
  if (bytes === 0) throw invalid('File is empty')
}

function flag (v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === '') return undefined
  if (v === true || v === 1 || (typeof v === 'string' && /^(true|1|yes)$/i.test(v))) return true
  if (v === false || v === 0 || (typeof v === 'string' && /^(false|0|no)$/i.test(v))) return false
  throw invalid(`${name} must be true or false`)
}

function taskStartedReply (reply: FastifyReply, taskId: string, message: string): FastifyReply {
  return reply.code(202).send({
    status: 202,
    message,
    data: { task_id: taskId, state: 'PENDING', status_url: `${GATEWAY_PREFIX}/tasks/${taskId}/status` }
  })
}

export function fileRoutes (app: FastifyInstance, { core, metrics }: GatewayDeps): void {
  app.post('/files/upload', {
    config: { rate: 'upload' },
    schema: {
      summary: 'Upload one file (multipart/form-data, field "file"; optional field "folder" before it: a/b); answers its CIDv1',
      description: 'CIDs follow Kubo\'s unixfs-v1-2025 profile (raw leaves, 1 MiB chunks): a file up to 1 MiB is a bafkrei... raw CID, a larger one a bafybei... dag-pb CID. Files are pinned on upload.',
      consumes: ['multipart/form-data'],
      response: {
        201: { type: 'object', properties: { status: { type: 'integer' }, message: { type: 'string' }, data: fileRecord } },
        400: errorBody,
        413: { ...errorBody, description: 'File larger than the limit, or storage capacity exceeded' },
        ...authErrors
      }
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const upload = await openMultipart(req, ['folder'])
    const budget = await core.drive.budgetFor(account)
    budget.maxFileBytes = Math.min(budget.maxFileBytes, core.config.gateway.maxFileBytes)
    const [entry] = await core.drive.putFiles(account, FILES_SPACE, oneFile(upload.files), {
      // an addition: a "folder" field (a/b, before the file) puts the file in that folder (made if missing)
      folderPath: upload.fields.folder,
      profile: 'unixfs-v1-2025',
      budget,
      signal: abortSignalOf(req)
    })
    return await reply.code(201).send({ status: 201, message: 'File uploaded successfully', data: fileView(entry) })
  })

  app.get('/files/retrieve/:cid', {
    config: { rate: 'retrieve' },
    schema: {
      summary: 'The file\'s bytes with its Content-Type; single byte ranges (Range: bytes=a-b) answer 206',
      params: cidParam,
      querystring: { type: 'object', properties: { download: { type: ['boolean', 'string'], description: 'true: Content-Disposition attachment' } } },
      response: { 404: errorBody, 400: errorBody, ...authErrors }
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const { cid } = req.params as { cid: string }
    const download = flag((req.query as { download?: unknown }).download, 'download') === true
    const opened = await core.reads.open(account.id, cid, abortSignalOf(req))
    if (opened.kind === 'directory') {
      // a folder uploaded through FluxDrive's putfolder: as a tar archive
      reply.header('content-type', 'application/x-tar')
      reply.header('x-content-type-options', 'nosniff')
      reply.header('content-disposition', contentDisposition('attachment', `${opened.name}.tar`))
      return await reply.send(bodyStream(opened.tar(), metrics))
    }
    if (parseRange(req.headers.range, opened.size) === 'invalid') {
      reply.header('content-range', `bytes */${opened.size}`)
      return sendError(reply, 416, `Range not satisfiable: the file is ${opened.size} bytes`)
    }
    return await sendFile(req, reply, opened, metrics, download ? 'attachment' : 'inline')
  })

  app.get('/files', {
    config: { rate: 'call' },
    schema: {
      summary: 'The account\'s files, newest first, a page at a time, with the total',
      querystring: {
        type: 'object',
        properties: {
          page: { type: 'integer', minimum: 1, default: 1 },
          page_size: { type: 'integer', minimum: 1, default: 50, description: `at most ${MAX_PAGE_SIZE}` },
          search: { type: 'string', description: 'part of the file name, or a whole CID' },
          pinned: { type: ['boolean', 'string'], description: 'true or false: only pinned or only unpinned files' },
          sort_by: { type: 'string', enum: ['uploaded_at', 'size', 'original_filename', 'name'], default: 'uploaded_at' },
          sort_order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            data: { type: 'array', items: fileRecord },
            meta: {
              type: 'object',
              properties: { page: { type: 'integer' }, page_size: { type: 'integer' }, total: { type: 'integer' }, total_pages: { type: 'integer' } }
            }
          }
        },
        400: errorBody,
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const q = req.query as { page: number, page_size: number, search?: string, pinned?: unknown, sort_by: string, sort_order: 'asc' | 'desc' }
    const pageSize = Math.min(q.page_size, MAX_PAGE_SIZE)
    const page = Math.min(q.page, 1_000_000)
    const sortBy: FileSort = q.sort_by === 'size' ? 'size' : (q.sort_by === 'name' || q.sort_by === 'original_filename') ? 'name' : 'uploaded_at'
    const { entries, total } = await core.drive.listFiles(account.id, FILES_SPACE, {
      offset: (page - 1) * pageSize, limit: pageSize, search: q.search, pinned: flag(q.pinned, 'pinned'), sortBy, order: q.sort_order
    })
    return { status: 200, data: await Promise.all(entries.map(async e => await fileViewWithThumb(core, e))), meta: { page, page_size: pageSize, total, total_pages: Math.ceil(total / pageSize) } }
  })

  app.get('/files/:cid', {
    config: { rate: 'call' },
    schema: {
      summary: 'One file\'s record (no bytes)',
      params: cidParam,
      response: { 200: { type: 'object', properties: { status: { type: 'integer' }, data: fileRecord } }, 400: errorBody, 404: errorBody, ...authErrors }
    }
  }, async req => {
    const { account } = principalOf(req)
    const [entry] = await core.drive.entriesOf(account.id, FILES_SPACE, parseCid((req.params as { cid: string }).cid))
    if (entry === undefined) throw new CairnError('not_found', 'File not found')
    return { status: 200, data: fileView(entry) }
  })

  app.delete('/files/:cid', {
    config: { rate: 'call' },
    schema: {
      summary: 'Delete a file: its record goes, and its content is collected when nothing else pins it',
      params: cidParam,
      response: { 200: messageOnly, 400: errorBody, 404: errorBody, ...authErrors }
    }
  }, async req => {
    const { account } = principalOf(req)
    const { cid } = req.params as { cid: string }
    await core.drive.removeByCid(account.id, FILES_SPACE, parseCid(cid))
    return { status: 200, message: 'File deleted successfully', data: { cid } }
  })

  app.post('/files/delete/bulk', {
    config: { rate: 'call' },
    schema: {
      summary: `Delete many files. Up to the threshold (${core.config.gateway.bulkDeleteSyncMax}) at once: 200 with { deleted, failed }; more: 202 with a task whose result is that`,
      body: {
        type: 'object',
        properties: { cids: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: MAX_BULK_CIDS } },
        required: ['cids']
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            message: { type: 'string' },
            data: {
              type: 'object',
              properties: {
                deleted: { type: 'integer' },
                failed: { type: 'array', items: { type: 'object', properties: { cid: { type: 'string' }, reason: { type: 'string' } } } }
              }
            }
          }
        },
        202: taskStarted,
        400: errorBody,
        ...authErrors
      }
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const { cids } = req.body as { cids: string[] }
    if (cids.length > core.config.gateway.bulkDeleteSyncMax) {
      const payload: DeleteBulkPayload = { accountId: account.id, cids }
      const job = await core.jobs.enqueue(DELETE_BULK_JOB, payload, { accountId: account.id })
      return taskStartedReply(reply, job.id, `Deleting ${cids.length} files as a task`)
    }
    const out = await core.drive.removeMany(account.id, FILES_SPACE, cids, abortSignalOf(req))
    return { status: 200, message: out.failed.length === 0 ? 'Files deleted successfully' : `Deleted ${out.deleted} of ${cids.length} files`, data: out }
  })

  const pinning = (pinned: boolean) => async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { account } = principalOf(req)
    const { cid } = req.params as { cid: string }
    const parsed = parseCid(cid)
    if (flag((req.query as { async?: unknown }).async, 'async') === true) {
      // refuse now what the task would refuse: unknown file, or already as asked
      const mine = await core.drive.entriesOf(account.id, FILES_SPACE, parsed)
      if (mine.length === 0) throw new CairnError('not_found', 'File not found')
      if (mine.every(e => e.pinned === pinned)) throw new CairnError('conflict', pinned ? 'File is already pinned' : 'File is not pinned')
      const payload: PinPayload = { accountId: account.id, cid: parsed.toString(), pinned }
      const job = await core.jobs.enqueue(PIN_JOB, payload, { accountId: account.id })
      return taskStartedReply(reply, job.id, pinned ? 'Pinning as a task' : 'Unpinning as a task')
    }
    await core.drive.setPinned(account.id, FILES_SPACE, parsed, pinned)
    return { status: 200, message: pinned ? 'File pinned successfully' : 'File unpinned successfully', data: { cid, pinned } }
  }
  const pinSchema = (pinned: boolean): Record<string, unknown> => ({
    summary: pinned
      ? 'Pin a file so its content stays (409 when already pinned; 422 when its content was collected after an unpin). ?async=true runs it as a task'
      : 'Unpin a file: it stays listed (pinned: false) but its content may be garbage-collected (409 when not pinned). ?async=true runs it as a task',
    params: cidParam,
    querystring: { type: 'object', properties: { async: { type: ['boolean', 'string'] } } },
    response: { 200: messageOnly, 202: taskStarted, 400: errorBody, 404: errorBody, 409: errorBody, 422: errorBody, ...authErrors }
  })
  app.post('/files/:cid/pin', { config: { rate: 'call' }, schema: pinSchema(true) }, pinning(true))
  app.post('/files/:cid/unpin', { config: { rate: 'call' }, schema: pinSchema(false) }, pinning(false))
  // the paths the service's code uses
  app.post('/files/pin/:cid', { config: { rate: 'call' }, schema: { ...pinSchema(true), summary: 'Same as /files/{cid}/pin' } }, pinning(true))
  app.post('/files/unpin/:cid', { config: { rate: 'call' }, schema: { ...pinSchema(false), summary: 'Same as /files/{cid}/unpin' } }, pinning(false))
}
