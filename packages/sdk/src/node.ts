/** Node-only helpers: a file on disk as an upload source (`@cairn/sdk/node`). */
import { openAsBlob } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { FolderEntry } from './files.js'
import { lookup } from './mime.js'

/** a Blob backed by the file (read as it is sent), named after it, typed by its extension */
export async function fileFromPath (path: string, type?: string): Promise<Blob & { name: string }> {
  const blob = await openAsBlob(path, { type: type ?? lookup(path) })
  return Object.assign(blob, { name: basename(path) })
}
/**
 * every file under a directory as folder entries (paths relative to it, `/`-separated, in
 * byte order of their names), for `files.uploadFolder`. Like `ipfs add -r`: hidden files
 * (names starting with `.`) are left out unless `hidden`, and symbolic links are refused.
 */
export async function folderFromPath (dir: string, o: { hidden?: boolean } = {}): Promise<FolderEntry[]> {
  const out: FolderEntry[] = []
  async function walk (abs: string, rel: string): Promise<void> {
    const items = (await readdir(abs, { withFileTypes: true })).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    for (const d of items) {
      if (o.hidden !== true && d.name.startsWith('.')) continue
      const p = join(abs, d.name)
      const r = rel === '' ? d.name : `${rel}/${d.name}`
      if (d.isDirectory()) await walk(p, r)
      else if (d.isFile()) out.push({ path: r, blob: await openAsBlob(p, { type: lookup(p) }) })
      else if (d.isSymbolicLink()) throw new Error(`${p} is a symbolic link: links are not uploaded`)
    }
  }
  await walk(dir, '')
  return out
}
export * from './index.js'
