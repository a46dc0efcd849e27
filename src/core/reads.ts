/**
 * Reading what an account may read: `<cid>[/path]` resolved to a file (a ranged byte
 * stream) or a directory (a tar stream), after the drive's access check.
 */
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import mime from 'mime-types'
import type { CID } from 'multiformats/cid'
import { parseCid } from './content/cids.js'
import type { ContentStore } from './content/content-store.js'
import { tarOf } from './content/tar.js'
import type { Drive } from './drive.js'
import { CairnError, invalid } from './errors.js'

export type Opened =
  | { kind: 'file', cid: CID, name: string, mimetype: string, size: number, read: (range?: { start: number, end: number }) => AsyncIterable<Uint8Array> }
  | { kind: 'directory', cid: CID, name: string, tar: () => AsyncIterable<Uint8Array> }

/** Split "<cid>/a/b" (a leading /ipfs/ is tolerated) into a CID and path segments. */
export function parseContentPath (arg: string): { cid: CID, path: string[] } {
  const trimmed = arg.trim().replace(/^\/?ipfs\//, '')
  if (trimmed.length === 0) throw invalid('Missing hash')
  const [head, ...rest] = trimmed.split('/')
  const path = rest.filter(s => s.length > 0)
  if (path.some(s => s === '.' || s === '..')) throw invalid('path may not contain . or ..')
  return { cid: parseCid(head), path: path.map(s => { try { return decodeURIComponent(s) } catch { return s } }) }
}

export class Reads {
  constructor (private readonly drive: Drive, private readonly content: ContentStore) {}

  async open (accountId: string, arg: string, signal?: AbortSignal): Promise<Opened> {
    const { cid, path } = parseContentPath(arg)
    const meta = await this.drive.readable(accountId, cid)
    const entry = await this.content.resolve(cid, path, signal)
    const name = path.length > 0 ? path[path.length - 1] : meta.name
    return this.opened(entry, name, path.length === 0 ? meta.mimetype : null, signal)
  }

  private opened (entry: UnixFSEntry, name: string, mimetype: string | null, signal?: AbortSignal): Opened {
    if (entry.type === 'directory') {
      return {
        kind: 'directory',
        cid: entry.cid,
        name,
        tar: () => tarOf(entry, name, async c => await this.content.resolve(c, [], signal), signal)
      }
    }
    if (entry.type === 'file' || entry.type === 'raw' || entry.type === 'identity') {
      const size = Number(entry.size)
      return {
        kind: 'file',
        cid: entry.cid,
        name,
        mimetype: mimetype ?? (mime.lookup(name) || 'application/octet-stream'),
        size,
        read: (range) => entry.type === 'identity'
          ? entry.content(range === undefined ? { signal } : { offset: range.start, length: range.end - range.start, signal })
          // the exporter has read the root block already: hand it on rather than read it again
          : this.content.readFile(entry.cid, range?.start ?? 0, range?.end ?? size, signal, entry.node)
      }
    }
    throw new CairnError('unsupported_media', `${entry.cid.toString()} is not a UnixFS file or directory`)
  }
}
