import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { openUpload } from '../upload.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { fileName } from '../../../core/paths.js'
import { errorResponses } from './schemas.js'

export function putfolderRoute (app: FastifyInstance, { core }: FluxdriveDeps): void {
  app.post('/putfolder', {
    config: { rate: 'put' },
    schema: {
      summary: 'Upload many files as one UnixFS folder; answers the folder CID',
      description: 'Part file names may carry relative paths ("sub/a.txt"), which become subfolders. Optional fields before the files: name (the folder entry\'s name, default "folder"), path (drive folder), cid-version or profile.',
      consumes: ['multipart/form-data'],
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            folder: { type: 'object', properties: { hash: { type: 'string' }, size: { type: 'string' }, name: { type: 'string' } } },
            path: { type: 'string' },
            files: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, hash: { type: 'string' }, size: { type: 'integer' } } }
            }
          }
        },
        ...errorResponses
      }
    }
  }, async (req) => {
    const { account } = principalOf(req)
    const { upload, field, profile } = await openUpload(req, ['name'])
    const folderPath = field('path')
    const { entry, members } = await core.drive.putFolder(account, DRIVE_SPACE, upload.files, {
      name: fileName(field('name'), 'folder'),
      folderPath,
      profile,
      budget: await core.drive.budgetFor(account),
      signal: abortSignalOf(req)
    })
    return {
      status: 'success',
      // Kubo's add reports a directory's cumulative DAG size, as a string
      folder: { hash: entry.cid ?? '', size: String(entry.size), name: entry.name },
      path: folderPath ?? '/',
      files: members.filter(m => m.kind === 'file').map(m => ({ name: m.path, hash: m.cid, size: m.size }))
    }
  })
}
