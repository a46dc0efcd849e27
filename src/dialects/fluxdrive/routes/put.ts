import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { openUpload } from '../upload.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { errorResponses, fileInfo } from './schemas.js'

export function putRoute (app: FastifyInstance, { core }: FluxdriveDeps): void {
  app.post('/put', {
    config: { rate: 'put' },
    schema: {
      summary: 'Upload one or more files (multipart "file" parts); answers Kubo CIDv0 unless cid-version=1',
      description: 'Optional fields before the files (or query parameters): path (folder, created as needed), cid-version (0|1) or profile (unixfs-v0-2015|unixfs-v1-2025). All files of a request are stored, or none.',
      consumes: ['multipart/form-data'],
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            files: { type: 'array', items: fileInfo },
            ...fileInfo.properties
          }
        },
        ...errorResponses
      }
    }
  }, async (req) => {
    const { account } = principalOf(req)
    const { upload, field, profile } = await openUpload(req, [])
    const entries = await core.drive.putFiles(account, DRIVE_SPACE, upload.files, {
      folderPath: field('path'),
      profile,
      budget: await core.drive.budgetFor(account),
      signal: abortSignalOf(req)
    })
    const files = entries.map(e => ({ name: e.name, hash: e.cid ?? '', mimetype: e.mimetype ?? 'application/octet-stream', size: e.size, thumbnail: e.thumbnailCid }))
    // `files` is the documented answer; the first file also at the top level, as newer clients read it
    return { status: 'success', files, ...files[0] }
  })
}
