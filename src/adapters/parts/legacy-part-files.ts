/**
 * Part files of /buckets uploads begun before parts were packs (migration 0010):
 * <dir>/<uploadId>/<partNumber>, each a whole part. New parts are never written here; an
 * upload still open across the upgrade completes by reading its old parts from here, and
 * its directory is removed with the upload.
 */
import { createReadStream } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '../../core/errors.js'

const ID_RE = /^[A-Za-z0-9_-]{8,64}$/

function checkId (id: string): void {
  // ids come from our own metadata, but never let one name a path outside the store
  if (!ID_RE.test(id)) throw new CairnError('invalid_argument', `bad upload id ${JSON.stringify(id)}`)
}

export class LegacyPartFiles {
  constructor (private readonly dir: string) {}

  /** the bytes of one part */
  async * readPart (uploadId: string, partNumber: number, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    checkId(uploadId)
    if (!Number.isSafeInteger(partNumber) || partNumber < 1) throw new CairnError('invalid_argument', 'bad part number')
    const stream = createReadStream(join(this.dir, uploadId, String(partNumber)), { highWaterMark: 1024 * 1024, signal })
    try {
      for await (const chunk of stream) yield chunk as Buffer
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CairnError('not_found', `part ${partNumber} is missing`)
      throw err
    }
  }

  /** drop an upload's part files (no error if there are none) */
  async dropUpload (uploadId: string): Promise<void> {
    checkId(uploadId)
    await rm(join(this.dir, uploadId), { recursive: true, force: true })
  }

  /** upload ids that have part files */
  async listUploads (): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter(n => ID_RE.test(n))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }
}
