import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { boolArg, intArg, stringArg } from '../args.js'
import { errorResponses } from './schemas.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { parseContentPath } from '../../../core/reads.js'
import { CairnError } from '../../../core/errors.js'
import type { Core } from '../../../core/core.js'

/** UnixFS type numbers as Kubo's ls answers them */
const KUBO_TYPE = { directory: 1, file: 2 } as const
const KUBO_LS_MAX = 10_000

async function kuboLs (core: Core, accountId: string, arg: string, signal: AbortSignal): Promise<unknown> {
  const { cid, path } = parseContentPath(arg.replace(/^\/?ipfs\//, ''))
  await core.drive.readable(accountId, cid)
  const entry = await core.content.resolve(cid, path, signal)
  const links: Array<{ Name: string, Hash: string, Size: number, Type: number, Target: string }> = []
  if (entry.type === 'directory') {
    for await (const child of entry.entries({ signal })) {
      if (links.length >= KUBO_LS_MAX) throw new CairnError('invalid_argument', `directory has more than ${KUBO_LS_MAX} entries`)
      const c = await core.content.resolve(child.cid, [], signal).catch(() => undefined)
      const type = c?.type === 'directory' ? KUBO_TYPE.directory : KUBO_TYPE.file
      links.push({ Name: child.name, Hash: child.cid.toString(), Size: type === KUBO_TYPE.file ? Number(c?.size ?? child.size) : 0, Type: type, Target: '' })
    }
  }
  return { Objects: [{ Hash: arg.replace(/^\/?ipfs\//, ''), Links: links }] }
}

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
  }, async (req, reply) => {
    const { account } = principalOf(req)
    // Kubo's ls?arg=<cid>[/path] (FluxDrive's ls takes no arg): {"Objects":[{"Hash","Links"}]}
    const arg = stringArg(req, 'arg')
    if (arg !== undefined) {
      reply.serializer(JSON.stringify) // not FluxDrive's response schema
      return await kuboLs(core, account.id, arg, abortSignalOf(req))
    }
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
