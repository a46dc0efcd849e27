import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { boolArg, intArg, stringArg } from '../args.js'
import { errorResponses } from './schemas.js'

/** Without page or size the whole folder is listed (the original API); this caps that. */
const UNPAGED_MAX = 10_000

export function lsRoute (app: FastifyInstance, { core }: FluxdriveDeps): void {
  app.post('/ls', {
    config: { rate: 'read' },
    schema: {
      summary: 'List files, newest first: all of them, or one folder\'s (currentFolder: a path or folder uuid); paged with page and size',
      querystring: {
        type: 'object',
        properties: {
          page: { type: 'integer', minimum: 1 },
          size: { type: 'integer', minimum: 1 },
          currentFolder: { type: 'string' },
          includeFolders: { type: 'boolean' }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            files: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  hash: { type: 'string' },
                  name: { type: 'string' },
                  size: { type: 'integer' },
                  mimetype: { type: ['string', 'null'] },
                  type: { type: 'string' },
                  uuid: { type: 'string' },
                  thumbnail: { type: ['string', 'null'] },
                  timestamp: { type: 'integer' },
                  added_time: { type: 'integer' }
                }
              }
            },
            files_per_page: { type: 'integer' },
            total_files: { type: 'integer' },
            page: { type: 'integer' }
          }
        },
        ...errorResponses
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const paged = stringArg(req, 'page') !== undefined || stringArg(req, 'size') !== undefined
    const page = intArg(req, 'page', 1, 1, 10_000)
    const size = paged ? intArg(req, 'size', 50, 1, 500) : UNPAGED_MAX
    // no currentFolder: every file, in any folder (the original "list all files");
    // with one (a path, '/' included, or a folder uuid): that folder's own entries
    const current = stringArg(req, 'currentFolder')
    const folderId = current === undefined ? undefined : await core.drive.findFolder(account.id, DRIVE_SPACE, current)
    const { entries, total } = await core.drive.list(account.id, DRIVE_SPACE, {
      folderId, offset: (page - 1) * size, limit: size, includeFolders: boolArg(req, 'includeFolders')
    })
    return {
      status: 'success',
      files: entries.map(e => e.kind === 'folder'
        ? { name: e.name, uuid: e.id, type: 'folder', timestamp: e.createdAt, added_time: Math.floor(e.createdAt / 1000) }
        : {
            hash: e.cid ?? '',
            name: e.name,
            size: e.size,
            mimetype: e.kind === 'directory' ? 'inode/directory' : e.mimetype,
            type: e.kind,
            thumbnail: e.thumbnailCid,
            timestamp: e.createdAt,
            added_time: Math.floor(e.createdAt / 1000)
          }),
      files_per_page: size,
      total_files: total,
      page
    }
  })
}
