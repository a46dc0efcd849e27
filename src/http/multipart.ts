/**
 * Multipart uploads as a stream of files: the fields that precede the first file are read
 * first (so `path` or `profile` can steer the import), then each file part is handed on as
 * a byte stream, never buffered. Busboy's own errors (a cut-off or malformed body) become a
 * clear invalid_argument; limit errors keep their status.
 */
import type { FastifyRequest } from 'fastify'
import type { Multipart, MultipartFile } from '@fastify/multipart'
import { CairnError } from '../core/errors.js'
import type { UploadSource } from '../core/drive.js'

const MAX_FIELD_NAME = 100

function malformed (err: unknown): unknown {
  if (err instanceof CairnError) return err
  const status = (err as { statusCode?: number }).statusCode
  if (status !== undefined && status < 500) return err
  return new CairnError('invalid_argument', `Malformed multipart body: ${(err as Error).message}`)
}

async function * guarded (file: MultipartFile): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of file.file) yield chunk as Buffer
  } catch (err) {
    throw malformed(err)
  }
  if (file.file.truncated) throw new CairnError('file_too_large', 'File size exceeds the limit')
}

export interface MultipartUpload {
  /** fields seen so far (those before the first file, then more as files are consumed) */
  fields: Record<string, string>
  /** the file parts, in order; each must be consumed before the next is asked for */
  files: AsyncIterable<UploadSource>
  /** how many file parts have been handed out */
  count: () => number
}

/**
 * `steering` names fields that change how files are stored (a folder path, a CID profile):
 * they must come before the first file, and one that comes later is refused rather than
 * silently ignored.
 */
export async function openMultipart (req: FastifyRequest, steering: readonly string[] = []): Promise<MultipartUpload> {
  if (!req.isMultipart()) throw new CairnError('invalid_argument', 'No file uploaded: send multipart/form-data with a "file" part')
  const fields: Record<string, string> = {}
  const it = req.parts()[Symbol.asyncIterator]()
  let handed = 0

  const next = async (): Promise<MultipartFile | undefined> => {
    while (true) {
      let r: IteratorResult<Multipart>
      try {
        r = await it.next()
      } catch (err) {
        throw malformed(err)
      }
      if (r.done === true) return undefined
      const part = r.value
      if (part.type === 'file') return part
      if (handed > 0 && steering.includes(part.fieldname)) {
        throw new CairnError('invalid_argument', `field "${part.fieldname}" must come before the files`)
      }
      if (part.fieldname.length <= MAX_FIELD_NAME && !(part.fieldname in fields) && typeof part.value === 'string') {
        fields[part.fieldname] = part.value
      }
    }
  }

  const first = await next()
  async function * files (): AsyncIterable<UploadSource> {
    let part = first
    while (part !== undefined) {
      handed++
      const current = part
      yield { filename: current.filename, mimetype: current.mimetype, content: guarded(current), field: current.fieldname }
      // asking for the next part before this one was read would silently empty it: refuse
      if (!current.file.readableEnded && !current.file.destroyed) {
        throw new Error('multipart: a file part was not consumed before the next was requested')
      }
      part = await next()
    }
  }
  return { fields, files: files(), count: () => handed }
}
