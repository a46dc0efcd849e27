/**
 * Resumable uploads with tus 1.0 at /files/tus, on the tus project's own server library
 * (@tus/server; each upload's record in @tus/file-store's configstore), mounted in Fastify as
 * a raw handler. Extensions: creation (+ with-upload, defer-length), termination, expiration
 * (the library's), and checksum (Cairn's, see store.ts). Credentials: an account's API key
 * (X-API-KEY or Authorization: Bearer) or an upload session token (Bearer); an upload belongs
 * to who created it, and to nobody else it exists (404).
 *
 * The bytes are imported as they arrive, into segments (writer.ts); a finished upload's
 * segments are stored as one file like any other upload: with an API key into the account's
 * files (the top level, or the folder a/b named by the `folder` metadata, made if missing, as
 * the gateway's upload does), with a session token into the session's bucket under its
 * rules. The CID is answered in the `Cairn-CID` header of the request that finished it and
 * kept in the upload's metadata (`cid`, seen by HEAD).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Server } from '@tus/server'
import type { Upload } from '@tus/utils'
import type { Principal } from '../../core/accounts.js'
import { FILES_SPACE } from '../../core/drive.js'
import { parseFolderPath } from '../../core/paths.js'
import type { Core } from '../../core/core.js'
import { CairnError, isCairnError, RateLimitedError } from '../../core/errors.js'
import type { SessionPrincipal } from '../../core/upload-sessions.js'
import type { Metrics } from '../../http/metrics.js'
import { apiKeyPrincipal, bearerOf, isSessionToken } from '../buckets/auth.js'
import { statusOf } from '../buckets/errors.js'
import { CairnTusStore, CHECKSUM_ALGORITHMS, parseChecksum, patchBody, profileOf, requestChecksum, TusError } from './store.js'
import type { PartsTarget } from '../../core/part-packs.js'
import type { Entry } from '../../core/drive.js'

export const TUS_PATH = '/files/tus'
/** uploads made with an API key are the account's files, as a FluxDrive put's are */
export const TUS_SPACE = FILES_SPACE
export const CID_HEADER = 'Cairn-CID'
const FAILED_AUTH_PER_MINUTE = 300

type Owner = { kind: 'key', principal: Principal } | { kind: 'session', principal: SessionPrincipal }

const ownerTag = (o: Owner): string => o.kind === 'key' ? `account:${o.principal.account.id}` : `session:${o.principal.session.id}`

async function authenticate (core: Core, req: FastifyRequest): Promise<Owner> {
  const bearer = bearerOf(req)
  if (bearer !== undefined && isSessionToken(bearer)) return { kind: 'session', principal: await core.sessions.authenticate(bearer) }
  return { kind: 'key', principal: await apiKeyPrincipal(core, req) }
}

function tusErrorOf (err: unknown): TusError {
  if (err instanceof TusError) return err
  if (isCairnError(err)) return new TusError(statusOf(err.code), `${err.message}\n`)
  return new TusError(500, 'Internal server error\n')
}

export async function tusDialect (app: FastifyInstance, { core }: { core: Core, metrics: Metrics }): Promise<void> {
  const directory = join(core.config.dataDir, 'tus')
  await mkdir(directory, { recursive: true })
  const store = new CairnTusStore({ directory, expirationPeriodInMilliseconds: core.config.uploads.tusExpirySeconds * 1000 }, core.tusSegments)
  app.addHook('onClose', async () => { await store.closeAll() })
  const current = new AsyncLocalStorage<Owner>()
  const ownerOf = (): Owner => {
    const o = current.getStore()
    if (o === undefined) throw new TusError(401, 'Unauthorized\n')
    return o
  }
  const importing = new Map<string, Promise<string>>()

  /** Store the upload's segments as one file of its owner, as a one-shot upload would be. */
  const storeUpload = async (upload: Upload, owner: Owner): Promise<string> => {
    const meta = upload.metadata ?? {}
    const size = upload.size ?? 0
    const name = meta.filename ?? meta.name ?? null
    const profile = profileOf(meta)
    const put = async (target: PartsTarget): Promise<Entry> => await core.tusSegments.store(upload.id, target, { profile })
    if (owner.kind === 'session') {
      const { entry } = await core.buckets.importWhole(owner.principal, { name, size }, put)
      return entry.cid ?? ''
    }
    const account = owner.principal.account
    const entry = await put({
      account, spaceName: TUS_SPACE, folderPath: meta.folder ?? undefined, filename: name ?? 'file', mimetype: meta.filetype ?? meta.type ?? undefined,
      budget: async () => await core.drive.budgetFor(account)
    })
    return entry.cid ?? ''
  }

  /** Store a finished upload once (concurrent callers share the one import). */
  const finish = async (upload: Upload, owner: Owner): Promise<string> => {
    const running = importing.get(upload.id)
    if (running !== undefined) return await running
    const run = (async () => {
      const meta = upload.metadata ?? {}
      if (meta.cid != null) return meta.cid
      await store.settle(upload.id)
      let cid
      try {
        cid = await storeUpload(upload, owner)
      } catch (err) {
        // refused for good (a limit, bad input): the upload is dropped, so a client starts over
        if (isCairnError(err) && ['quota_exceeded', 'file_too_large', 'invalid_argument', 'not_found'].includes(err.code)) await store.remove(upload.id)
        throw err
      }
      await store.markImported(upload.id, cid)
      return cid
    })()
    importing.set(upload.id, run)
    try { return await run } finally { importing.delete(upload.id) }
  }

  const tus = new Server({
    path: TUS_PATH,
    datastore: store,
    respectForwardedHeaders: core.config.trustProxy.length > 0,
    exposedHeaders: [CID_HEADER],
    // the caller's plan limit; OPTIONS (no credentials) advertises the largest of any plan
    maxSize: () => current.getStore()?.principal.account.planLimits.maxFileBytes ??
      Math.max(...Object.values(core.config.plans).map(p => p.maxFileBytes)),
    onUploadCreate: async (_req, upload) => {
      const owner = ownerOf()
      // the owner and the CID are Cairn's to set, never the client's
      const metadata: Record<string, string | null> = {}
      for (const [k, v] of Object.entries(upload.metadata ?? {})) if (!k.startsWith('cairn-') && k !== 'cid') metadata[k] = v
      metadata['cairn-owner'] = ownerTag(owner)
      // the target folder (a/b, made if missing) of an API key's upload: checked now, not after the bytes
      if (metadata.folder != null) {
        if (owner.kind === 'session') throw new TusError(400, 'folder metadata is for API key uploads; a session\'s files go to its bucket\n')
        try { metadata.folder = parseFolderPath(metadata.folder).join('/') } catch (err) { throw tusErrorOf(err) }
      }
      if (upload.size !== undefined) {
        const account = owner.principal.account
        const budget = await core.drive.budgetFor(account)
        if (upload.size > budget.remaining) throw new TusError(413, 'Storage capacity exceeded\n')
        if (owner.kind === 'session' && upload.size > owner.principal.session.maxTotalBytes) {
          throw new TusError(413, 'Larger than the session allows (maxTotalMegaBytes)\n')
        }
      }
      return { metadata }
    },
    onIncomingRequest: async (req, id) => {
      const owner = ownerOf()
      if (req.method === 'POST') return // a new upload: onUploadCreate records its owner
      const info = await store.configstore.get(id) as Upload | undefined
      if (info === undefined || info.metadata?.['cairn-owner'] !== ownerTag(owner)) throw new TusError(404, 'Upload not found\n')
      // finished before a crash cut off its import: import it now, so the client's HEAD sees the CID
      if (req.method === 'HEAD' && info.metadata?.cid == null && info.size !== undefined) {
        const up = await store.getUpload(id).catch(() => undefined)
        if (up !== undefined && up.offset === up.size) await finish(up, owner).catch(err => { throw tusErrorOf(err) })
      }
    },
    onUploadFinish: async (_req, upload) => {
      try {
        const cid = await finish(upload, ownerOf())
        return { headers: { [CID_HEADER]: cid } }
      } catch (err) {
        throw tusErrorOf(err)
      }
    }
  })

  // expired unfinished uploads (the expiration extension), on the session sweep's schedule
  const every = core.config.uploads.sweepIntervalSeconds
  if (every > 0) {
    const timer = setInterval(() => {
      tus.cleanUpExpiredUploads().catch(err => { app.log.warn({ err }, 'tus: sweeping expired uploads failed') })
    }, every * 1000)
    timer.unref()
    app.addHook('onClose', async () => { clearInterval(timer) })
  }

  // the tus library reads the bodies itself: hand every request over unread
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => { done(null) })
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const status = isCairnError(err) ? statusOf(err.code) : (err as FastifyError).statusCode ?? 500
    if (status >= 500) req.log.error({ err }, 'tus: unhandled error')
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds))
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="Cairn tus"')
    if (req.raw.complete === false) reply.header('connection', 'close')
    void reply.code(status).header('tus-resumable', '1.0.0').type('text/plain; charset=utf-8')
      .send(status >= 500 ? 'Internal server error\n' : `${err.message}\n`)
  })
  app.decorateRequest('tusOwner', undefined)
  app.addHook('onRequest', async req => {
    if (req.method === 'OPTIONS') return // discovery and CORS preflight need no credentials
    try {
      (req as FastifyRequest & { tusOwner?: Owner }).tusOwner = await authenticate(core, req)
    } catch (err) {
      if (isCairnError(err) && err.code === 'unauthenticated') {
        const d = await core.rateLimiter.hit(`tus:authfail:${req.ip}`, FAILED_AUTH_PER_MINUTE, 60_000)
        if (!d.allowed) throw new RateLimitedError(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
      }
      throw err
    }
  })

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let checksum
    try {
      checksum = parseChecksum((req.headers['upload-checksum'] as string | undefined) ?? null)
    } catch (err) {
      if (!(err instanceof TusError)) throw err
      throw new CairnError('invalid_argument', err.body.trim())
    }
    reply.hijack()
    reply.raw.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','))
    const owner = (req as FastifyRequest & { tusOwner?: Owner }).tusOwner
    const run = async (): Promise<void> => {
      if (req.raw.method !== 'PATCH') { await tus.handle(req.raw, reply.raw); return }
      // PATCH: the library handles the request without its body, and the store reads the
      // body straight from the socket (store.ts, patchBody): the library's own path turns
      // every chunk into a web stream chunk and back (measured: ~0.7 server CPU-s per GiB)
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
      const request = new Request(new URL(req.raw.url ?? '/', `http://${req.headers.host ?? 'localhost'}`), { method: 'PATCH', headers })
      const response = await patchBody.run(req.raw, async () => await tus.handleWeb(request))
      const body = Buffer.from(await response.arrayBuffer())
      reply.raw.writeHead(response.status, [...response.headers].flat())
      reply.raw.end(body)
    }
    await requestChecksum.run(checksum, async () => {
      if (owner === undefined) await run()
      else await current.run(owner, run)
    })
  }
  // no GET: the library would serve the temporary file, which is gone once imported; a
  // finished upload is read by its CID through the other dialects
  const methods = ['OPTIONS', 'HEAD', 'POST', 'PATCH', 'DELETE'] as const
  app.route({ method: [...methods], url: TUS_PATH, exposeHeadRoute: false, schema: { hide: true }, handler })
  app.route({ method: [...methods], url: `${TUS_PATH}/:id`, exposeHeadRoute: false, schema: { hide: true }, handler })
}
