/**
 * Where presigned uploads land before `complete` imports them. With the S3 blob store the
 * client PUTs straight to the bucket (a real SigV4 presigned URL into its staging area).
 * With the filesystem store the URL is on the cookieless files origin, HMAC-signed over the
 * upload id and its expiry; the files origin streams the body to a staging file under the
 * data dir (src/http/cloud-files.ts) and refuses it after the expiry, by the server's clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../../adapters/metadata/open.js'
import type { BlobPresigner } from '../ports/blob-store.js'

export interface UploadTicket { key: string, url: string, method: 'PUT', headers: Record<string, string> }
export interface MultipartTicket { key: string, parts: Array<{ part_number: number, url: string }>, headers: Record<string, string> }
export interface UploadedPart { partNumber: number, etag: string }

/** staging keys of multipart uploads start with this (the key tells complete which mode it was) */
export const MULTIPART_KEY = 'mp:'
export const isMultipartKey = (key: string): boolean => key.startsWith(MULTIPART_KEY)

export interface UploadStaging {
  readonly kind: 's3' | 'files'
  ticket: (uploadId: string, opts: { expiresAt: number, contentType?: string }) => Promise<UploadTicket>
  /** part URLs for `partCount` parts of one upload */
  multipart: (uploadId: string, opts: { expiresAt: number, contentType?: string, partCount: number }) => Promise<MultipartTicket>
  /** assemble the parts the client reports (ETags as the part PUTs answered them) into the staged object */
  completeMultipart: (key: string, parts: UploadedPart[]) => Promise<void>
  stream: (key: string, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  delete: (key: string) => Promise<void>
}

/** a part's answer to a bad ETag list, as the dialect shows it (422) */
export class PartsMismatch extends Error {}

export const FILES_UPLOAD_PATH = '/uploads'
const SIGNING_KEY_META = 'cloud_signing_key'

export class S3Staging implements UploadStaging {
  readonly kind = 's3'
  constructor (private readonly presigner: BlobPresigner) {}
  async ticket (_id: string, opts: { expiresAt: number, contentType?: string }): Promise<UploadTicket> {
    const p = await this.presigner.presignPut({ expiresInSeconds: Math.max(1, Math.round((opts.expiresAt - Date.now()) / 1000)), contentType: opts.contentType })
    return { key: p.key, url: p.url, method: 'PUT', headers: p.headers }
  }

  async multipart (_id: string, opts: { expiresAt: number, contentType?: string, partCount: number }): Promise<MultipartTicket> {
    const p = this.presigner
    if (p.createStagedMultipart === undefined || p.presignPart === undefined) throw new Error('this blob store cannot presign multipart uploads')
    const expires = Math.max(1, Math.round((opts.expiresAt - Date.now()) / 1000))
    const m = await p.createStagedMultipart({ contentType: opts.contentType })
    const parts = []
    for (let n = 1; n <= opts.partCount; n++) parts.push({ part_number: n, url: await p.presignPart(m.key, m.uploadId, n, expires) })
    return { key: `${MULTIPART_KEY}${m.key}:${Buffer.from(m.uploadId).toString('base64url')}`, parts, headers: {} }
  }

  async completeMultipart (key: string, parts: UploadedPart[]): Promise<void> {
    const { objectKey, uploadId } = splitS3Key(key)
    if (uploadId === undefined || this.presigner.completeStagedMultipart === undefined) throw new PartsMismatch('not a multipart upload')
    try {
      await this.presigner.completeStagedMultipart(objectKey, uploadId, parts)
    } catch (err) {
      const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
      // InvalidPart, InvalidPartOrder, EntityTooSmall, NoSuchUpload (completed already or expired)
      if (e.$metadata?.httpStatusCode === 400 || e.$metadata?.httpStatusCode === 404) throw new PartsMismatch(`the store refused the parts (${e.name ?? 'error'})`)
      throw err
    }
  }

  stream (key: string, signal?: AbortSignal): AsyncIterable<Uint8Array> { return this.presigner.streamStaged(splitS3Key(key).objectKey, signal) }
  async delete (key: string): Promise<void> {
    const { objectKey, uploadId } = splitS3Key(key)
    if (uploadId !== undefined) await this.presigner.abortStagedMultipart?.(objectKey, uploadId).catch(() => {})
    await this.presigner.deleteStaged(objectKey)
  }
}

function splitS3Key (key: string): { objectKey: string, uploadId?: string } {
  if (!isMultipartKey(key)) return { objectKey: key }
  const [objectKey, id] = key.slice(MULTIPART_KEY.length).split(':')
  return { objectKey, uploadId: Buffer.from(id ?? '', 'base64url').toString() }
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

  async partSignature (uploadId: string, partNumber: number, expiresSec: number): Promise<string> {
    return createHmac('sha256', await this.signingKey()).update(`fluidcloud-part-v1\n${uploadId}\n${partNumber}\n${expiresSec}`).digest('base64url')
  }

  async verifyPart (uploadId: string, partNumber: number, expires: string | undefined, sig: string | undefined): Promise<'ok' | 'expired' | 'bad'> {
    if (expires === undefined || sig === undefined || !/^\d{1,12}$/.test(expires)) return 'bad'
    const want = Buffer.from(await this.partSignature(uploadId, partNumber, Number(expires)))
    const got = Buffer.from(sig)
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'bad'
    return Number(expires) * 1000 <= Date.now() ? 'expired' : 'ok'
  }

  async multipart (uploadId: string, opts: { expiresAt: number, partCount: number }): Promise<MultipartTicket> {
    const exp = Math.floor(opts.expiresAt / 1000)
    const parts = []
    for (let n = 1; n <= opts.partCount; n++) {
      parts.push({ part_number: n, url: `${this.filesOrigin}${FILES_UPLOAD_PATH}/${uploadId}/parts/${n}?expires=${exp}&sig=${await this.partSignature(uploadId, n, exp)}` })
    }
    return { key: MULTIPART_KEY + uploadId, parts, headers: {} }
  }

  /** where the parts of a multipart upload land: <id>.parts/<n>-<md5 hex> (the ETag in the name) */
  partsDir (uploadId: string): string { return `${this.path(uploadId)}.parts` }

  /** a new part file: write to the returned temp path, then `commit` with its ETag */
  async beginPart (uploadId: string, partNumber: number): Promise<{ temp: string, commit: (md5: string) => Promise<void>, abort: () => Promise<void> }> {
    const dir = this.partsDir(uploadId)
    await mkdir(dir, { recursive: true })
    const temp = join(dir, `${partNumber}.${randomBytes(6).toString('hex')}.part`)
    return {
      temp,
      commit: async md5 => { await rename(temp, join(dir, `${partNumber}-${md5}`)) },
      abort: async () => { await rm(temp, { force: true }) }
    }
  }

  async completeMultipart (key: string, parts: UploadedPart[]): Promise<void> {
    const id = key.slice(MULTIPART_KEY.length)
    const names: string[] = []
    for (const p of parts) {
      const etag = p.etag.replace(/^"|"$/g, '').toLowerCase()
      if (!/^[0-9a-f]{32}$/.test(etag)) throw new PartsMismatch(`part ${p.partNumber}: ETag ${p.etag} is not one this store answers`)
      const name = `${p.partNumber}-${etag}`
      try { await stat(join(this.partsDir(id), name)) } catch { throw new PartsMismatch(`part ${p.partNumber} with ETag ${p.etag} was not uploaded`) }
      names.push(name)
    }
    await writeFile(join(this.partsDir(id), 'manifest.json'), JSON.stringify(names))
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
    if (isMultipartKey(key)) key = key.slice(MULTIPART_KEY.length)
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
    if (!isMultipartKey(key)) {
      yield * createReadStream(this.path(key), { signal, highWaterMark: 1024 * 1024 })
      return
    }
    const dir = this.partsDir(key.slice(MULTIPART_KEY.length))
    const names = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as string[]
    for (const n of names) yield * createReadStream(join(dir, n), { signal, highWaterMark: 1024 * 1024 })
  }

  async delete (key: string): Promise<void> {
    if (isMultipartKey(key)) await rm(this.partsDir(key.slice(MULTIPART_KEY.length)), { recursive: true, force: true })
    else await rm(this.path(key), { force: true })
  }
}
