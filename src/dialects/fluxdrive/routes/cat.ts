import type { FastifyInstance } from 'fastify'
import { Readable } from 'node:stream'
import { type FluxdriveDeps, principalOf } from '../context.js'
import { requireHash } from '../args.js'
import { CairnError } from '../../../core/errors.js'
import { contentDisposition, sendFile } from '../../../http/responses.js'
import { countingOut } from '../../../http/metrics.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { errorResponses, hashQuery } from './schemas.js'

export function catRoutes (app: FastifyInstance, { core, metrics }: FluxdriveDeps): void {
  app.post('/cat', {
    config: { rate: 'read' },
    schema: {
      summary: 'The bytes of a file (also <folder-cid>/<path>); single byte ranges supported',
      querystring: hashQuery,
      response: errorResponses
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const opened = await core.reads.open(account.id, requireHash(req), abortSignalOf(req))
    if (opened.kind === 'directory') throw new CairnError('invalid_argument', 'this dag node is a directory')
    return sendFile(req, reply, opened, metrics, 'inline')
  })

  app.post('/get', {
    config: { rate: 'read' },
    schema: {
      summary: 'Download: a file as an attachment under its stored name, a folder as a tar archive',
      querystring: hashQuery,
      response: errorResponses
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const opened = await core.reads.open(account.id, requireHash(req), abortSignalOf(req))
    if (opened.kind === 'file') return sendFile(req, reply, opened, metrics, 'attachment')
    reply.header('content-type', 'application/x-tar')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('content-disposition', contentDisposition('attachment', `${opened.name}.tar`))
    reply.header('x-ipfs-path', `/ipfs/${opened.cid.toString()}`)
    return reply.send(Readable.from(countingOut(opened.tar(), metrics), { objectMode: false }))
  })
}
