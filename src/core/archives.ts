/**
 * Archives of a file tree, streamed: a zip for downloads (yazl; entries stored, not
 * compressed, so a download runs at read speed) and a tar.gz for volume backups
 * (tar-stream + zlib), and the reading of a tar.gz for restores. Memory does not grow with
 * the size of the files; only the list of names is held.
 */
import { Readable } from 'node:stream'
import { createGunzip, createGzip } from 'node:zlib'
import { extract as tarExtract, pack as tarPack } from 'tar-stream'
import yazl from 'yazl'
import { CairnError, invalid } from './errors.js'
import { strictPath } from './paths.js'
import type { TreeNode, WalkItem } from './space-tree.js'

type Read = (node: TreeNode) => AsyncIterable<Uint8Array>

/** a zip of the items (paths relative to the archive's root folder `top`, if given) */
export async function zipOf (items: AsyncIterable<WalkItem>, read: Read, top?: string): Promise<AsyncIterable<Uint8Array>> {
  const zip = new yazl.ZipFile()
  const prefix = top === undefined || top === '' ? '' : `${top}/`
  if (prefix !== '') zip.addEmptyDirectory(top as string, { mtime: new Date() })
  for await (const { path, node } of items) {
    const mtime = new Date(node.createdAt)
    if (node.kind === 'folder') zip.addEmptyDirectory(prefix + path, { mtime })
    else zip.addReadStream(Readable.from(read(node), { objectMode: false }), prefix + path, { mtime, compress: false, size: node.size })
  }
  zip.end()
  return zip.outputStream as unknown as AsyncIterable<Uint8Array>
}

/** a gzip-compressed tar of the items, paths relative to the volume root */
export function tarGzOf (items: AsyncIterable<WalkItem>, read: Read, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  const pack = tarPack()
  const write = async (): Promise<void> => {
    for await (const { path, node } of items) {
      signal?.throwIfAborted()
      const mtime = new Date(node.createdAt)
      if (node.kind === 'folder') {
        pack.entry({ name: path, type: 'directory', mode: 0o755, mtime })
        continue
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name: path, type: 'file', size: node.size, mode: 0o644, mtime }, err => { err == null ? resolve() : reject(err) })
        void (async () => {
          try {
            for await (const chunk of read(node)) {
              if (!sink.write(chunk)) await new Promise<void>(resolve => { sink.once('drain', () => { resolve() }) })
            }
            sink.end(undefined)
          } catch (err) {
            sink.destroy(err as Error)
            reject(err)
          }
        })()
      })
    }
  }
  write().then(() => pack.finalize(), err => pack.destroy(err as Error))
  const gz = createGzip()
  pack.on('error', err => gz.destroy(err))
  return pack.pipe(gz)
}

export type TarItem =
  | { kind: 'file', path: string[], content: AsyncIterable<Uint8Array> }
  | { kind: 'folder', path: string[] }
  | { kind: 'skipped', name: string, type: string }

/** most entries a restore takes from one archive */
export const MAX_ARCHIVE_ENTRIES = 100_000

/**
 * The entries of a tar.gz. Names go through the strict path rules (a leading './' is
 * allowed, as `tar -C dir .` writes it); an absolute name, '..' or anything else unsafe
 * fails the whole archive. Symbolic links, hard links and devices are not recreated: they
 * come out as 'skipped', so an archive cannot plant a link that points out of the volume.
 * Each file's content must be read before the next entry is asked for.
 */
export async function * readTarGz (source: AsyncIterable<Uint8Array>): AsyncIterable<TarItem> {
  const ex = tarExtract()
  const gunzip = createGunzip()
  const input = Readable.from(source, { objectMode: false })
  input.on('error', err => gunzip.destroy(err))
  gunzip.on('error', err => ex.destroy(err))
  input.pipe(gunzip).pipe(ex)
  let n = 0
  try {
    for await (const entry of ex) {
      if (++n > MAX_ARCHIVE_ENTRIES) throw invalid(`archive has more than ${MAX_ARCHIVE_ENTRIES} entries`)
      const h = entry.header
      const raw = h.name.replace(/^(\.\/)+/, '')
      if (raw === '' || raw === '.' || raw === './') { entry.resume(); continue }
      let path: string[]
      try {
        path = strictPath(raw, 'archive entry name')
      } catch (err) {
        throw invalid(`unsafe name in archive: ${JSON.stringify(h.name.slice(0, 200))} (${(err as Error).message})`)
      }
      if (h.type === 'file' || h.type === 'contiguous-file') {
        yield { kind: 'file', path, content: entry as AsyncIterable<Uint8Array> }
        entry.resume() // whatever the consumer left unread
      } else if (h.type === 'directory') {
        entry.resume()
        yield { kind: 'folder', path }
      } else {
        entry.resume()
        yield { kind: 'skipped', name: path.join('/'), type: h.type ?? 'unknown' }
      }
    }
  } catch (err) {
    if (err instanceof CairnError) throw err
    throw invalid(`not a readable tar.gz archive: ${(err as Error).message}`)
  }
}
