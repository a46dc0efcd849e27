import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { requireHash } from '../args.js'
import { parseCid } from '../../../core/content/cids.js'
import { errorResponses, hashQuery } from './schemas.js'

export function rmRoute (app: FastifyInstance, { core }: FluxdriveDeps): void {
  app.post('/rm', {
    config: { rate: 'put' },
    schema: {
      summary: 'Remove a file (every entry of that CID) from the account; its blocks are collected when nothing references them',
      querystring: hashQuery,
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, success: { type: 'string' }, hash: { type: 'string' }, removed: { type: 'integer' } } },
        ...errorResponses
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const hash = requireHash(req)
    const removed = await core.drive.removeByCid(account.id, DRIVE_SPACE, parseCid(hash))
    return { status: 'success', success: 'File removed', hash, removed }
  })
}
