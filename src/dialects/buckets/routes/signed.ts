/** The target of signed download URLs: no credentials, the signature and expiry are the permission. */
import type { FastifyInstance } from 'fastify'
import { CairnError, notFound } from '../../../core/errors.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { sendFile } from '../../../http/responses.js'
import type { BucketsDeps } from '../context.js'

export function signedDownloadRoute (app: FastifyInstance, { core, metrics }: BucketsDeps): void {
  const handler = async (req: import('fastify').FastifyRequest<{ Params: { fileKey: string }, Querystring: { expires?: string, signature?: string } }>, reply: import('fastify').FastifyReply): Promise<unknown> => {
    const verdict = await core.urlSigner.verify(`/buckets/signed/${req.params.fileKey}`, req.query.expires, req.query.signature)
    if (verdict === 'invalid') throw new CairnError('forbidden', 'Invalid signature')
    if (verdict === 'expired') throw new CairnError('forbidden', 'This download URL has expired', { reason: 'expired' })
    const target = await core.buckets.downloadTarget(req.params.fileKey)
    if (target === undefined) throw notFound('File not found')
    const opened = await core.reads.open(target.accountId, target.cid, abortSignalOf(req))
    if (opened.kind !== 'file') throw new CairnError('unsupported_media', 'Not a file')
    reply.header('cache-control', 'private, no-store')
    return await sendFile(req, reply, { ...opened, name: target.name }, metrics, 'attachment')
  }
  const schema = {
    summary: 'Download a file through a signed URL from GET /buckets/download/{fileId}',
    params: { type: 'object', properties: { fileKey: { type: 'string', maxLength: 100 } }, required: ['fileKey'] },
    querystring: { type: 'object', properties: { expires: { type: 'string' }, signature: { type: 'string' } } }
  }
  app.get('/buckets/signed/:fileKey', { config: { auth: 'none' }, schema }, handler)
}
