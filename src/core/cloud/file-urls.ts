/**
 * Short-lived signed URLs for one file's bytes on the cookieless files origin
 * (`GET /f/<file_id>/<disposition>?expires=&sig=`): what `GET /files/{id}/download-url` and
 * `/preview-url` answer, so bytes never pass through the API. Stateless: an HMAC over the file
 * id, the disposition and the expiry (unix seconds), with the dialect's signing key (the one
 * filesystem upload URLs use, under another label). The files origin judges the expiry by its
 * own clock and checks, at every request, that the file still exists, is not in Trash, and is
 * clean.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export type FileUrlDisposition = 'attachment' | 'inline'
export const FILE_URL_PREFIX = '/f'

export class FileUrlSigner {
  constructor (private readonly signingKey: () => Promise<Buffer>, private readonly filesOrigin: string) {}

  async signature (fileId: string, disposition: FileUrlDisposition, expiresSec: number): Promise<string> {
    return createHmac('sha256', await this.signingKey()).update(`fluidcloud-file-v1\n${fileId}\n${disposition}\n${expiresSec}`).digest('base64url')
  }

  async url (fileId: string, disposition: FileUrlDisposition, expiresAt: number): Promise<string> {
    const exp = Math.floor(expiresAt / 1000)
    return `${this.filesOrigin}${FILE_URL_PREFIX}/${fileId}/${disposition}?expires=${exp}&sig=${await this.signature(fileId, disposition, exp)}`
  }

  /** whether a presented URL's signature and expiry hold, by this server's clock */
  async verify (fileId: string, disposition: string, expires: string | undefined, sig: string | undefined): Promise<'ok' | 'expired' | 'bad'> {
    if (disposition !== 'attachment' && disposition !== 'inline') return 'bad'
    if (expires === undefined || sig === undefined || !/^\d{1,12}$/.test(expires)) return 'bad'
    const want = Buffer.from(await this.signature(fileId, disposition, Number(expires)))
    const got = Buffer.from(sig)
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'bad'
    return Number(expires) * 1000 <= Date.now() ? 'expired' : 'ok'
  }
}
