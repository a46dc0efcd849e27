/**
 * FluidCloud on the cookieless files origin:
 * - `GET|HEAD /s/<token>`: a raw link's bytes. Tokens are 256-bit random and stored hashed;
 *   expiry is judged by this server's clock only. Ranges, ETag/If-None-Match, the file's own
 *   Content-Type with nosniff, a Content-Disposition, and `CSP: sandbox` so user content
 *   never runs script with any origin's rights (this origin holds no credentials anyway).
 * - `PUT /uploads/<file_id>?expires=&sig=`: the presigned upload URL of the filesystem store;
 *   the body streams to a staging file that /uploads/complete imports.
 * - `PUT /uploads/<file_id>/parts/<n>?expires=&sig=`: one part of a multipart upload (the
 *   filesystem store's stand-in for S3's presigned UploadPart); answers the part's ETag.
 * - `GET|HEAD /f/<file_id>/<attachment|inline>?expires=&sig=`: a file's short-lived download or
 *   preview URL (HMAC-signed, src/core/cloud/file-urls.ts), served like a raw link.
 */
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FilesDeps } from '../../http/files-app.js'
import { bodyStream } from '../../http/body-stream.js'
import { contentDisposition, parseRange } from '../../http/responses.js'
import { FilesOriginStaging, isMultipartKey } from '../../core/cloud/staging.js'
import { createHash } from 'node:crypto'
import { FILE_URL_PREFIX, type FileUrlDisposition } from '../../core/cloud/file-urls.js'
import type { Core } from '../../core/core.js'
import type { Metrics } from '../../http/metrics.js'
import type { FileRow } from '../../core/cloud/cloud.js'

export const RAW_LINK_PREFIX = '/s'
export const UPLOAD_PUT_PREFIX = '/uploads'
const SEND_WHOLE_BELOW = 256 * 1024

function text (reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(message + '\n')
}

export async function rawLinkRoutes (app: FastifyInstance, { core, metrics }: FilesDeps): Promise<void> {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${RAW_LINK_PREFIX}/:token`,
    exposeHeadRoute: false,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const token = (req.params as { token: string }).token
      const opened = await core.cloud.openShare(token)
      if (opened === 'not_found') return text(reply, 404, 'Link not found')
      if (opened === 'expired') return text(reply, 410, 'Link expired')
      if ('notClean' in opened) return text(reply, 409, `File is not servable (scan_status='${opened.notClean}'); must be 'clean'.`)
      const { share, file } = opened
      const permanent = share.expires_at === null
      return await serveFile(req, reply, metrics, core, file, {
        disposition: share.permission === 'view' ? 'inline' : 'attachment',
        cacheControl: permanent ? 'public, max-age=3600' : 'private, no-store',
        expiresAt: share.expires_at ?? undefined
      })
    }
  })
}

/** a file's bytes as every FluidCloud URL on this origin serves them */
async function serveFile (req: FastifyRequest, reply: FastifyReply, metrics: Metrics, core: Core, file: FileRow, o: { disposition: 'inline' | 'attachment', cacheControl: string, expiresAt?: number }): Promise<FastifyReply> {
  const etag = `"${file.sha256 ?? file.cid}"`
  reply.header('etag', etag)
  reply.header('cache-control', o.cacheControl)
  reply.header('x-content-type-options', 'nosniff')
  // scripts never run, whatever the type: an opaque origin with no script, no forms, no plugins
  reply.header('content-security-policy', "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox")
  reply.header('content-disposition', contentDisposition(o.disposition, file.name))
  reply.header('accept-ranges', 'bytes')
  reply.header('content-type', file.mime ?? 'application/octet-stream')
  if (o.expiresAt !== undefined) reply.header('expires', new Date(o.expiresAt).toUTCString())
  const inm = req.headers['if-none-match']
  if (inm !== undefined && inm.split(',').some(t => t.trim() === etag || t.trim() === '*')) return await reply.code(304).send()
  const size = Number(file.size)
  const range = parseRange(req.headers.range, size)
  if (range === 'invalid') {
    reply.header('content-range', `bytes */${size}`)
    return text(reply, 416, 'Range not satisfiable')
  }
  if (range !== undefined) {
    reply.code(206)
    reply.header('content-range', `bytes ${range.start}-${range.end - 1}/${size}`)
    reply.header('content-length', range.end - range.start)
  } else {
    reply.header('content-length', size)
  }
  if (req.method === 'HEAD') return await reply.send()
  const length = range === undefined ? size : range.end - range.start
  const body = core.cloud.readFile(file, range)
  if (length <= SEND_WHOLE_BELOW) {
    const parts: Uint8Array[] = []
    for await (const c of body) parts.push(c)
    const buf = Buffer.concat(parts)
    metrics.bytesOut.inc(buf.byteLength)
    return await reply.send(buf)
  }
  return await reply.send(bodyStream(body, metrics))
}

export async function fileUrlRoutes (app: FastifyInstance, { core, metrics }: FilesDeps): Promise<void> {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${FILE_URL_PREFIX}/:id/:disposition`,
    exposeHeadRoute: false,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const { id, disposition } = req.params as { id: string, disposition: string }
      const q = req.query as { expires?: string, sig?: string }
      const verdict = await core.cloud.fileUrls.verify(id, disposition, q.expires, q.sig)
      if (verdict === 'bad') return text(reply, 403, 'Signature does not match')
      if (verdict === 'expired') return text(reply, 403, 'URL expired: ask the API for a new one')
      const opened = await core.cloud.openFileUrl(id)
      if (opened === 'not_found') return text(reply, 404, 'File not found')
      if ('notClean' in opened) return text(reply, 409, `File is not servable (scan_status='${opened.notClean}'); must be 'clean'.`)
      return await serveFile(req, reply, metrics, core, opened, {
        disposition: disposition as FileUrlDisposition,
        cacheControl: 'private, no-store',
        expiresAt: Number(q.expires) * 1000
      })
    }
  })
}

export async function uploadPutRoutes (app: FastifyInstance, { core }: FilesDeps): Promise<void> {
  const staging = core.cloud.staging
  if (!(staging instanceof FilesOriginStaging)) return // with S3 the client PUTs to the bucket
  // the body is the file: never parsed, streamed to disk
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null, undefined) })
  app.put(`${UPLOAD_PUT_PREFIX}/:id`, async (req: FastifyRequest, reply: FastifyReply) => {
    const id = (req.params as { id: string }).id
    const q = req.query as { expires?: string, sig?: string }
    const verdict = await staging.verify(id, q.expires, q.sig)
    reply.header('connection', 'close') // refused bodies are not read
    if (verdict === 'bad') return text(reply, 403, 'Signature does not match')
    if (verdict === 'expired') return text(reply, 403, 'Upload URL expired')
    const up = await core.cloud.uploadForPut(id)
    if (up === undefined || isMultipartKey(up.staging_key)) return text(reply, 404, 'No such upload (or it was completed; a multipart upload takes its parts at their own URLs)')
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > Number(up.size)) return text(reply, 413, `Body larger than the ${up.size} bytes declared at initiate`)
    const file = await staging.begin(up.staging_key)
    let seen = 0
    const limit = new Transform({
      transform (chunk: Buffer, _enc, cb) {
        seen += chunk.byteLength
        if (seen > Number(up.size)) { cb(Object.assign(new Error('too large'), { tooLarge: true })); return }
        cb(null, chunk)
      }
    })
    try {
      await pipeline(req.raw, limit, createWriteStream(file.temp))
      await file.commit()
    } catch (err) {
      await file.abort()
      if ((err as { tooLarge?: boolean }).tooLarge === true) return text(reply, 413, `Body larger than the ${up.size} bytes declared at initiate`)
      throw err
    }
    reply.removeHeader('connection')
    return await reply.code(200).header('etag', `"${id}"`).send()
  })

  // a part of a multipart upload: at most the part size; answers its MD5 as the ETag, as S3 does
  app.put(`${UPLOAD_PUT_PREFIX}/:id/parts/:n`, async (req: FastifyRequest, reply: FastifyReply) => {
    const { id, n } = req.params as { id: string, n: string }
    const q = req.query as { expires?: string, sig?: string }
    const part = Number(n)
    reply.header('connection', 'close') // refused bodies are not read
    if (!/^[1-9]\d{0,4}$/.test(n)) return text(reply, 404, 'No such part')
    const verdict = await staging.verifyPart(id, part, q.expires, q.sig)
    if (verdict === 'bad') return text(reply, 403, 'Signature does not match')
    if (verdict === 'expired') return text(reply, 403, 'Upload URL expired')
    const up = await core.cloud.uploadForPut(id)
    if (up === undefined || !isMultipartKey(up.staging_key)) return text(reply, 404, 'No such multipart upload (or it was completed)')
    const partSize = core.cloud.partSize(Number(up.size))
    const max = Math.min(partSize, Number(up.size) - (part - 1) * partSize)
    if (max <= 0) return text(reply, 404, 'No such part')
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > max) return text(reply, 413, `Part ${part} takes at most ${max} bytes`)
    const file = await staging.beginPart(id, part)
    const md5 = createHash('md5')
    let seen = 0
    const limit = new Transform({
      transform (chunk: Buffer, _enc, cb) {
        seen += chunk.byteLength
        if (seen > max) { cb(Object.assign(new Error('too large'), { tooLarge: true })); return }
        md5.update(chunk)
        cb(null, chunk)
      }
    })
    try {
      await pipeline(req.raw, limit, createWriteStream(file.temp))
    } catch (err) {
      await file.abort()
      if ((err as { tooLarge?: boolean }).tooLarge === true) return text(reply, 413, `Part ${part} takes at most ${max} bytes`)
      throw err
    }
    const etag = md5.digest('hex')
    await file.commit(etag)
    reply.removeHeader('connection')
    return await reply.code(200).header('etag', `"${etag}"`).send()
  })
}
