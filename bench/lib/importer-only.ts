/**
 * The upload anchor: the IPFS importer alone (ipfs-unixfs-importer, profile unixfs-v0-2015,
 * as Cairn's FluxDrive put uses) building and hashing the DAG of a file read from disk, into
 * a blockstore that drops every block. No HTTP, no multipart, no disk writes, no database:
 * what an upload would cost if everything but chunking and hashing were free.
 *
 * The importer is sensitive to the size of the pieces it is fed (its chunker re-slices them
 * into 256 KiB chunks): the anchor reads 1 MiB at a time, its best case.
 */
import { open } from 'node:fs/promises'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'

async function * readFile (path: string, readBytes: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    while (true) {
      const buf = Buffer.allocUnsafe(readBytes) // fresh each time: the importer may keep it
      const { bytesRead } = await fh.read(buf, 0, readBytes)
      if (bytesRead === 0) return
      yield buf.subarray(0, bytesRead)
    }
  } finally {
    await fh.close()
  }
}

export async function importerOnly (path: string, opts: { readBytes?: number, profile?: 'unixfs-v0-2015' | 'unixfs-v1-2025' } = {}): Promise<{ cid: string, bytes: number, seconds: number, blocks: number }> {
  let blocks = 0
  const discard = {
    put: async (cid: CID, bytes: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<CID> => {
      if (!(bytes instanceof Uint8Array)) for await (const _ of bytes) { /* consume */ }
      blocks++
      return cid
    }
  }
  const t0 = performance.now()
  let root: { cid: CID, size: bigint } | undefined
  for await (const entry of importer([{ content: readFile(path, opts.readBytes ?? 1024 * 1024) }], discard, { profile: opts.profile ?? 'unixfs-v0-2015' })) {
    root = { cid: entry.cid, size: entry.unixfs?.fileSize() ?? entry.size }
  }
  const seconds = (performance.now() - t0) / 1000
  if (root === undefined) throw new Error('importer produced nothing')
  return { cid: root.cid.toString(), bytes: Number(root.size), seconds, blocks }
}
