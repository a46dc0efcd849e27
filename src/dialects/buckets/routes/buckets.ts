/** The bucket routes that take JSON or nothing: list, start, complete, file, download, delete. */
import type { FastifyInstance } from 'fastify'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { type BucketsDeps, sessionOf } from '../context.js'
import { errorResponses, fileIdParams, uploadInfo } from './schemas.js'
import { uploadInfoView } from './views.js'

/** Upload API files are imported as FluxDrive's are: Kubo's CIDv0 (`ipfs add` defaults) */
const PROFILE = 'unixfs-v0-2015'

export function bucketRoutes (app: FastifyInstance, { core }: BucketsDeps): void {
  app.get('/buckets', {
    config: { auth: 'session' },
    schema: { summary: 'The files of the session\'s bucket (finished and in progress)', response: { 200: { type: 'array', items: uploadInfo }, ...errorResponses } }
  }, async req => (await core.buckets.list(sessionOf(req))).map(uploadInfoView))

  app.post<{ Body: { totalParts?: number | null, encryptedName?: string | null, originalSizeInBytes?: number | null } | undefined }>('/buckets', {
    config: { auth: 'session' },
    schema: {
      summary: 'Start a multipart upload; answers uploadId and key (also as fileKey)',
      body: {
        type: ['object', 'null'],
        properties: {
          totalParts: { type: ['integer', 'null'], minimum: 0 },
          encryptedName: { type: ['string', 'null'], maxLength: 4096, description: 'opaque; for QS Share, AES-256 keyed by the session id (cairn buckets encrypt-name)' },
          originalSizeInBytes: { type: ['integer', 'null'], minimum: 0 }
        }
      },
      response: { 200: { type: 'object', properties: { uploadId: { type: 'string' }, key: { type: 'string' }, fileKey: { type: 'string' } } }, ...errorResponses }
    }
  }, async req => {
    const body = req.body ?? {}
    const { uploadId, fileKey } = await core.buckets.start(sessionOf(req), body)
    return { uploadId, key: fileKey, fileKey }
  })

  app.post<{ Body: { key?: string | null, uploadId?: string | null, tags?: string[] | null } | undefined }>('/buckets/complete', {
    config: { auth: 'session' },
    schema: {
      summary: 'Assemble the parts in order into one stored file (with a CID); a missing part is a 400 naming it',
      body: {
        type: 'object',
        properties: {
          key: { type: ['string', 'null'] },
          uploadId: { type: ['string', 'null'] },
          tags: { type: ['array', 'null'], items: { type: 'string' }, description: 'the parts\' tags in part order, as PUT answered them (optional)' }
        }
      },
      response: { 200: uploadInfo, ...errorResponses }
    }
  }, async req => {
    const body = req.body ?? {}
    const f = await core.buckets.complete(sessionOf(req), { key: body.key ?? undefined, uploadId: body.uploadId ?? undefined, tags: body.tags }, PROFILE, abortSignalOf(req))
    return uploadInfoView(f)
  })

  app.get<{ Params: { fileId: string } }>('/buckets/file/:fileId', {
    config: { auth: 'session' },
    schema: { summary: 'One file: size, name, upload status, CID, part tags', params: fileIdParams, response: { 200: uploadInfo, ...errorResponses } }
  }, async req => uploadInfoView(await core.buckets.get(sessionOf(req), req.params.fileId)))

  app.get<{ Params: { fileId: string } }>('/buckets/download/:fileId', {
    config: { auth: 'session' },
    schema: {
      summary: 'A temporary signed download URL of a finished file (served by Cairn; no credentials needed to use it)',
      params: fileIdParams,
      response: { 200: { type: 'object', properties: { url: { type: 'string' }, expiresAt: { type: 'string' }, expiresIn: { type: 'integer' } } }, ...errorResponses }
    }
  }, async (req, reply) => {
    const p = sessionOf(req)
    const f = await core.buckets.get(p, req.params.fileId)
    if (!f.completed) {
      const { CairnError } = await import('../../../core/errors.js')
      throw new CairnError('conflict', 'The upload is not completed yet')
    }
    const ttl = core.config.uploads.downloadUrlSeconds
    const prefix = req.url.startsWith('/v1/') ? '/v1' : ''
    const path = `${prefix}/buckets/signed/${encodeURIComponent(f.fileKey)}`
    const { query, expiresAt } = await core.urlSigner.sign(`/buckets/signed/${f.fileKey}`, ttl)
    const base = core.config.uploads.publicUrl ?? `${req.protocol}://${req.host}`
    reply.header('cache-control', 'no-store')
    return { url: `${base}${path}?${query}`, expiresAt: new Date(expiresAt).toISOString(), expiresIn: ttl }
  })

  app.delete<{ Params: { fileId: string } }>('/buckets/:fileId', {
    config: { auth: 'session' },
    schema: { summary: 'Delete a file from the bucket (or abandon an unfinished upload)', params: fileIdParams }
  }, async (req, reply) => {
    await core.buckets.remove(sessionOf(req), req.params.fileId)
    return await reply.code(200).send()
  })
}
