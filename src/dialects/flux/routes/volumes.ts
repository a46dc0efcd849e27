/**
 * The Volume Browser (/apps/...) and the backup/restore tasks (/apps/append*task). A volume
 * is a space of the app owner's account; writing to an app name nobody holds claims it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { backupFileName, volumeSpace, type Progress } from '../../../core/app-volumes.js'
import type { Core } from '../../../core/core.js'
import { CairnError, invalid } from '../../../core/errors.js'
import { remoteRequest } from '../../../core/remote-url.js'
import { strictPath } from '../../../core/paths.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { bodyObject, requireArg, routes } from '../args.js'
import type { FluxDeps } from '../context.js'
import { message, success } from '../envelope.js'
import { listing, pathArg, paths, progressStream, sendNode, sendZip } from '../files.js'
import { appTarget, volumeTarget } from '../volume-args.js'

const user = { config: { level: 'user' as const } }
/** how long a remote archive server may stay silent */
const REMOTE_IDLE_MS = 30_000

interface TaskItem { component: string, enabled: boolean, url?: string }

function taskItems (body: Record<string, unknown>, key: 'backup' | 'restore'): TaskItem[] {
  const list = body[key]
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${key} must be a non-empty array of {component, ${key}}`)
  if (list.length > 100) throw invalid(`at most 100 components in one task`)
  return list.map((x: unknown) => {
    if (x === null || typeof x !== 'object') throw invalid(`${key} items must be objects`)
    const o = x as Record<string, unknown>
    if (typeof o.component !== 'string') throw invalid(`each ${key} item needs a component`)
    const enabled = o[key] === true || o[key] === 'true'
    return { component: o.component, enabled, url: typeof o.url === 'string' ? o.url : undefined }
  })
}

export function volumeRoutes (app: FastifyInstance, { core, metrics }: FluxDeps): void {
  const get = (p: string, names: string[], summary: string, handler: Parameters<typeof routes>[4]): void => {
    routes(app, 'GET', paths(`/${p}`, names), { ...user, schema: { summary } }, handler)
  }

  get('getfolderinfo', ['appname', 'component', 'folder'], 'A volume folder\'s entries with sizes', async req => {
    const t = await volumeTarget(core, req, false)
    return success(listing(await core.tree.list(t.owner.id, t.space, pathArg(req, 'folder'))))
  })

  get('createfolder', ['appname', 'component', 'folder'], 'Create a folder in a volume (claims an unheld app name)', async req => {
    const t = await volumeTarget(core, req, true)
    await core.tree.mkdir(t.owner.id, t.space, pathArg(req, 'folder', true))
    return message('Folder Created')
  })

  get('renameobject', ['appname', 'component', 'oldpath', 'newname'], 'Rename or move: newname is a new name, or a new full path inside the volume', async req => {
    const t = await volumeTarget(core, req, false)
    const from = pathArg(req, 'oldpath', true)
    const newname = requireArg(req, 'newname')
    const to = newname.includes('/') ? strictPath(newname, 'newname') : [...from.slice(0, -1), ...strictPath(newname, 'newname')]
    if (from.length === 0 || to.length === 0) throw invalid('Missing oldpath or newname')
    await core.tree.move(t.owner.id, t.space, from, to)
    return message('Rename successful')
  })

  get('removeobject', ['appname', 'component', 'object'], 'Remove a file, or a folder with everything in it', async req => {
    const t = await volumeTarget(core, req, false)
    await core.tree.remove(t.owner.id, t.space, pathArg(req, 'object', true))
    return message('File Removed')
  })

  get('downloadfile', ['appname', 'component', 'file'], 'A volume file\'s bytes (ranges supported)', async (req, reply) => {
    const t = await volumeTarget(core, req, false)
    const file = pathArg(req, 'file', true)
    const node = await core.tree.resolveFile(t.owner.id, t.space, file)
    return await sendNode(core, metrics, req, reply, t.owner.id, t.space, file, node)
  })

  get('downloadfolder', ['appname', 'component', 'folder'], 'A volume folder as a zip (streamed)', async (req, reply) => {
    const t = await volumeTarget(core, req, false)
    return await sendZip(core, metrics, reply, t.owner.id, t.space, pathArg(req, 'folder'), t.component)
  })

  app.post('/appendbackuptask', { ...user, schema: { summary: 'Back up components: writes backup/local/backup_<component>.tar.gz of each volume; progress as text lines' } }, async (req, reply) => {
    const body = bodyObject(req)
    const t = await appTarget(core, withBodyArgs(req, body), false)
    const items = taskItems(body, 'backup').filter(i => i.enabled)
    const components = items.map(i => strictComponent(i.component))
    for (const c of components) if (!await core.tree.exists(t.owner.id, volumeSpace(t.app, c))) throw new CairnError('not_found', `No volume for component ${c}`)
    const signal = abortSignalOf(req)
    return progressStream(reply, async line => {
      line(`Backup task for ${t.app} started`)
      for (const c of components) await core.appVolumes.backup(t.owner, t.app, c, line, signal)
      line('Backup task finished')
    }, req.log)
  })

  app.post('/appendrestoretask', { ...user, schema: { summary: 'Restore components from a local, uploaded or remote (url) tar.gz; progress as text lines' } }, async (req, reply) => {
    const body = bodyObject(req)
    const t = await appTarget(core, withBodyArgs(req, body), true)
    const type = body.type
    if (type !== 'local' && type !== 'upload' && type !== 'remote') throw invalid('type must be local, upload or remote')
    const items = taskItems(body, 'restore').filter(i => i.enabled).map(i => ({ ...i, component: strictComponent(i.component) }))
    if (type !== 'remote') {
      for (const i of items) await core.appVolumes.localArchive(t.owner, t.app, i.component, type)
    } else if (items.some(i => i.url === undefined)) {
      throw invalid('a remote restore needs a url for each component')
    }
    const signal = abortSignalOf(req)
    return progressStream(reply, async line => {
      line(`Restore task for ${t.app} (${type}) started`)
      for (const i of items) await restoreOne(core, t.owner, t.app, i, type, line, signal)
      line('Restore task finished')
    }, req.log)
  })
}

function withBodyArgs (req: FastifyRequest, body: Record<string, unknown>): FastifyRequest {
  // appname comes in the JSON body here; requireArg reads params, query, then body
  if (typeof body.appname !== 'string') throw invalid('Missing appname')
  return req
}

function strictComponent (c: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(c)) throw invalid('Invalid component: letters, digits, - and _, at most 64')
  return c.toLowerCase()
}

async function restoreOne (core: Core, owner: Parameters<Core['appVolumes']['restore']>[0], app: string, item: TaskItem, type: 'local' | 'upload' | 'remote', line: Progress, signal?: AbortSignal): Promise<void> {
  line(`Restoring component ${item.component} from ${type === 'remote' ? 'a remote archive' : `backup/${type}/${backupFileName(item.component)}`}`)
  let archive: AsyncIterable<Uint8Array>
  let expected: string | undefined
  if (type === 'remote') {
    const res = await remoteRequest(item.url as string, 'GET', { allowPrivate: core.config.fluxAllowPrivateUrls, timeoutMs: REMOTE_IDLE_MS, signal })
    line(`Downloading ${res.headers['content-length'] ?? 'unknown'} bytes`)
    archive = res
  } else {
    const node = await core.appVolumes.localArchive(owner, app, item.component, type)
    expected = await core.appVolumes.recordedRoot(owner.id, node.cid)
    archive = core.tree.read(node, signal)
  }
  const r = await core.appVolumes.restore(owner, app, item.component, archive, line, signal)
  if (expected !== undefined) {
    line(expected === r.volumeRootCid ? `Volume root CID matches the backup (${expected})` : `Volume root CID ${r.volumeRootCid} differs from the backup's ${expected}`)
  }
}
