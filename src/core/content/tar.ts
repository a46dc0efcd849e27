/**
 * A UnixFS directory as a tar stream, as `ipfs get` writes it: the top entry is named after
 * the requested name, directories 0755, files 0644, children in directory order. Streams
 * file by file; memory does not depend on the size of the tree.
 */
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'

export type LoadEntry = (cid: CID) => Promise<UnixFSEntry>
import { pack as tarPack, type Pack } from 'tar-stream'
import { CairnError } from '../errors.js'

async function writeEntry (pack: Pack, entry: UnixFSEntry, name: string, load: LoadEntry, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  if (entry.type === 'directory') {
    pack.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(0) })
    for await (const child of entry.entries()) {
      // a name is one path segment: "../x" or "a/b" would write outside the archive's root
      if (child.name === '' || child.name === '.' || child.name === '..' || /[/\\\0]/.test(child.name)) {
        throw new CairnError('invalid_argument', `refusing to write "${child.name}" into a tar: not a plain name`)
      }
      await writeEntry(pack, await load(child.cid), `${name}/${child.name}`, load, signal)
    }
    return
  }
  if (entry.type === 'file' || entry.type === 'raw' || entry.type === 'identity') {
    const size = Number(entry.size)
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name, type: 'file', size, mode: 0o644, mtime: new Date(0) }, err => { err == null ? resolve() : reject(err) })
      void (async () => {
        try {
          for await (const chunk of entry.content()) {
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
  // other node types (symlinks, dag-cbor) are skipped, as Kubo's get skips what it cannot write
}

/**
 * The tar stream of `entry`. A failure while walking (a name that would leave the archive, a
 * missing block) fails the iteration, so an HTTP answer is cut off rather than ending as if
 * complete; it never surfaces as an unhandled stream error.
 */
export async function * tarOf (entry: UnixFSEntry, name: string, load: LoadEntry, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const pack = tarPack()
  pack.on('error', () => {}) // reported through `failure` below
  let failure: unknown
  const written = writeEntry(pack, entry, name, load, signal).then(() => { pack.finalize() }, err => {
    failure = err
    pack.destroy()
  })
  try {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) yield chunk
  } catch (err) {
    failure ??= err
  } finally {
    if (!pack.destroyed && failure === undefined) pack.destroy()
  }
  await written
  if (failure !== undefined) throw failure
}

/** A tar holding one file named `name` (Kubo's get of a file). */
export async function * singleFileTar (name: string, size: number, content: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const pack = tarPack()
  pack.on('error', () => {})
  let failure: unknown
  const written = new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name, type: 'file', size, mode: 0o644, mtime: new Date(0) }, err => { err == null ? resolve() : reject(err) })
    void (async () => {
      try {
        for await (const chunk of content) {
          if (!sink.write(chunk)) await new Promise<void>(resolve => { sink.once('drain', () => { resolve() }) })
        }
        sink.end(undefined)
      } catch (err) {
        sink.destroy(err as Error)
        reject(err)
      }
    })()
  }).then(() => { pack.finalize() }, err => { failure = err; pack.destroy() })
  try {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) yield chunk
  } catch (err) {
    failure ??= err
  }
  await written
  if (failure !== undefined) throw failure
}
