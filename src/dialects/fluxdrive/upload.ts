/** What FluxDrive's two upload routes share: the multipart body, its steering fields, the profile. */
import type { FastifyRequest } from 'fastify'
import { openMultipart, type MultipartUpload } from '../../http/multipart.js'
import type { ImportProfile } from '../../core/content/profiles.js'
import { profileFrom, stringArg } from './args.js'

export interface FluxdriveUpload {
  upload: MultipartUpload
  /** a steering value: a multipart field sent before the files, else the query string */
  field: (name: string) => string | undefined
  profile: ImportProfile
}

export async function openUpload (req: FastifyRequest, steering: readonly string[]): Promise<FluxdriveUpload> {
  const upload = await openMultipart(req, ['path', 'profile', 'cid-version', ...steering])
  const field = (n: string): string | undefined => upload.fields[n] ?? stringArg(req, n)
  return { upload, field, profile: profileFrom({ profile: field('profile'), 'cid-version': field('cid-version') }) }
}
