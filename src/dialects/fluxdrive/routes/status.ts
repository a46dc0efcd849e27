import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, principalOf } from '../context.js'
import { errorResponses } from './schemas.js'

const GiB = 1024 ** 3

export function statusRoute (app: FastifyInstance, { core }: FluxdriveDeps): void {
  app.post('/status', {
    config: { rate: 'read' },
    schema: {
      summary: 'Storage usage and remaining capacity',
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            result: {
              type: 'object',
              properties: {
                active: { type: 'boolean' },
                capacity_gb: { type: 'number' },
                storage_used: { type: 'integer' },
                remaining: { type: 'integer' },
                zelid: { type: 'string' },
                plan_name: { type: 'string' },
                capacity_bytes: { type: 'integer' },
                file_count: { type: 'integer' }
              }
            }
          }
        },
        ...errorResponses
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const used = await core.drive.usage(account.id)
    return {
      status: 'success',
      result: {
        active: account.active,
        capacity_gb: Math.round(account.capacityBytes / GiB * 100) / 100,
        storage_used: used,
        remaining: Math.max(0, account.capacityBytes - used),
        zelid: account.zelid,
        plan_name: account.plan,
        capacity_bytes: account.capacityBytes,
        file_count: await core.drive.fileCount(account.id)
      }
    }
  })
}
