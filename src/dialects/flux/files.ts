/** What the Flux file routes share: listings, sends, uploads, sizes, progress streams. */
import { PassThrough } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Account } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { invalid, isCairnError } from '../../core/errors.js'
import type { ByteBudget } from '../../core/limits.js'
import { strictName, strictPath } from '../../core/paths.js'
import type { TreeNode } from '../../core/space-tree.js'
import { FLUX_PROFILE } from '../../core/app-volumes.js'
import { openMultipart } from '../../http/multipart.js'
import { contentDisposition, sendFile } from '../../http/responses.js'
import { bodyStream } from '../../http/body-stream.js'
import type { Metrics } from '../../http/metrics.js'
import { abortSignalOf } from '../../http/abort-signal.js'
import { zipOf } from '../../core/archives.js'
import { arg, requireArg } from './args.js'

export const GB = 1e9

/** `/base`, `/base/:a`, `/base/:a/:b`, ...: GET arguments in order as path, or as query */
export function paths (base: string, names: string[]): string[] {
  const out = [base]
  for (let i = 1; i <= names.length; i++) out.push(`${base}/${names.slice(0, i).map(n => ':' + n).join('/')}`)
  return out
}

export function pathArg (req: FastifyRequest, name: string, required = false): string[] {
  const v = required ? requireArg(req, name) : arg(req, name)
  return strictPath(v ?? '', name)
}

export function listing (nodes: TreeNode[]): Array<Record<string, unknown>> {
  return nodes.map(n => ({
    name: n.name,
    size: n.size,
    isDirectory: n.kind === 'folder',
    isFile: n.kind === 'file',
    isSymbolicLink: false, // a space holds no links
    createdAt: n.createdAt,
    modifiedAt: n.createdAt
  }))
}

export async function sendNode (core: Core, metrics: Metrics, req: FastifyRequest, reply: FastifyReply, accountId: string, space: string, path: string[], node: TreeNode): Promise<FastifyReply> {
  if (node.kind === 'file') return await sendFile(req, reply, core.tree.open(node, abortSignalOf(req)), metrics, 'attachment')
  return await sendZip(core, metrics, reply, accountId, space, path, 'files')
}

/** a folder as a zip named after it (`rootName` for the top of the space) */
export async function sendZip (core: Core, metrics: Metrics, reply: FastifyReply, accountId: string, space: string, path: string[], rootName: string): Promise<FastifyReply> {
  await core.tree.resolveFolder(accountId, space, path)
  const name = path.length === 0 ? rootName : path[path.length - 1]
  const zip = await zipOf(core.tree.walk(accountId, space, path), node => core.tree.read(node), name)
  reply.header('content-type', 'application/zip')
  reply.header('x-content-type-options', 'nosniff')
  reply.header('content-disposition', contentDisposition('attachment', `${name}.zip`))
  return await reply.send(bodyStream(zip, metrics))
}

/**
 * Store the multipart files of a request in `folder` of a space, each under its name: the
 * `filename` override, else the part's field name (Flux clients name the field after the
 * file), else the part's file name; every name goes through the strict name rules.
 */
export async function storeUploads (core: Core, req: FastifyRequest, account: Account, space: string, folder: string[], limitBytes: number, override?: string): Promise<TreeNode[]> {
  const upload = await openMultipart(req)
  const stored: TreeNode[] = []
  const budget: ByteBudget = {
    remaining: Math.max(0, account.capacityBytes - await core.drive.usage(account.id)),
    maxFileBytes: Math.min(limitBytes, account.planLimits.maxFileBytes),
    seen: 0
  }
  for await (const part of upload.files) {
    const sent = override ?? (part.field !== undefined && part.field !== '' && part.field !== 'file' && part.field !== 'files' ? part.field : part.filename)
    if (override !== undefined && stored.length > 0) throw invalid('filename names one file: send one file part')
    const name = strictName(sent, 'file name')
    stored.push(await core.tree.putFile(account, space, folder, name, { content: part.content, mimetype: part.mimetype }, { profile: FLUX_PROFILE, budget, signal: abortSignalOf(req) }))
  }
  if (stored.length === 0) throw invalid('No file uploaded')
  return stored
}

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }

/** a byte count in the unit asked for (decimal units), rounded to `decimal` places */
export function inUnit (bytes: number, multiplier: string | undefined, decimal: string | undefined): number {
  const m = (multiplier ?? 'B').toUpperCase()
  const unit = UNITS[m]
  if (unit === undefined) throw invalid('multiplier must be B, KB, MB, GB or TB')
  const d = decimal === undefined ? 2 : Number(decimal)
  if (!Number.isInteger(d) || d < 0 || d > 10) throw invalid('decimal must be an integer from 0 to 10')
  return Number((bytes / unit).toFixed(d))
}

/**
 * A long task answered as text lines while it runs (as the original streams its progress).
 * Arguments are checked before the answer starts, so bad input still gets its status; an
 * error after that is the last line, `Error: ...`.
 */
export function progressStream (reply: FastifyReply, run: (line: (s: string) => void) => Promise<void>, log: FastifyRequest['log']): FastifyReply {
  const out = new PassThrough()
  const line = (s: string): void => { out.write(s + '\n') }
  void run(line).then(() => { out.end() }, err => {
    if (!isCairnError(err)) log.error({ err }, 'flux task failed')
    out.end(`Error: ${isCairnError(err) ? err.message : 'internal error'}\n`)
  })
  reply.header('content-type', 'text/plain; charset=utf-8')
  reply.header('x-content-type-options', 'nosniff')
  return reply.send(out)
}
