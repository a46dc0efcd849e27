/**
 * Depth-first walks of a stored DAG for CAR responses and exports, as the trustless gateway
 * specification shapes them: `dag-scope` (all, entity, block), `entity-bytes` (only the
 * blocks a byte range of a UnixFS file needs) and `dups` (repeat a block each time the walk
 * meets it, or send it once). Identity CIDs are never emitted: their bytes are in the CID.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { invalid } from '../errors.js'
import { isIdentity, linksOf } from './blocks.js'

export type DagScope = 'all' | 'entity' | 'block'
export const DAG_SCOPES: readonly DagScope[] = ['all', 'entity', 'block']

/** `entity-bytes=from:to` as sent: `to` inclusive, `*` for the end, negatives count from the end */
export interface EntityBytes { from: number, to: number | '*' }

export interface WalkOptions {
  scope: DagScope
  entityBytes?: EntityBytes
  /** true: a block is sent every time the walk meets it (dups=y) */
  dups: boolean
  signal?: AbortSignal
}

export interface Block { cid: CID, bytes: Uint8Array }
export type GetBlock = (cid: CID) => Promise<Uint8Array>

/** Parse `from:to`; throws invalid_argument when malformed or when `from > to` is clear up front. */
export function parseEntityBytes (s: string): EntityBytes {
  const m = /^(-?\d{1,16}):(-?\d{1,16}|\*)$/.exec(s)
  if (m === null) throw invalid(`entity-bytes must be from:to (integers, or * for the end), got "${s.slice(0, 60)}"`)
  const from = Number(m[1])
  const to = m[2] === '*' ? '*' : Number(m[2])
  if (typeof to === 'number' && from >= 0 && to >= 0 && from > to) throw invalid('entity-bytes: from is after to')
  if (typeof to === 'number' && from < 0 && to < 0 && from > to) throw invalid('entity-bytes: from is after to')
  return { from, to }
}

/** [start, end) of a file of `size` bytes, or undefined when the range is empty or outside it. */
export function resolveEntityBytes (eb: EntityBytes, size: number): { start: number, end: number } | undefined {
  const start = eb.from < 0 ? Math.max(0, size + eb.from) : eb.from
  const last = eb.to === '*' ? size - 1 : eb.to < 0 ? size + eb.to : Math.min(eb.to, size - 1)
  if (start >= size || last < start) return undefined
  return { start, end: last + 1 }
}

interface UnixFSNode { node: dagPb.PBNode, fs: UnixFS | undefined }

function unixfsOf (cid: CID, bytes: Uint8Array): UnixFSNode | undefined {
  if (cid.code !== dagPb.code) return undefined
  const node = dagPb.decode(bytes)
  let fs: UnixFS | undefined
  try { fs = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data) } catch { fs = undefined }
  return { node, fs }
}

/** The blocks of the DAG under `root` in depth-first order, shaped by scope, entity-bytes and dups. */
export async function * walkDag (get: GetBlock, root: CID, opts: WalkOptions): AsyncGenerator<Block> {
  const seen = new Set<string>()
  /** the block of `cid`, or undefined when it must not be sent (identity, or already sent with dups=n) */
  const fetch = async (cid: CID): Promise<Uint8Array | undefined> => {
    opts.signal?.throwIfAborted()
    if (isIdentity(cid)) return undefined
    if (!opts.dups) {
      const k = cid.toString()
      if (seen.has(k)) return undefined
      seen.add(k)
    }
    return await get(cid)
  }

  async function * all (cid: CID): AsyncGenerator<Block> {
    const bytes = await fetch(cid)
    if (bytes === undefined) return
    yield { cid, bytes }
    for (const link of linksOf(cid, bytes)) yield * all(link)
  }

  /** the blocks of a UnixFS file that [start, end) needs (offsets relative to this node) */
  async function * fileRange (cid: CID, bytes: Uint8Array, start: number, end: number): AsyncGenerator<Block> {
    yield { cid, bytes }
    const u = unixfsOf(cid, bytes)
    if (u === undefined || u.fs === undefined) return
    let pos = u.fs.data?.byteLength ?? 0
    for (let i = 0; i < u.node.Links.length; i++) {
      const size = Number(u.fs.blockSizes[i] ?? 0n)
      const childStart = pos
      pos += size
      if (pos <= start || childStart >= end) continue
      const child = u.node.Links[i].Hash
      const childBytes = await fetch(child)
      if (childBytes === undefined) continue
      yield * fileRange(child, childBytes, Math.max(0, start - childStart), Math.min(size, end - childStart))
    }
  }

  /** a HAMT directory's own shard blocks, not the entries they point to */
  async function * hamtShards (cid: CID, bytes: Uint8Array, padLength: number): AsyncGenerator<Block> {
    yield { cid, bytes }
    const u = unixfsOf(cid, bytes)
    if (u === undefined) return
    for (const link of u.node.Links) {
      if ((link.Name ?? '').length !== padLength) continue // a longer name is an entry
      const childBytes = await fetch(link.Hash)
      if (childBytes !== undefined) yield * hamtShards(link.Hash, childBytes, padLength)
    }
  }

  if (opts.scope === 'all' && opts.entityBytes === undefined) { yield * all(root); return }
  const bytes = await fetch(root)
  if (bytes === undefined) return
  if (opts.scope === 'block') { yield { cid: root, bytes }; return }

  // entity (or entity-bytes, which implies it)
  if (root.code === raw.code) { yield { cid: root, bytes }; return }
  const u = unixfsOf(root, bytes)
  if (u?.fs === undefined) { yield { cid: root, bytes }; return } // not UnixFS: entity is the block
  if (u.fs.type === 'file' || u.fs.type === 'raw') {
    const size = Number(u.fs.fileSize())
    const range = opts.entityBytes === undefined ? { start: 0, end: size } : resolveEntityBytes(opts.entityBytes, size)
    if (range === undefined) { yield { cid: root, bytes }; return }
    if (opts.entityBytes === undefined) {
      // the whole file: every block under it
      yield { cid: root, bytes }
      for (const link of u.node.Links) yield * all(link.Hash)
      return
    }
    yield * fileRange(root, bytes, range.start, range.end)
    return
  }
  if (u.fs.type === 'hamt-sharded-directory') {
    const fanout = Number(u.fs.fanout ?? 256n)
    yield * hamtShards(root, bytes, (fanout - 1).toString(16).length)
    return
  }
  yield { cid: root, bytes } // a plain directory, symlink or metadata node
}
