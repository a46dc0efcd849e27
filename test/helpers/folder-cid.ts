/**
 * The CID `ipfs add -r` gives a directory tree, computed here with the IPFS project's own
 * importer from the files on disk (no server involved), for Kubo's two profiles.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import type { CID } from 'multiformats/cid'

async function * tree (root: string, name: string): AsyncGenerator<{ path: string, content: Uint8Array }> {
  const walk = async function * (abs: string, rel: string): AsyncGenerator<{ path: string, content: Uint8Array }> {
    const items = (await readdir(abs, { withFileTypes: true })).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    for (const d of items) {
      if (d.name.startsWith('.')) continue
      if (d.isDirectory()) yield * walk(join(abs, d.name), `${rel}/${d.name}`)
      else if (d.isFile()) yield { path: `${rel}/${d.name}`, content: await readFile(join(abs, d.name)) }
    }
  }
  yield * walk(root, name)
}

/** the directory's CID: cidVersion 0 is `ipfs add -r`, 1 is `ipfs add -r --profile=unixfs-v1-2025` */
export async function expectedFolderCid (dir: string, cidVersion: 0 | 1): Promise<string> {
  const blocks = { put: async (cid: CID) => cid, get: async () => { throw new Error('not kept') }, has: async () => false }
  const opts = cidVersion === 0
    ? { cidVersion: 0 as const, rawLeaves: false, leafType: 'file' as const, chunker: fixedSize({ chunkSize: 262144 }), maxChildrenPerNode: 174 }
    : { cidVersion: 1 as const, rawLeaves: true, chunker: fixedSize({ chunkSize: 1048576 }), maxChildrenPerNode: 1024 }
  let last: CID | undefined
  for await (const e of importer(tree(dir, 'root'), blocks as any, { ...opts, wrapWithDirectory: false })) if (e.path === 'root') last = e.cid
  if (last === undefined) throw new Error('no root')
  return last.toString()
}
