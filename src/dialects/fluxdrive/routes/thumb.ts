import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, principalOf } from '../context.js'
import { requireHash } from '../args.js'
import { CairnError } from '../../../core/errors.js'
import { parseCid } from '../../../core/content/cids.js'
import { sendFile } from '../../../http/responses.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { errorResponses, hashQuery } from './schemas.js'

export function thumbRoute (app: FastifyInstance, { core, metrics }: FluxdriveDeps): void {
  app.post('/thumb', {
    config: { rate: 'read' },
    schema: {
      summary: 'A JPEG thumbnail of an image (made at upload for images up to 50 MB); 404 "No thumbnail" otherwise',
      querystring: hashQuery,
      response: errorResponses
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const cid = parseCid(requireHash(req).split('/')[0])
    const meta = await core.drive.readable(account.id, cid)
    if (meta.thumbnailCid === null) throw new CairnError('not_found', 'No thumbnail')
    const opened = await core.reads.open(account.id, meta.thumbnailCid, abortSignalOf(req))
    if (opened.kind !== 'file') throw new CairnError('not_found', 'No thumbnail')
    return sendFile(req, reply, { ...opened, mimetype: 'image/jpeg', name: `${meta.name}.thumb.jpg` }, metrics, 'inline')
  })
}
