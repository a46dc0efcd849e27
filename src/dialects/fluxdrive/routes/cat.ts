import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, principalOf } from '../context.js'
import { boolArg, requireHash, stringArg } from '../args.js'
import { singleFileTar } from '../../../core/content/tar.js'
import { CairnError } from '../../../core/errors.js'
import { contentDisposition, sendFile } from '../../../http/responses.js'
import { bodyStream } from '../../../http/body-stream.js'
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
    // Kubo's offset/length: the bytes from offset (negative: from the end), at most length of them
    const offset = stringArg(req, 'offset')
    const length = stringArg(req, 'length')
    if (offset !== undefined || length !== undefined) {
      let start = offset === undefined ? 0 : Number(offset)
      if (!Number.isInteger(start)) throw new CairnError('invalid_argument', 'offset must be an integer')
      if (start < 0) start = Math.max(0, opened.size + start)
      start = Math.min(start, opened.size)
      let end = opened.size
      if (length !== undefined) {
        const n = Number(length)
        if (!Number.isInteger(n) || n < 0) throw new CairnError('invalid_argument', 'length must be a non-negative integer')
        end = Math.min(opened.size, start + n)
      }
      reply.header('content-type', 'text/plain')
      reply.header('x-content-type-options', 'nosniff')
      reply.header('x-stream-output', '1')
      reply.header('content-length', String(end - start))
      return reply.send(bodyStream(opened.read({ start, end }), metrics))
    }
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
    // Kubo's get (archive=true, as `ipfs get -a` and kubo-rpc-client send it): always a tar,
    // its entries under the CID's name, as Kubo answers
    if (stringArg(req, 'archive') !== undefined || stringArg(req, 'compress') !== undefined) {
      if (boolArg(req, 'compress')) throw new CairnError('invalid_argument', 'compress is not supported: fetch the tar and compress it')
      reply.header('content-type', 'application/x-tar')
      reply.header('x-content-type-options', 'nosniff')
      reply.header('x-stream-output', '1')
      reply.header('x-ipfs-path', `/ipfs/${opened.cid.toString()}`)
      const arg = requireHash(req).replace(/^\/?ipfs\//, '')
      const tar = opened.kind === 'directory' ? opened.tar(arg) : singleFileTar(arg, opened.size, opened.read())
      return reply.send(bodyStream(tar, metrics))
    }
    if (opened.kind === 'file') return sendFile(req, reply, opened, metrics, 'attachment')
    reply.header('content-type', 'application/x-tar')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('content-disposition', contentDisposition('attachment', `${opened.name}.tar`))
    reply.header('x-ipfs-path', `/ipfs/${opened.cid.toString()}`)
    return reply.send(bodyStream(opened.tar(), metrics))
  })
}
