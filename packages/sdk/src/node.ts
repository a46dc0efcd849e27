/** Node-only helpers: a file on disk as an upload source (`@cairn/sdk/node`). */
import { openAsBlob } from 'node:fs'
import { basename } from 'node:path'
import { lookup } from './mime.js'

/** a Blob backed by the file (read as it is sent), named after it, typed by its extension */
export async function fileFromPath (path: string, type?: string): Promise<Blob & { name: string }> {
  const blob = await openAsBlob(path, { type: type ?? lookup(path) })
  return Object.assign(blob, { name: basename(path) })
}
export * from './index.js'
