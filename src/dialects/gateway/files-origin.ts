/**
 * The gateway's share links on the cookieless files origin: `GET|HEAD /share/<token>` serves
 * the shared file (ranges, its type with nosniff and a sandboxing CSP; a folder as a tar).
 * Unknown, revoked and deleted-file links are 404, expired ones 410; plain-text bodies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isCairnError } from '../../core/errors.js'
import { SHARE_LINK_PATH } from '../../core/share-links.js'
import type { FilesDeps } from '../../http/files-app.js'
import { bodyStream } from '../../http/body-stream.js'
import { contentDisposition, sendFile } from '../../http/responses.js'

export const SHARE_LINK_PREFIX = SHARE_LINK_PATH

function text (reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(message + '\n')
}

export async function shareLinkRoutes (app: FastifyInstance, { core, metrics }: FilesDeps): Promise<void> {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${SHARE_LINK_PREFIX}/:token`,
    exposeHeadRoute: false,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const link = await core.shareLinks.open((req.params as { token: string }).token)
      if (link === 'not_found') return text(reply, 404, 'Link not found')
      if (link === 'expired') return text(reply, 410, 'Link expired')
      let opened
      try {
        // the account must still have the file: deleting it ends its links
        opened = await core.reads.open(link.accountId, link.cid)
      } catch (err) {
        if (isCairnError(err) && err.code === 'not_found') return text(reply, 404, 'Link not found')
        throw err
      }
      reply.header('cache-control', link.expiresAt === null ? 'private, max-age=60' : 'private, no-store')
      if (link.expiresAt !== null) reply.header('expires', new Date(link.expiresAt).toUTCString())
      if (opened.kind === 'directory') {
        reply.header('content-type', 'application/x-tar')
        reply.header('content-disposition', contentDisposition('attachment', `${link.name}.tar`))
        if (req.method === 'HEAD') return await reply.send()
        return await reply.send(bodyStream(opened.tar(), metrics))
      }
      return await sendFile(req, reply, { ...opened, name: link.name }, metrics, 'inline')
    }
  })
}
