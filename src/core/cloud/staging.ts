/**
 * Where presigned uploads land before `complete` imports them. With the S3 blob store the
 * client PUTs straight to the bucket (a real SigV4 presigned URL into its staging area).
 * With the filesystem store the URL is on the cookieless files origin, HMAC-signed over the
 * upload id and its expiry; the files origin streams the body to a staging file under the
 * data dir (src/http/cloud-files.ts) and refuses it after the expiry, by the server's clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../../adapters/metadata/open.js'
import type { BlobPresigner } from '../ports/blob-store.js'

export interface UploadTicket { key: string, url: string, method: 'PUT', headers: Record<string, string> }

export interface UploadStaging {
  readonly kind: 's3' | 'files'
  ticket: (uploadId: string, opts: { expiresAt: number, contentType?: string }) => Promise<UploadTicket>
  stream: (key: string, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  delete: (key: string) => Promise<void>
}

export const FILES_UPLOAD_PATH = '/uploads'
const SIGNING_KEY_META = 'cloud_signing_key'

export class S3Staging implements UploadStaging {
  readonly kind = 's3'
  constructor (private readonly presigner: BlobPresigner) {}
  async ticket (_id: string, opts: { expiresAt: number, contentType?: string }): Promise<UploadTicket> {
    const p = await this.presigner.presignPut({ expiresInSeconds: Math.max(1, Math.round((opts.expiresAt - Date.now()) / 1000)), contentType: opts.contentType })
    return { key: p.key, url: p.url, method: 'PUT', headers: p.headers }
  }

  stream (key: string, signal?: AbortSignal): AsyncIterable<Uint8Array> { return this.presigner.streamStaged(key, signal) }
  async delete (key: string): Promise<void> { await this.presigner.deleteStaged(key) }
}

/**
 * The dialect's HMAC key: CAIRN_CLOUD_SIGNING_KEY, or a random key kept in the metadata store
 * (so every node of a cluster signs alike). Loaded once, on first use.
 */
export function cloudSigningKey (db: Db, configuredKey: string | undefined): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined
  return async () => {
    key ??= (async () => {
      if (configuredKey !== undefined) return Buffer.from(configuredKey, 'utf8')
      await db.insertInto('meta').values({ key: SIGNING_KEY_META, value: randomBytes(32).toString('hex') })
        .onConflict(oc => oc.column('key').doNothing()).execute()
      const row = await db.selectFrom('meta').select('value').where('key', '=', SIGNING_KEY_META).executeTakeFirstOrThrow()
      return Buffer.from(row.value, 'hex')
    })()
    try { return await key } catch (err) { key = undefined; throw err }
  }
}

export class FilesOriginStaging implements UploadStaging {
  readonly kind = 'files'
  readonly dir: string

  constructor (dataDir: string, private readonly filesOrigin: string, private readonly signingKey: () => Promise<Buffer>) {
    this.dir = join(dataDir, 'cloud-staging')
  }

  async signature (uploadId: string, expiresSec: number): Promise<string> {
    return createHmac('sha256', await this.signingKey()).update(`fluidcloud-upload-v1\n${uploadId}\n${expiresSec}`).digest('base64url')
  }

  /** whether a presented URL's signature and expiry hold, by this server's clock */
  async verify (uploadId: string, expires: string | undefined, sig: string | undefined): Promise<'ok' | 'expired' | 'bad'> {
    if (expires === undefined || sig === undefined || !/^\d{1,12}$/.test(expires)) return 'bad'
    const want = Buffer.from(await this.signature(uploadId, Number(expires)))
    const got = Buffer.from(sig)
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'bad'
    return Number(expires) * 1000 <= Date.now() ? 'expired' : 'ok'
  }

  async ticket (uploadId: string, opts: { expiresAt: number, contentType?: string }): Promise<UploadTicket> {
    const exp = Math.floor(opts.expiresAt / 1000)
    const sig = await this.signature(uploadId, exp)
    return {
      key: uploadId,
      url: `${this.filesOrigin}${FILES_UPLOAD_PATH}/${uploadId}?expires=${exp}&sig=${sig}`,
      method: 'PUT',
      headers: opts.contentType === undefined ? {} : { 'content-type': opts.contentType }
    }
  }

  path (key: string): string {
    if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error('bad staging key')
    return join(this.dir, key)
  }

  /** a new staging file for `key`: write to the returned temp path, then `commit` */
  async begin (key: string): Promise<{ temp: string, commit: () => Promise<void>, abort: () => Promise<void> }> {
    await mkdir(this.dir, { recursive: true })
    const final = this.path(key)
    const temp = `${final}.${randomBytes(6).toString('hex')}.part`
    return {
      temp,
      commit: async () => { await rename(temp, final) },
      abort: async () => { await rm(temp, { force: true }) }
    }
  }

  async size (key: string): Promise<number | undefined> {
    try { return (await stat(this.path(key))).size } catch { return undefined }
  }

  async * stream (key: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    yield * createReadStream(this.path(key), { signal, highWaterMark: 1024 * 1024 })
  }

  async delete (key: string): Promise<void> { await rm(this.path(key), { force: true }) }
}
