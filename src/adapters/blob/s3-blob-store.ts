/**
 * S3 blob store: each completed pack is one object `<prefix>packs/<key>` in a bucket of any
 * S3-compatible server (AWS, MinIO, Ceph, OpenStack Swift's s3api, ...).
 *
 * Writing. A pack streams front to back, but its first bytes (the CAR header) are known only
 * at `complete`, and an S3 object cannot be patched. Multipart parts may be uploaded in any
 * order, so the sink keeps part 1 (the header region and what follows, up to one part size)
 * in memory and uploads every later part as soon as it is full, at most `uploadConcurrency`
 * at a time. At `complete` the header is written into part 1, part 1 and the last partial
 * part are uploaded, and CompleteMultipartUpload makes the object appear whole and at once.
 * A pack that never grows past two parts' worth is sent as one PutObject (one request for a
 * small file instead of three). Memory per pack being written is therefore bounded: part 1,
 * the part being filled, and the parts in flight, whatever the pack size. Every append copies
 * its bytes before it resolves, so callers may reuse their buffers.
 *
 * Reading is ranged GETs. A reader walking a pack front to back in small reads (a v0 file is
 * read leaf by leaf, 256 KiB at a time) would pay one round trip per leaf; once reads of a pack
 * are seen to follow each other, it is fetched in read-ahead windows instead, the next window
 * requested while the current one is consumed (bounded: readCacheBytes for the whole store).
 * Incomplete packs are invisible (S3 shows an object only once its
 * PutObject or CompleteMultipartUpload succeeded); their leftovers are multipart uploads that
 * sweepIncomplete aborts once they are old enough.
 *
 * Retries: every request goes through the SDK's standard retry strategy (exponential backoff
 * with jitter, `maxAttempts`); part bodies are buffers, so a retried part is re-sent whole.
 * A GET whose body breaks off mid-way is resumed from where it stopped.
 */
import { randomBytes } from 'node:crypto'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { CairnError } from '../../core/errors.js'
import type { BlobInfo, BlobPresigner, BlobStore, PackSink, PresignedPut, CreatePackOptions } from '../../core/ports/blob-store.js'

export interface S3BlobStoreOptions {
  bucket: string
  /** e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000; unset for AWS's own */
  endpoint?: string
  region: string
  /** unset: the SDK's default credential chain (AWS_* variables, instance roles, ...) */
  accessKeyId?: string
  secretAccessKey?: string
  /** http://host/bucket/key instead of http://bucket.host/key (MinIO, Swift, Ceph usually need it) */
  forcePathStyle: boolean
  /** prefix of every object key this store makes ('' by default; e.g. 'cairn/') */
  prefix?: string
  /** size of every multipart part but the last; at least 5 MiB (S3's minimum) */
  partSize?: number
  /** parts of one pack uploaded at once */
  uploadConcurrency?: number
  /** sequential small reads of one pack are served from read-ahead windows of this size */
  readAheadBytes?: number
  /** all read-ahead windows of this store together hold at most this much */
  readCacheBytes?: number
  /** attempts per request, backoff between them */
  maxAttempts?: number
  /** sockets to the endpoint */
  maxSockets?: number
}

const MiB = 1024 * 1024
export const S3_MIN_PART = 5 * MiB
const DEFAULT_PART = 8 * MiB
/** S3 (and Swift's s3api by default) allow at most this many parts */
const MAX_PARTS = 1000
/** part sizes grow every this many parts, so a pack of MAX_PARTS parts can be very large */
const PARTS_PER_SIZE_STEP = 250
const KEY_RE = /^[a-z0-9]{8,64}$/
/** SigV4 presigned URLs live at most 7 days */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600
/** reads shorter than this may be served from read-ahead windows */
const SMALL_READ = 1024 * 1024
/** a read starting at most this far after the previous one ended counts as sequential */
const SEQUENTIAL_GAP = 64 * 1024
/** a broken-off GET body is resumed this many times */
const BODY_RESUMES = 3

function checkKey (key: string): void {
  if (!KEY_RE.test(key)) throw new CairnError('invalid_argument', `bad blob key ${JSON.stringify(key)}`)
}

function errorName (err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name
  return (err as { name?: string, Code?: string } | undefined)?.Code ?? (err as { name?: string } | undefined)?.name
}

function httpStatus (err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}

function isMissing (err: unknown): boolean {
  const n = errorName(err)
  return n === 'NoSuchKey' || n === 'NotFound' || (httpStatus(err) === 404 && n !== 'NoSuchBucket')
}

function isAbort (err: unknown): boolean {
  const n = errorName(err)
  return n === 'AbortError' || (err as { code?: string } | undefined)?.code === 'ABORT_ERR'
}

/** Translate an SDK error once, here: the core sees CairnErrors (or the caller's abort). */
function translate (err: unknown, what: string): unknown {
  if (err instanceof CairnError || isAbort(err)) return err
  const status = httpStatus(err)
  const name = errorName(err) ?? 'Error'
  const msg = (err as Error | undefined)?.message ?? String(err)
  return new CairnError('unavailable', `S3 ${what} failed: ${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${msg}`, { cause: name })
}

/** Part sizes: `base` for the first PARTS_PER_SIZE_STEP parts, then 2x, 3x, ... */
function partSizeOf (base: number, partNumber: number): number {
  return base * (1 + Math.floor((partNumber - 1) / PARTS_PER_SIZE_STEP))
}

/** A byte buffer that grows by doubling up to `max` (small packs never hold a whole part). */
class GrowBuffer {
  buf: Buffer
  fill = 0
  constructor (initial: number, readonly max: number) {
    this.buf = Buffer.alloc(Math.min(initial, max))
  }

  get room (): number { return this.max - this.fill }

  /** copy bytes [from, from+n) of `src`; the caller makes sure they fit */
  put (src: Uint8Array, from: number, n: number): void {
    const need = this.fill + n
    if (need > this.buf.byteLength) {
      let cap = this.buf.byteLength
      while (cap < need) cap *= 2
      const grown = Buffer.alloc(Math.min(cap, this.max))
      this.buf.copy(grown, 0, 0, this.fill)
      this.buf = grown
    }
    this.buf.set(src.subarray(from, from + n), this.fill)
    this.fill = need
  }

  bytes (): Buffer { return this.buf.subarray(0, this.fill) }
}

/** A fetched (or being fetched) span of a pack, for sequential small reads. */
interface Window {
  key: string
  start: number
  /** bytes asked for; the fetched buffer is shorter at the end of the pack */
  size: number
  bytes: Promise<Buffer>
  /** once fetched */
  length: number | undefined
}

interface LiveSink {
  startedAt: number
  uploadId: () => string | undefined
  /** drop the pack because it is stale (sweepIncomplete): it can no longer complete */
  sweep: () => Promise<void>
  /** bytes this pack holds in memory: part 1, the part being filled, parts in flight */
  held: () => number
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client
  readonly bucket: string
  private readonly packsPrefix: string
  private readonly stagingPrefix: string
  private readonly partSize: number
  private readonly uploadConcurrency: number
  /** packs being written by this process */
  private readonly live = new Map<string, LiveSink>()
  private readonly readAhead: number
  private readonly readCacheBytes: number
  /** read-ahead windows, least recently used first */
  private readonly windows = new Map<string, Window>()
  private windowBytes = 0
  /** where the last small read of each recently read pack ended */
  private readonly lastEnd = new Map<string, number>()
  readonly presigner: BlobPresigner

  constructor (readonly options: S3BlobStoreOptions) {
    this.bucket = options.bucket
    const prefix = options.prefix ?? ''
    this.packsPrefix = `${prefix}packs/`
    this.stagingPrefix = `${prefix}staging/`
    this.partSize = options.partSize ?? DEFAULT_PART
    if (this.partSize < S3_MIN_PART) throw new Error(`S3 part size must be at least ${S3_MIN_PART} bytes`)
    this.uploadConcurrency = Math.max(1, options.uploadConcurrency ?? 4)
    this.readAhead = options.readAheadBytes ?? 8 * MiB
    this.readCacheBytes = options.readCacheBytes ?? 64 * MiB
    const maxSockets = options.maxSockets ?? 64
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: options.accessKeyId !== undefined && options.secretAccessKey !== undefined
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: 'standard',
      // checksums only where the API requires them: many S3-compatible servers reject the
      // SDK's default CRC32 trailers (aws-chunked uploads), and packs carry their own hashes
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
        connectionTimeout: 10_000,
        requestTimeout: 120_000
      })
    })
    this.presigner = {
      presignGet: async (key, opts) => await this.presignGet(key, opts),
      presignPut: async (opts) => await this.presignPut(opts),
      streamStaged: (key, signal) => this.streamObject(this.stagedKey(key), undefined, signal),
      deleteStaged: async (key) => { await this.deleteObject(this.stagedKey(key)) },
      createStagedMultipart: async (opts) => {
        const key = randomBytes(16).toString('hex')
        const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.stagedKey(key), ContentType: opts.contentType }))
        if (r.UploadId === undefined) throw new Error('S3 answered no UploadId')
        return { key, uploadId: r.UploadId }
      },
      presignPart: async (key, uploadId, partNumber, expiresInSeconds) => await getSignedUrl(this.client, new UploadPartCommand({
        Bucket: this.bucket, Key: this.stagedKey(key), UploadId: uploadId, PartNumber: partNumber
      }), { expiresIn: checkExpiry(expiresInSeconds) }),
      completeStagedMultipart: async (key, uploadId, parts) => {
        await this.client.send(new CompleteMultipartUploadCommand({
          Bucket: this.bucket, Key: this.stagedKey(key), UploadId: uploadId,
          MultipartUpload: { Parts: parts.map(p => ({ PartNumber: p.partNumber, ETag: p.etag })) }
        }))
      },
      abortStagedMultipart: async (key, uploadId) => {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.stagedKey(key), UploadId: uploadId }))
      }
    }
  }

  private objectKey (key: string): string {
    checkKey(key)
    return this.packsPrefix + key
  }

  private stagedKey (key: string): string {
    checkKey(key)
    return this.stagingPrefix + key
  }

  /**
   * Start-up check: the bucket exists and these credentials may list it. Throws an error
   * that says which (unreachable endpoint, no such bucket, credentials refused).
   */
  async checkReachable (): Promise<void> {
    const where = `bucket "${this.bucket}" at ${this.options.endpoint ?? 'AWS S3'}`
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.packsPrefix, MaxKeys: 1 }))
    } catch (err) {
      const name = errorName(err)
      const status = httpStatus(err)
      let why: string
      if (name === 'NoSuchBucket') why = 'the bucket does not exist (create it first)'
      else if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || status === 403) why = `the credentials were refused (${name ?? 'HTTP 403'}): check CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY`
      else if (status === undefined) why = `the endpoint is unreachable (${(err as Error).message})`
      else why = `${name ?? 'error'} (HTTP ${status}): ${(err as Error).message}`
      throw new CairnError('unavailable', `S3 ${where}: ${why}`)
    }
  }

  /** health probe: the same check as at start-up */
  async ping (): Promise<void> {
    await this.checkReachable()
  }

  async createPack (headerLength: number, opts: CreatePackOptions = {}): Promise<PackSink> {
    if (headerLength >= this.partSize) throw new Error(`pack header of ${headerLength} bytes does not fit in one part`)
    const key = opts.key ?? randomBytes(16).toString('hex')
    const objectKey = this.objectKey(key)
    const { client, bucket, partSize, uploadConcurrency } = this
    const store = this

    // part 1: the reserved header region and what follows, held until complete
    const first = new GrowBuffer(64 * 1024, partSize)
    first.fill = headerLength
    let current: GrowBuffer | undefined
    let nextPart = 2
    let size = headerLength
    let state: 'open' | 'completing' | 'done' | 'aborted' = 'open'
    let failure: unknown
    let uploadId: Promise<string> | undefined
    let knownUploadId: string | undefined
    const etags = new Map<number, string>()
    const inflight = new Set<Promise<void>>()

    const ensureUpload = (): Promise<string> => {
      if (uploadId === undefined) {
        uploadId = client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: objectKey }))
          .then(r => {
            if (r.UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId')
            knownUploadId = r.UploadId
            return r.UploadId
          }, err => { throw translate(err, 'CreateMultipartUpload') })
      }
      return uploadId
    }

    const uploadPart = async (partNumber: number, body: Buffer): Promise<void> => {
      const id = await ensureUpload()
      try {
        const r = await client.send(new UploadPartCommand({
          Bucket: bucket, Key: objectKey, UploadId: id, PartNumber: partNumber, Body: body, ContentLength: body.byteLength
        }))
        if (r.ETag === undefined) throw new Error(`UploadPart ${partNumber} returned no ETag`)
        etags.set(partNumber, r.ETag)
      } catch (err) {
        throw translate(err, `UploadPart ${partNumber}`)
      }
    }

    let inflightBytes = 0
    const startPart = (partNumber: number, body: Buffer): void => {
      inflightBytes += body.byteLength
      const p = uploadPart(partNumber, body).catch(err => { failure ??= err })
      inflight.add(p)
      void p.finally(() => { inflight.delete(p); inflightBytes -= body.byteLength })
    }

    const copyIn = (src: Uint8Array): void => {
      let at = 0
      while (at < src.byteLength) {
        if (current === undefined && first.room > 0) {
          const n = Math.min(first.room, src.byteLength - at)
          first.put(src, at, n)
          at += n
          continue
        }
        if (current === undefined) {
          if (nextPart > MAX_PARTS) throw new CairnError('file_too_large', `a pack may have at most ${MAX_PARTS} S3 parts`)
          const max = partSizeOf(partSize, nextPart)
          current = new GrowBuffer(max, max)
        }
        const n = Math.min(current.room, src.byteLength - at)
        current.put(src, at, n)
        at += n
        if (current.room === 0) {
          // a full part, and more may follow: send it now (the pack is a multipart upload)
          startPart(nextPart++, current.bytes())
          current = undefined
        }
      }
    }

    const abortRemote = async (): Promise<void> => {
      await Promise.allSettled([...inflight])
      if (uploadId === undefined) return
      const id = await uploadId.catch(() => undefined)
      if (id === undefined) return
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: id }))
      } catch (err) {
        if (errorName(err) !== 'NoSuchUpload' && httpStatus(err) !== 404) throw translate(err, 'AbortMultipartUpload')
      }
    }

    const finish = (): void => {
      store.live.delete(key)
      first.buf = Buffer.alloc(0)
      current = undefined
    }

    const sink: PackSink = {
      key,
      get size () { return size },
      append: async (...parts: Uint8Array[]): Promise<number> => {
        if (state !== 'open') throw new Error('pack already completed or aborted')
        if (failure !== undefined) throw failure
        const offset = size
        // copied now, synchronously: offsets follow call order, and the caller may reuse `parts`
        for (const p of parts) {
          copyIn(p)
          size += p.byteLength
        }
        // backpressure: bounded parts in flight
        while (inflight.size > uploadConcurrency) await Promise.race(inflight)
        if (failure !== undefined) throw failure
        return offset
      },
      complete: async (header: Uint8Array): Promise<void> => {
        if (state !== 'open') throw new Error('pack already completed or aborted')
        if (header.byteLength !== headerLength) throw new Error(`header is ${header.byteLength} bytes, reserved ${headerLength}`)
        state = 'completing'
        try {
          if (failure !== undefined) throw failure
          first.buf.set(header, 0)
          if (uploadId === undefined) {
            // never sent a part: the whole pack (at most two parts' worth) in one PutObject
            const body = current === undefined ? first.bytes() : Buffer.concat([first.bytes(), current.bytes()])
            try {
              await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: body, ContentLength: body.byteLength }))
            } catch (err) {
              throw translate(err, 'PutObject')
            }
          } else {
            if (current !== undefined && current.fill > 0) startPart(nextPart++, current.bytes())
            startPart(1, first.bytes())
            while (inflight.size > 0) await Promise.race(inflight)
            if (failure !== undefined) throw failure
            const id = await uploadId
            const parts = [...etags.entries()].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }))
            if (parts.length !== nextPart - 1) throw new Error(`uploaded ${parts.length} parts of ${nextPart - 1}`)
            try {
              await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: id, MultipartUpload: { Parts: parts } }))
            } catch (err) {
              throw translate(err, 'CompleteMultipartUpload')
            }
          }
          if ((state as string) === 'aborted') throw new Error('pack was swept while completing')
          state = 'done'
          store.forgetReads(key) // a pack copied over an older one of the same key
          finish()
        } catch (err) {
          state = 'aborted'
          finish()
          await abortRemote().catch(() => {})
          throw err
        }
      },
      abort: async (): Promise<void> => {
        if (state === 'done' || state === 'aborted') return
        state = 'aborted'
        finish()
        await abortRemote()
      }
    }
    this.live.set(key, {
      startedAt: Date.now(),
      uploadId: () => knownUploadId,
      held: () => first.buf.byteLength + (current?.buf.byteLength ?? 0) + inflightBytes,
      sweep: async () => {
        if (state !== 'open') return
        state = 'aborted'
        finish()
        await abortRemote()
      }
    })
    return sink
  }

  /** Bytes that packs being written hold in memory now (for tests and metrics). */
  bufferedBytes (): number {
    let n = 0
    for (const l of this.live.values()) n += l.held()
    return n
  }

  /**
   * Test hook: make the pack `key`, still being written by this process, look `ageMs` old to
   * sweepIncomplete. (A multipart upload's initiation time is set by the server and cannot
   * be backdated; uploads this process does not know are judged by that time.)
   */
  backdatePendingPack (key: string, ageMs: number): void {
    const l = this.live.get(key)
    if (l === undefined) throw new Error(`no pack ${key} is being written`)
    l.startedAt = Date.now() - ageMs
  }

  private async get (objectKey: string, range: string | undefined, signal: AbortSignal | undefined): Promise<Readable | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: range }), { abortSignal: signal })
      return r.Body as Readable
    } catch (err) {
      if (isMissing(err)) throw new CairnError('not_found', `blob ${objectKey} not found`)
      if (errorName(err) === 'InvalidRange' || httpStatus(err) === 416) return undefined
      throw translate(err, 'GetObject')
    }
  }

  async read (key: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const objectKey = this.objectKey(key)
    if (length === 0) return new Uint8Array(0)
    if (length < SMALL_READ && this.readAhead > 0) {
      const hit = await this.fromWindow(key, offset, length, signal)
      if (hit !== undefined) return hit
    }
    return await this.readExact(objectKey, key, offset, length, signal)
  }

  /**
   * A small read served from a read-ahead window: one that already covers it, or a new one
   * when this read follows the previous small read of the pack. undefined: read it directly.
   */
  private async fromWindow (key: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const end = offset + length
    const previous = this.lastEnd.get(key)
    this.lastEnd.delete(key)
    this.lastEnd.set(key, end)
    if (this.lastEnd.size > 4096) this.lastEnd.delete(this.lastEnd.keys().next().value as string)
    let w = this.windowAt(key, offset)
    if (w === undefined) {
      const sequential = previous !== undefined && offset >= previous && offset - previous <= SEQUENTIAL_GAP
      if (!sequential) return undefined
      w = this.fetchWindow(key, offset)
    }
    const out = Buffer.allocUnsafe(length)
    let pos = offset
    for (;;) {
      let bytes: Buffer
      try {
        bytes = await w.bytes
      } catch (err) {
        if (err instanceof CairnError && err.code === 'not_found') throw err
        return undefined // the window failed: read directly
      }
      const take = Math.min(end, w.start + bytes.byteLength) - pos
      if (take <= 0) return undefined
      bytes.copy(out, pos - offset, pos - w.start, pos - w.start + take)
      pos += take
      // read on ahead while this window is consumed
      const next = w.start + w.size
      if (w.length === w.size && end - w.start > w.size / 2 && this.windowAt(key, next) === undefined) this.fetchWindow(key, next).bytes.catch(() => {})
      if (pos >= end) break
      if (bytes.byteLength < w.size) return undefined // the pack ends first: the exact read says so
      w = this.windowAt(key, pos) ?? this.fetchWindow(key, pos) // the read spans two windows
    }
    signal?.throwIfAborted()
    return out
  }

  /** the window of `key` that holds (or will hold) byte `pos`, most recently used */
  private windowAt (key: string, pos: number): Window | undefined {
    for (const [id, w] of this.windows) {
      if (w.key === key && w.start <= pos && pos < w.start + (w.length ?? w.size)) {
        this.windows.delete(id)
        this.windows.set(id, w)
        return w
      }
    }
    return undefined
  }

  private fetchWindow (key: string, start: number): Window {
    const size = this.readAhead
    const id = `${key}@${start}`
    const w: Window = { key, start, size, length: undefined, bytes: Promise.resolve(Buffer.alloc(0)) }
    w.bytes = (async () => {
      const body = await this.get(this.objectKey(key), `bytes=${start}-${start + size - 1}`, undefined)
      if (body === undefined) return Buffer.alloc(0)
      const parts: Buffer[] = []
      for await (const chunk of body as AsyncIterable<Buffer>) parts.push(chunk)
      const buf = Buffer.concat(parts)
      w.length = buf.byteLength
      return buf
    })()
    w.bytes.catch(() => { if (this.windows.get(id) === w) this.dropWindow(id) })
    this.windows.set(id, w)
    this.windowBytes += size
    while (this.windowBytes > this.readCacheBytes && this.windows.size > 1) this.dropWindow(this.windows.keys().next().value as string)
    return w
  }

  private dropWindow (id: string): void {
    const w = this.windows.get(id)
    if (w === undefined) return
    this.windows.delete(id)
    this.windowBytes -= w.size
  }

  private forgetReads (key: string): void {
    this.lastEnd.delete(key)
    for (const [id, w] of [...this.windows]) if (w.key === key) this.dropWindow(id)
  }

  private async readExact (objectKey: string, key: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length)
    let got = 0
    for (let attempt = 0; ; attempt++) {
      const body = await this.get(objectKey, `bytes=${offset + got}-${offset + length - 1}`, signal)
      if (body === undefined) throw new CairnError('unavailable', `pack ${key} is shorter than its index says`)
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (got + chunk.byteLength > length) throw new CairnError('unavailable', `S3 returned more bytes than asked for ${key}`)
          chunk.copy(buf, got)
          got += chunk.byteLength
        }
        if (got < length) throw new CairnError('unavailable', `pack ${key} is shorter than its index says`)
        return buf
      } catch (err) {
        body.destroy()
        if (err instanceof CairnError || isAbort(err) || signal?.aborted === true || attempt >= BODY_RESUMES) throw translate(err, 'GetObject body')
        // the body broke off: ask again for what is missing
      }
    }
  }

  stream (key: string, range?: { start: number, end: number }, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return this.streamObject(this.objectKey(key), range, signal)
  }

  private async * streamObject (objectKey: string, range?: { start: number, end: number }, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    if (range !== undefined && range.end <= range.start) return
    let pos = range?.start ?? 0
    const end = range?.end
    for (let attempt = 0; ; attempt++) {
      const header = pos === 0 && end === undefined ? undefined : `bytes=${pos}-${end === undefined ? '' : end - 1}`
      const body = await this.get(objectKey, header, signal)
      if (body === undefined) return // the range starts at or past the end
      let broke: unknown
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          signal?.throwIfAborted()
          pos += chunk.byteLength
          yield chunk
        }
        return
      } catch (err) {
        broke = err
      } finally {
        body.destroy()
      }
      if (broke instanceof CairnError || isAbort(broke) || signal?.aborted === true || attempt >= BODY_RESUMES) throw translate(broke, 'GetObject body')
    }
  }

  private async deleteObject (objectKey: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }))
    } catch (err) {
      if (isMissing(err)) return
      throw translate(err, 'DeleteObject')
    }
  }

  async delete (key: string): Promise<void> {
    this.forgetReads(key)
    await this.deleteObject(this.objectKey(key))
  }

  private async * listObjects (prefix: string): AsyncIterable<{ name: string, size: number, modifiedAt: number }> {
    let token: string | undefined
    do {
      let r
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
      } catch (err) {
        throw translate(err, 'ListObjectsV2')
      }
      for (const o of r.Contents ?? []) {
        if (o.Key === undefined) continue
        yield { name: o.Key.slice(prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified?.getTime() ?? 0 }
      }
      token = r.IsTruncated === true ? r.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  async * list (): AsyncIterable<BlobInfo> {
    for await (const o of this.listObjects(this.packsPrefix)) {
      if (KEY_RE.test(o.name)) yield { key: o.name, size: o.size, modifiedAt: o.modifiedAt }
    }
  }

  /**
   * Abort what packs never completed left behind: this process's own packs started before
   * the cut-off, and multipart uploads under our prefix initiated before it (packs of a
   * process that died); also staged uploads (presignPut) older than the cut-off.
   */
  async sweepIncomplete (olderThanMs: number): Promise<number> {
    // server times may round up to the next second (Swift's listings do): 0 means everything
    const cutoff = olderThanMs <= 0 ? Infinity : Date.now() - olderThanMs
    let removed = 0
    const handled = new Set<string>()
    for (const [, l] of [...this.live]) {
      const id = l.uploadId()
      if (l.startedAt > cutoff) {
        if (id !== undefined) handled.add(id) // alive and fresh: never abort it below
        continue
      }
      if (id !== undefined) handled.add(id)
      await l.sweep()
      removed++
    }
    let keyMarker: string | undefined
    let idMarker: string | undefined
    do {
      let r
      try {
        r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.packsPrefix, KeyMarker: keyMarker, UploadIdMarker: idMarker }))
      } catch (err) {
        throw translate(err, 'ListMultipartUploads')
      }
      for (const u of r.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined || handled.has(u.UploadId)) continue
        if ((u.Initiated?.getTime() ?? 0) > cutoff) continue
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
          removed++
        } catch (err) {
          if (errorName(err) !== 'NoSuchUpload' && httpStatus(err) !== 404) throw translate(err, 'AbortMultipartUpload')
        }
      }
      const more = r.IsTruncated === true
      keyMarker = more ? r.NextKeyMarker : undefined
      idMarker = more ? r.NextUploadIdMarker : undefined
    } while (keyMarker !== undefined)
    for await (const o of this.listObjects(this.stagingPrefix)) {
      if (o.modifiedAt > cutoff) continue
      await this.deleteObject(this.stagingPrefix + o.name)
      removed++
    }
    return removed
  }

  private async presignGet (key: string, opts: { expiresInSeconds: number, contentType?: string, contentDisposition?: string }): Promise<string> {
    const expiresIn = checkExpiry(opts.expiresInSeconds)
    return await getSignedUrl(this.client, new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentType: opts.contentType,
      ResponseContentDisposition: opts.contentDisposition
    }), { expiresIn })
  }

  private async presignPut (opts: { expiresInSeconds: number, contentType?: string }): Promise<PresignedPut> {
    const expiresIn = checkExpiry(opts.expiresInSeconds)
    const key = randomBytes(16).toString('hex')
    const url = await getSignedUrl(this.client, new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.stagedKey(key),
      ContentType: opts.contentType
    }), { expiresIn })
    return { key, url, headers: opts.contentType === undefined ? {} : { 'content-type': opts.contentType } }
  }

  async close (): Promise<void> {
    this.client.destroy()
  }
}

function checkExpiry (seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new CairnError('invalid_argument', `presigned URL expiry must be 1..${MAX_PRESIGN_SECONDS} seconds`)
  }
  return seconds
}
