/**
 * /backup: a volume's usage, the size of a remote archive, and the app's stored backups
 * (backup/local/ written by appendbackuptask, backup/upload/ by the IOUtils upload). Paths
 * are relative to the app's backup area; a full path of the original node
 * (".../backup/local/backup_x.tar.gz") is taken from its "backup/" on.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { backupSpace } from '../../../core/app-volumes.js'
import { invalid } from '../../../core/errors.js'
import { strictPath } from '../../../core/paths.js'
import { remoteSize } from '../../../core/remote-url.js'
import { arg, requireArg, routes } from '../args.js'
import type { FluxDeps } from '../context.js'
import { message, success } from '../envelope.js'
import { inUnit, paths, sendNode } from '../files.js'
import { appTarget, volumeTarget } from '../volume-args.js'

const user = { config: { level: 'user' as const } }
const HEAD_TIMEOUT_MS = 15_000
const FIELDS = ['filesystem', 'size', 'used', 'available', 'capacity', 'mount'] as const

/** a backup path: relative, or an original full path cut at its last "backup/" */
function backupPath (req: FastifyRequest, name: string): string[] {
  const raw = requireArg(req, name)
  const i = raw.lastIndexOf('/backup/')
  const rel = i >= 0 ? raw.slice(i + '/backup/'.length) : raw.replace(/^backup\//, '')
  return strictPath(rel, name)
}

function wantsNumber (req: FastifyRequest): boolean {
  const n = arg(req, 'number')
  return n === undefined || /^(true|1)$/i.test(n)
}

export function backupRoutes (app: FastifyInstance, { core, metrics }: FluxDeps): void {
  const get = (p: string, names: string[], summary: string, handler: Parameters<typeof routes>[4]): void => {
    routes(app, 'GET', paths(`/${p}`, names), { ...user, schema: { summary } }, handler)
  }

  get('getvolumedataofcomponent', ['appname', 'component', 'multiplier', 'decimal', 'fields'], 'A volume\'s usage, df-style: filesystem, size, used, available, capacity, mount (decimal units)', async req => {
    const t = await volumeTarget(core, req, false)
    await core.tree.resolveFolder(t.owner.id, t.space, [])
    const used = await core.tree.usage(t.owner.id, t.space)
    const size = t.owner.capacityBytes
    const available = Math.max(0, size - await core.drive.usage(t.owner.id))
    const m = arg(req, 'multiplier')
    const d = arg(req, 'decimal')
    const all: Record<string, unknown> = {
      filesystem: 'cairn',
      size: inUnit(size, m, d),
      used: inUnit(used, m, d),
      available: inUnit(available, m, d),
      capacity: size === 0 ? '100%' : `${Math.ceil(used / size * 100)}%`,
      mount: `/apps/${t.app}/${t.component}`
    }
    const fields = (arg(req, 'fields') ?? FIELDS.join(',')).split(',').map(f => f.trim()).filter(Boolean)
    const unknown = fields.find(f => !(FIELDS as readonly string[]).includes(f))
    if (unknown !== undefined) throw invalid(`unknown field "${unknown}" (one of ${FIELDS.join(', ')})`)
    return success(Object.fromEntries(fields.map(f => [f, all[f]])))
  })

  get('getremotefilesize', ['fileurl', 'multiplier', 'decimal', 'number', 'appname'], 'The size of a remote file (HEAD; private addresses refused, 5 redirects, 15 s)', async req => {
    await appTarget(core, req, false)
    const size = await remoteSize(requireArg(req, 'fileurl'), { allowPrivate: core.config.fluxAllowPrivateUrls, timeoutMs: HEAD_TIMEOUT_MS })
    const n = inUnit(size, arg(req, 'multiplier'), arg(req, 'decimal'))
    return success(wantsNumber(req) ? n : `${n} ${(arg(req, 'multiplier') ?? 'B').toUpperCase()}`)
  })

  get('getlocalbackuplist', ['path', 'multiplier', 'decimal', 'number', 'appname'], 'The *.tar.gz backups in a backup folder (local or upload), with their CID and the volume root CID they hold', async req => {
    const t = await appTarget(core, req, false)
    const folder = backupPath(req, 'path')
    const node = await core.tree.resolve(t.owner.id, backupSpace(t.app), folder)
    if (node === undefined) return success([])
    if (node.kind !== 'folder') throw invalid('path is a file')
    const nodes = (await core.tree.list(t.owner.id, backupSpace(t.app), folder)).filter(n => n.kind === 'file' && n.name.endsWith('.tar.gz'))
    const m = arg(req, 'multiplier')
    const d = arg(req, 'decimal')
    const out = []
    for (const n of nodes) {
      const size = inUnit(n.size, m, d)
      out.push({
        name: n.name,
        create: n.createdAt,
        size: wantsNumber(req) ? size : `${size} ${(m ?? 'B').toUpperCase()}`,
        cid: n.cid,
        volumeRootCid: await core.appVolumes.recordedRoot(t.owner.id, n.cid) ?? null
      })
    }
    return success(out)
  })

  get('removebackupfile', ['filepath', 'appname'], 'Remove a stored backup file', async req => {
    const t = await appTarget(core, req, false)
    await core.tree.remove(t.owner.id, backupSpace(t.app), backupPath(req, 'filepath'), 'file')
    return message(true)
  })

  get('downloadlocalfile', ['filepath', 'appname'], 'Download a stored backup file', async (req, reply) => {
    const t = await appTarget(core, req, false)
    const file = backupPath(req, 'filepath')
    const node = await core.tree.resolveFile(t.owner.id, backupSpace(t.app), file)
    return await sendNode(core, metrics, req, reply, t.owner.id, backupSpace(t.app), file, node)
  })
}
