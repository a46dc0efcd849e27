/**
 * /apps/fluxshare: each logged-in wallet has its own Fluxshare space (the original has one
 * per node, for its admin). A share token opens one path to anyone, read-only.
 */
import type { FastifyInstance } from 'fastify'
import { CairnError } from '../../../core/errors.js'
import { FLUXSHARE_SPACE } from '../../../core/fluxshare.js'
import { strictName } from '../../../core/paths.js'
import { arg, requireArg, routes } from '../args.js'
import { requireWallet, walletOf } from '../auth.js'
import type { FluxDeps } from '../context.js'
import { message, success, UNAUTHORIZED } from '../envelope.js'
import { GB, listing, pathArg, paths, sendNode, sendZip, storeUploads } from '../files.js'

/** the original's per-upload limit */
export const FLUXSHARE_UPLOAD_LIMIT = 5 * 1024 ** 3

const S = FLUXSHARE_SPACE
type Level = 'public' | 'user'

export function fluxshareRoutes (app: FastifyInstance, deps: FluxDeps): void {
  const { core, metrics } = deps
  const get = (p: string, names: string[], summary: string, handler: Parameters<typeof routes>[4], level: Level = 'user'): void => {
    routes(app, 'GET', paths(`/fluxshare/${p}`, names), { config: { level }, schema: { summary } }, handler)
  }

  get('getfolder', ['folder'], 'Your Fluxshare folder\'s entries with sizes (a folder\'s is the sum below it) and share state', async req => {
    const { account } = requireWallet(req)
    const folder = pathArg(req, 'folder')
    const nodes = await core.tree.list(account.id, S, folder)
    const shares = new Map((await core.fluxshare.list(account.id)).map(s => [s.path, s.token]))
    return success(listing(nodes).map(item => {
      const p = [...folder, item.name as string].join('/')
      const token = shares.get(p)
      return token === undefined ? item : { ...item, shareToken: token, shareFile: encodeURIComponent(p) }
    }))
  })

  get('createfolder', ['folder'], 'Create a folder (and missing parents)', async req => {
    const { account } = requireWallet(req)
    const folder = pathArg(req, 'folder', true)
    await core.tree.mkdir(account.id, S, folder)
    return message('Folder Created')
  })

  routes(app, 'POST', paths('/fluxshare/uploadfile', ['folder']), {
    config: { level: 'user' },
    schema: { summary: 'Upload files (multipart; 5 GB each) into a folder, made if missing; answers once, with the stored files' }
  }, async req => {
    const { account } = requireWallet(req)
    const folder = pathArg(req, 'folder')
    const stored = await storeUploads(core, req, account, S, folder, FLUXSHARE_UPLOAD_LIMIT)
    return success(stored.map(n => ({ name: n.name, size: n.size, cid: n.cid })))
  })

  get('removefile', ['file'], 'Remove a file (its share ends)', async req => {
    const { account } = requireWallet(req)
    const file = pathArg(req, 'file', true)
    await core.tree.remove(account.id, S, file, 'file')
    await core.fluxshare.unshareTree(account.id, file.join('/'))
    return message('File Removed')
  })

  get('removefolder', ['folder'], 'Remove a folder with everything in it (their shares end)', async req => {
    const { account } = requireWallet(req)
    const folder = pathArg(req, 'folder', true)
    await core.tree.remove(account.id, S, folder, 'folder')
    await core.fluxshare.unshareTree(account.id, folder.join('/'))
    return message('Folder Removed')
  })

  get('fileexists', ['file'], 'Whether a file or folder exists', async req => {
    const { account } = requireWallet(req)
    const file = pathArg(req, 'file', true)
    return success({ fileExists: await core.tree.resolve(account.id, S, file) !== undefined })
  })

  get('stats', [], 'Your storage in GB (1e9 bytes): available, used, total', async req => {
    const { account } = requireWallet(req)
    const used = await core.drive.usage(account.id)
    const total = account.capacityBytes
    return success({ available: Math.max(0, total - used) / GB, used: used / GB, total: total / GB })
  })

  get('sharefile', ['file'], 'Share a file or folder: a token from the CSPRNG (the same token if already shared)', async req => {
    const { account } = requireWallet(req)
    const file = pathArg(req, 'file', true)
    if (await core.tree.resolve(account.id, S, file) === undefined) throw new CairnError('not_found', 'File not found')
    const token = await core.fluxshare.share(account.id, file.join('/'))
    return success({ name: encodeURIComponent(file.join('/')), token })
  })

  get('unsharefile', ['file'], 'End the share of a file or folder', async req => {
    const { account } = requireWallet(req)
    const file = pathArg(req, 'file', true)
    await core.fluxshare.unshare(account.id, file.join('/'))
    return message('File sharing disabled')
  })

  get('sharedfiles', [], 'Your shared paths and their tokens', async req => {
    const { account } = requireWallet(req)
    return success((await core.fluxshare.list(account.id)).map(s => ({ name: s.path, token: s.token })))
  })

  get('rename', ['oldpath', 'newname'], 'Rename a file or folder in place (newname has no /); its shares end', async req => {
    const { account } = requireWallet(req)
    const from = pathArg(req, 'oldpath', true)
    if (from.length === 0) throw new CairnError('invalid_argument', 'Missing oldpath')
    const to = [...from.slice(0, -1), strictName(requireArg(req, 'newname'), 'newname')]
    await core.tree.move(account.id, S, from, to)
    await core.fluxshare.unshareTree(account.id, from.join('/'))
    return message('Rename successful')
  })

  get('downloadfolder', ['folder'], 'A folder as a zip (streamed)', async (req, reply) => {
    const { account } = requireWallet(req)
    const folder = pathArg(req, 'folder')
    return await sendZip(core, metrics, reply, account.id, S, folder, 'fluxshare')
  })

  // public: the token opens exactly the path it was made for (a folder comes as a zip);
  // the owner, logged in, may fetch their own files without one
  get('getfile', ['file'], 'Download a shared file with ?token= (a folder comes as a zip); public with a valid token', async (req, reply) => {
    const file = pathArg(req, 'file', true)
    const token = arg(req, 'token')
    let accountId: string
    if (token !== undefined) {
      const share = await core.fluxshare.byToken(token).catch(() => undefined)
      if (share === undefined || share.path !== file.join('/')) throw new CairnError('unauthenticated', UNAUTHORIZED)
      accountId = share.accountId
    } else {
      const w = walletOf(req)
      if (w === undefined) throw new CairnError('unauthenticated', UNAUTHORIZED)
      accountId = w.account.id
    }
    const node = await core.tree.resolve(accountId, S, file)
    if (node === undefined) throw new CairnError('not_found', 'File not found')
    return await sendNode(core, metrics, req, reply, accountId, S, file, node)
  }, 'public')
}
