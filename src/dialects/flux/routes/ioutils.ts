/**
 * /ioutils/fileupload: a multipart upload into a volume folder (type volume) or into the
 * app's backup/upload/ (type backup), optionally under a `filename` of the caller's choice.
 */
import type { FastifyInstance } from 'fastify'
import { backupSpace } from '../../../core/app-volumes.js'
import { invalid } from '../../../core/errors.js'
import { arg, requireArg, routes } from '../args.js'
import type { FluxDeps } from '../context.js'
import { success } from '../envelope.js'
import { pathArg, paths, storeUploads } from '../files.js'
import { appTarget, volumeTarget } from '../volume-args.js'

/** the original's IOUtils limit */
export const IOUTILS_UPLOAD_LIMIT = 10 * 1024 ** 3

export function ioutilsRoutes (app: FastifyInstance, { core }: FluxDeps): void {
  routes(app, 'POST', paths('/fileupload', ['type', 'appname', 'component', 'folder', 'filename']), {
    config: { level: 'user' },
    schema: { summary: 'Upload into a volume folder (type=volume) or backup/upload/ (type=backup); filename overrides the name; answers once, with the stored files' }
  }, async req => {
    const type = requireArg(req, 'type')
    if (type !== 'volume' && type !== 'backup') throw invalid('type must be volume or backup')
    const override = arg(req, 'filename')
    const folder = pathArg(req, 'folder')
    let stored
    if (type === 'backup') {
      const t = await appTarget(core, req, true)
      requireArg(req, 'component')
      stored = await storeUploads(core, req, t.owner, backupSpace(t.app), ['upload', ...folder], IOUTILS_UPLOAD_LIMIT, override)
    } else {
      const t = await volumeTarget(core, req, true)
      stored = await storeUploads(core, req, t.owner, t.space, folder, IOUTILS_UPLOAD_LIMIT, override)
    }
    return success(stored.map(n => ({ name: n.name, size: n.size, cid: n.cid })))
  })
}
