/**
 * The root CID of a volume: a UnixFS directory over the volume's files as they are stored
 * (their CIDs), built from the tree without reading any file again. Links are sorted by
 * name bytes as Kubo sorts a basic directory, each with the cumulative size of the linked
 * DAG; the node is CIDv0 when every child is, else CIDv1 dag-pb. It identifies the volume's
 * state: a backup records it, and a restore that brings back the same files gets it again.
 * The directory nodes are computed, not stored: the content itself is the backup archive.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Db } from '../adapters/metadata/open.js'
import type { WalkItem } from './space-tree.js'

interface Dir { dirs: Map<string, Dir>, files: Map<string, { cid: string, size: number }> }

export async function volumeRootCid (db: Db, items: AsyncIterable<WalkItem>): Promise<string> {
  const root: Dir = { dirs: new Map(), files: new Map() }
  const cids = new Set<string>()
  for await (const { path, node } of items) {
    const parts = path.split('/')
    let d = root
    for (const p of parts.slice(0, -1)) {
      let next = d.dirs.get(p)
      if (next === undefined) { next = { dirs: new Map(), files: new Map() }; d.dirs.set(p, next) }
      d = next
    }
    const name = parts[parts.length - 1]
    if (node.kind === 'folder') {
      if (!d.dirs.has(name)) d.dirs.set(name, { dirs: new Map(), files: new Map() })
    } else if (node.cid !== null) {
      d.files.set(name, { cid: node.cid, size: node.size })
      cids.add(node.cid)
    }
  }
  const dagSizes = new Map<string, number>()
  const all = [...cids]
  for (let i = 0; i < all.length; i += 500) {
    const rows = await db.selectFrom('contents').select(['cid', 'dag_size']).where('cid', 'in', all.slice(i, i + 500)).execute()
    for (const r of rows) dagSizes.set(r.cid, Number(r.dag_size))
  }
  const encode = async (d: Dir): Promise<{ cid: CID, tsize: number }> => {
    const links: dagPb.PBLink[] = []
    let v0 = true
    for (const [name, sub] of d.dirs) {
      const c = await encode(sub)
      if (c.cid.version !== 0) v0 = false
      links.push({ Name: name, Hash: c.cid, Tsize: c.tsize })
    }
    for (const [name, f] of d.files) {
      const c = CID.parse(f.cid)
      if (c.version !== 0) v0 = false
      links.push({ Name: name, Hash: c, Tsize: dagSizes.get(f.cid) ?? f.size })
    }
    links.sort((a, b) => Buffer.compare(Buffer.from(a.Name ?? ''), Buffer.from(b.Name ?? '')))
    const bytes = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: links }))
    const hash = await sha256.digest(bytes)
    const cid = v0 ? CID.createV0(hash) : CID.createV1(dagPb.code, hash)
    return { cid, tsize: bytes.length + links.reduce((n, l) => n + (l.Tsize ?? 0), 0) }
  }
  return (await encode(root)).cid.toString()
}
