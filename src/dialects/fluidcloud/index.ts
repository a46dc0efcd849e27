/**
 * The FluidCloud partner API (`CAIRN_CLOUD_PREFIX`, default /cloud/api/v1; and /api/v1 on
 * CAIRN_CLOUD_HOST): spaces, folders, files with presigned uploads and scan-before-serve,
 * raw share links, quota. `X-API-Key: fck_live_…|fck_test_…` (or Bearer) with scopes, the
 * `{"detail": …}` error shape, 600 requests/min per key plus per-action caps.
 * Routes translate; core/cloud does the work. docs/fluidcloud.md is the contract.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Core } from '../../core/core.js'
import { CairnError, RateLimitedError, invalid } from '../../core/errors.js'
import type { CloudPrincipal, CloudScope } from '../../core/cloud/tenants.js'
import { SCAN_STATUSES } from '../../core/cloud/cloud.js'
import { openMultipart } from '../../http/multipart.js'
import { abortSignalOf } from '../../http/abort-signal.js'
import type { Metrics } from '../../http/metrics.js'
import { cloudErrorHandler, sendDetail } from './errors.js'
import * as S from './schemas.js'
import { fileView, folderView, iso, shareView, spaceView, uploadView } from './views.js'

export interface CloudDeps { core: Core, metrics: Metrics }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** FluidCloud: scopes a key needs for this route (all of them) */
    scopes?: string[]
  }
}

type Rate = 'upload' | 'share' | 'import'

function presentedKey (req: FastifyRequest): string | undefined {
  const h = req.headers['x-api-key']
  if (typeof h === 'string' && h.trim().length > 0) return h.trim()
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  return m?.[1]
}

function principalOf (req: FastifyRequest): CloudPrincipal {
  const p = (req as FastifyRequest & { cloudPrincipal?: CloudPrincipal }).cloudPrincipal
  if (p === undefined) throw new CairnError('unauthenticated', 'Missing API key: send it in the X-API-Key header')
  return p
}

function bool (v: unknown, name: string): boolean {
  if (v === undefined || v === '' || v === false || v === 'false' || v === '0') return false
  if (v === true || v === 'true' || v === '1') return true
  throw invalid(`${name} must be true or false`)
}

export async function fluidCloudDialect (app: FastifyInstance, { core }: CloudDeps): Promise<void> {
  const cfg = core.config.cloud
  const cloud = core.cloud
  app.decorateRequest('cloudPrincipal', undefined)
  app.setErrorHandler(cloudErrorHandler)
  app.setNotFoundHandler((req, reply) => { void sendDetail(reply, 404, `Unknown endpoint: ${req.method} ${req.url.split('?')[0].slice(0, 200)}`) })

  const hit = async (bucket: string, limit: number): Promise<void> => {
    if (limit <= 0) return
    const d = await core.rateLimiter.hit(bucket, limit, 60_000)
    if (!d.allowed) throw new RateLimitedError(Math.min(60, Math.max(1, Math.ceil(d.retryAfterMs / 1000))))
  }

  // before any body is read: who, what they may do, how often
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.is404) return
    const config = req.routeOptions.config as { public?: boolean, scopes?: string[], rate?: string }
    if (config.public === true) return
    const key = presentedKey(req)
    if (key === undefined) throw new CairnError('unauthenticated', 'Missing API key: send it in the X-API-Key header (or Authorization: Bearer)')
    const p = await core.cloudTenants.authenticate(key)
    if (!p.account.active) throw new CairnError('subscription_inactive', 'The API needs an active subscription on a plan that includes it')
    ;(req as FastifyRequest & { cloudPrincipal?: CloudPrincipal }).cloudPrincipal = p
    await hit(`cloud:req:${p.key.id}`, cfg.requestsPerMinute)
    const required = config.scopes ?? []
    const missing = required.filter(s => !p.key.scopes.includes(s as CloudScope))
    if (missing.length > 0) throw new CairnError('forbidden', `this key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { error: 'insufficient_scope', required, missing })
    if (config.rate === 'upload') await hit(`cloud:upload:${p.key.id}`, cfg.uploadsPerMinute)
    if (config.rate === 'share') await hit(`cloud:share:${p.key.id}`, cfg.sharesPerMinute)
    if (config.rate === 'import') await hit(`cloud:import:${p.key.id}`, cfg.importsPerMinute)
  })

  const route = (scopes: string[], rate?: Rate): { config: { scopes: string[], rate?: Rate } } => ({ config: { scopes, ...(rate !== undefined ? { rate } : {}) } })
  const who = (req: FastifyRequest): { p: CloudPrincipal, t: string } => { const p = principalOf(req); return { p, t: p.tenant.id } }
  const pageReply = <T>(items: T[], next: string | null): Record<string, unknown> => ({ items, next_cursor: next })

  app.get('/me', {
    ...route([]),
    schema: {
      summary: 'The calling key: its tenant, environment and scopes',
      tags: ['account'],
      response: { 200: { type: 'object', properties: { tenant_id: { type: 'string' }, tenant_name: { type: 'string' }, environment: { type: 'string', enum: ['live', 'test'] }, key: { type: 'object', properties: { id: { type: 'string' }, label: { type: 'string' }, prefix: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } } } } }, ...S.errors() }
    }
  }, async req => {
    const { p } = who(req)
    return { tenant_id: p.tenant.id, tenant_name: p.tenant.name, environment: p.env, key: { id: p.key.id, label: p.key.label, prefix: p.key.prefix, scopes: p.key.scopes } }
  })

  // ------------------------------------------------------------ spaces
  app.get('/spaces', {
    ...route(['spaces:read']),
    schema: { summary: 'List spaces, oldest first (the first call makes "My files")', tags: ['spaces'], querystring: { type: 'object', properties: S.paging }, response: { 200: S.pageOf(S.space), ...S.errors(422) } }
  }, async req => {
    const { p, t } = who(req)
    const q = req.query as { limit: number, cursor?: string }
    const r = await cloud.listSpaces(p.account, q)
    return pageReply(r.items.map(s => spaceView(t, s)), r.nextCursor)
  })
  app.post('/spaces', {
    ...route(['spaces:write']),
    schema: {
      summary: 'Create a space',
      tags: ['spaces'],
      body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, app: { type: 'string', description: 'product namespace (default "fluidcloud")' } } },
      response: { 201: S.space, ...S.errors(400, 422) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    return await reply.code(201).send(spaceView(t, await cloud.createSpace(p.account, req.body as { name: string, app?: string })))
  })
  app.get('/spaces/:id', {
    ...route(['spaces:read']),
    schema: { summary: 'Get a space', tags: ['spaces'], params: S.idParam, response: { 200: S.space, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return spaceView(t, await cloud.getSpace(p.account, (req.params as { id: string }).id))
  })
  app.patch('/spaces/:id', {
    ...route(['spaces:write']),
    schema: {
      summary: 'Rename a space (or change its app)',
      tags: ['spaces'],
      params: S.idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, app: { type: 'string' } } },
      response: { 200: S.space, ...S.errors(400, 404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    return spaceView(t, await cloud.updateSpace(p.account, (req.params as { id: string }).id, req.body as { name?: string, app?: string }))
  })
  app.delete('/spaces/:id', {
    ...route(['spaces:write']),
    schema: {
      summary: 'Delete a space: 409 while it holds folders or files (Trash included), unless force=true deletes them for good',
      tags: ['spaces'],
      params: S.idParam,
      querystring: { type: 'object', properties: { force: { type: 'boolean', default: false } } },
      response: { 204: { type: 'null' }, ...S.errors(404, 409) }
    }
  }, async (req, reply) => {
    const { p } = who(req)
    await cloud.deleteSpace(p.account, (req.params as { id: string }).id, (req.query as { force: boolean }).force)
    return await reply.code(204).send()
  })

  // ------------------------------------------------------------ folders
  app.post('/folders', {
    ...route(['folders:write']),
    schema: {
      summary: 'Create a folder (at the space root, or under parent_id in the same space)',
      tags: ['folders'],
      body: { type: 'object', additionalProperties: false, required: ['space_id', 'name'], properties: { space_id: { type: 'string' }, parent_id: { type: ['string', 'null'] }, name: { type: 'string' } } },
      response: { 201: S.folder, ...S.errors(400, 404, 422) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    return await reply.code(201).send(folderView(t, await cloud.createFolder(p.account, req.body as { space_id: string, name: string })))
  })
  app.get('/folders', {
    ...route(['folders:read']),
    schema: {
      summary: 'List a folder\'s children (parent_id), a space\'s root folders (space_id alone), or the Trash (trashed=true)',
      tags: ['folders'],
      querystring: { type: 'object', properties: { space_id: { type: 'string' }, parent_id: { type: 'string' }, trashed: { type: 'boolean', default: false }, ...S.paging } },
      response: { 200: S.pageOf(S.folder), ...S.errors(404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    const q = req.query as { space_id?: string, parent_id?: string, trashed: boolean, limit: number, cursor?: string }
    const r = await cloud.listFolders(p.account, { spaceId: q.space_id, parentId: q.parent_id ?? null, trashed: q.trashed, limit: q.limit, cursor: q.cursor })
    return pageReply(r.items.map(f => folderView(t, f)), r.nextCursor)
  })
  app.get('/folders/:id', {
    ...route(['folders:read']),
    schema: { summary: 'Get a folder (one in Trash too)', tags: ['folders'], params: S.idParam, response: { 200: S.folder, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return folderView(t, await cloud.getFolder(p.account, (req.params as { id: string }).id, { trashed: true }))
  })
  app.patch('/folders/:id', {
    ...route(['folders:write']),
    schema: {
      summary: 'Rename and/or move a folder (parent_id null: to the space root)',
      tags: ['folders'],
      params: S.idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string' }, parent_id: { type: ['string', 'null'] } } },
      response: { 200: S.folder, ...S.errors(400, 404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    return folderView(t, await cloud.updateFolder(p.account, (req.params as { id: string }).id, req.body as { name?: string }))
  })
  app.delete('/folders/:id', {
    ...route(['folders:write']),
    schema: { summary: 'Move a folder to Trash with everything in it', tags: ['folders'], params: S.idParam, response: { 200: S.folder, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return folderView(t, await cloud.trashFolder(p.account, (req.params as { id: string }).id))
  })
  app.post('/folders/:id/restore', {
    ...route(['folders:write']),
    schema: { summary: 'Restore a folder from Trash with what went there with it', tags: ['folders'], params: S.idParam, response: { 200: S.folder, ...S.errors(404, 409) } }
  }, async req => {
    const { p, t } = who(req)
    return folderView(t, await cloud.restoreFolder(p.account, (req.params as { id: string }).id))
  })
  app.get('/folders/:id/stats', {
    ...route(['folders:read']),
    schema: {
      summary: 'Recursive counts: subfolders, files and bytes (Trash excluded)',
      tags: ['folders'],
      params: S.idParam,
      response: { 200: { type: 'object', properties: { folder_id: { type: 'string' }, folders: { type: 'integer' }, files: { type: 'integer' }, bytes: { type: 'integer' } } }, ...S.errors(404) }
    }
  }, async req => {
    const { p } = who(req)
    return await cloud.folderStats(p.account, (req.params as { id: string }).id)
  })

  // ------------------------------------------------------------ files
  app.get('/files', {
    ...route(['files:read']),
    schema: {
      summary: 'List files, oldest first, with filters; trashed=true lists the Trash',
      tags: ['files'],
      querystring: {
        type: 'object',
        properties: {
          space_id: { type: 'string' },
          folder_id: { type: 'string', description: 'a folder id, or "root" for files outside any folder' },
          scan_status: { type: 'string', enum: [...SCAN_STATUSES] },
          client_key_prefix: { type: 'string', maxLength: 512 },
          trashed: { type: 'boolean', default: false },
          ...S.paging
        }
      },
      response: { 200: S.pageOf(S.file), ...S.errors(404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    const q = req.query as { space_id?: string, folder_id?: string, scan_status?: string, client_key_prefix?: string, trashed: boolean, limit: number, cursor?: string }
    const r = await cloud.listFiles(p.account, {
      spaceId: q.space_id, folderId: q.folder_id === 'root' ? null : q.folder_id, scanStatus: q.scan_status,
      clientKeyPrefix: q.client_key_prefix, trashed: q.trashed, limit: q.limit, cursor: q.cursor
    })
    return pageReply(r.items.map(f => fileView(t, f)), r.nextCursor)
  })
  app.get('/files/resolve', {
    ...route(['files:read']),
    schema: {
      summary: 'The file a client_key names (the newest upload tagged with it)',
      tags: ['files'],
      querystring: { type: 'object', required: ['client_key'], properties: { client_key: { type: 'string', minLength: 1, maxLength: 512 } } },
      response: { 200: S.file, ...S.errors(404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    return fileView(t, await cloud.resolveClientKey(p.account, (req.query as { client_key: string }).client_key))
  })
  app.get('/files/:id', {
    ...route(['files:read']),
    schema: { summary: 'Get a file (poll until scan_status is clean)', tags: ['files'], params: S.idParam, response: { 200: S.file, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return fileView(t, await cloud.getFile(p.account, (req.params as { id: string }).id, { trashed: true }))
  })
  for (const [path, disposition, what] of [['download-url', 'attachment', 'download'], ['preview-url', 'inline', 'inline preview']] as const) {
    app.get(`/files/:id/${path}`, {
      ...route(['files:read']),
      schema: {
        summary: `A short-lived signed ${what} URL on the files origin (Content-Disposition: ${disposition}); 409 until scan_status is clean`,
        tags: ['files'],
        params: S.idParam,
        response: { 200: S.fileUrl, ...S.errors(404, 409) }
      }
    }, async req => {
      const { p } = who(req)
      const u = await cloud.fileUrl(p.account, (req.params as { id: string }).id, disposition)
      return { url: u.url, expires_at: iso(u.expires_at), disposition }
    })
  }
  app.patch('/files/:id', {
    ...route(['files:write']),
    schema: {
      summary: 'Rename and/or move a file (folder_id null: the space root; space_id: another space\'s root or folder_id in it)',
      tags: ['files'],
      params: S.idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string' }, folder_id: { type: ['string', 'null'] }, space_id: { type: 'string' } } },
      response: { 200: S.file, ...S.errors(400, 404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    return fileView(t, await cloud.updateFile(p.account, (req.params as { id: string }).id, req.body as { name?: string }))
  })
  app.delete('/files/:id', {
    ...route(['files:write']),
    schema: { summary: 'Move a file to Trash (bytes kept and counted; DELETE /gdpr/files/{id} erases)', tags: ['files'], params: S.idParam, response: { 200: S.file, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return fileView(t, await cloud.trashFile(p.account, (req.params as { id: string }).id))
  })
  app.post('/files/:id/restore', {
    ...route(['files:write']),
    schema: { summary: 'Restore a file from Trash', tags: ['files'], params: S.idParam, response: { 200: S.file, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return fileView(t, await cloud.restoreFile(p.account, (req.params as { id: string }).id))
  })
  app.post('/files', {
    ...route(['files:write'], 'upload'),
    schema: {
      summary: 'Direct upload of a small file: multipart/form-data with fields space_id, optional folder_id, client_key, name, then the part "file"',
      tags: ['files'],
      consumes: ['multipart/form-data'],
      response: { 201: S.file, ...S.errors(400, 402, 404, 413, 422) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    if (!req.isMultipart()) throw new CairnError('invalid_argument', 'send multipart/form-data with the fields, then a "file" part')
    const mp = await openMultipart(req, ['space_id', 'folder_id', 'client_key', 'name'])
    let stored: ReturnType<typeof fileView> | undefined
    for await (const src of mp.files) {
      if (stored !== undefined) throw invalid('send one file per request')
      const f = await cloud.uploadDirect(p.account, p.key.id, { space_id: mp.fields.space_id, folder_id: mp.fields.folder_id, client_key: mp.fields.client_key, name: mp.fields.name, source: src }, abortSignalOf(req))
      stored = fileView(t, f)
    }
    if (stored === undefined) throw invalid('no file: send a multipart part named "file"')
    return await reply.code(201).send(stored)
  })

  // ------------------------------------------------------------ uploads
  app.post('/uploads/initiate', {
    ...route(['files:write'], 'upload'),
    schema: {
      summary: 'Start an upload: answers a presigned URL to PUT the bytes to (with the listed headers), then call complete',
      tags: ['uploads'],
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'size', 'space_id'],
        properties: {
          name: { type: 'string' }, size: { type: 'integer', minimum: 0 }, space_id: { type: 'string' }, folder_id: { type: ['string', 'null'] },
          client_key: { type: ['string', 'null'], maxLength: 512 }, mime: { type: 'string', maxLength: 255 }
        }
      },
      response: { 201: S.upload, ...S.errors(400, 402, 404, 413, 422) }
    }
  }, async (req, reply) => {
    const { p } = who(req)
    const r = await cloud.initiateUpload(p.account, p.key.id, req.body as { name: string, size: number, space_id: string })
    return await reply.code(201).send(uploadView(r.upload, r.url, r.headers, r.multipart))
  })
  app.post('/uploads/complete', {
    ...route(['files:write']),
    schema: {
      summary: 'Finish an upload: the bytes are imported (the file gets its CID) and scanned in the background',
      tags: ['uploads'],
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['file_id', 'key'],
        properties: {
          file_id: { type: 'string' }, key: { type: 'string' }, sha256: { type: 'string' },
          parts: {
            type: 'array',
            maxItems: 10000,
            description: 'multipart mode: every part, with the ETag its PUT answered',
            items: { type: 'object', additionalProperties: false, required: ['part_number', 'etag'], properties: { part_number: { type: 'integer', minimum: 1 }, etag: { type: 'string', minLength: 1, maxLength: 200 } } }
          }
        }
      },
      response: { 201: S.file, ...S.errors(400, 402, 404, 413, 422) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    return await reply.code(201).send(fileView(t, await cloud.completeUpload(p.account, req.body as { file_id: string, key: string }, abortSignalOf(req))))
  })

  app.post('/uploads/import-url', {
    ...route(['files:write'], 'import'),
    schema: {
      summary: 'The server fetches one file from a public http(s) URL into a space (loopback and private addresses refused); 201 FileOut, scanned like any upload',
      tags: ['uploads'],
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'space_id'],
        properties: {
          url: { type: 'string', maxLength: 4096 }, space_id: { type: 'string' }, folder_id: { type: ['string', 'null'] },
          client_key: { type: ['string', 'null'], maxLength: 512 }, name: { type: 'string' }
        }
      },
      response: { 201: S.file, ...S.errors(402, 404, 413, 422, 429) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    return await reply.code(201).send(fileView(t, await cloud.importUrl(p.account, p.key.id, req.body as { url: string, space_id: string }, abortSignalOf(req))))
  })

  // ------------------------------------------------------------ shares
  app.post('/shares', {
    ...route(['shares:write'], 'share'),
    schema: {
      summary: 'Mint a raw link to a clean file: permanent (expires_in_days null) or expiring; the url is shown once',
      tags: ['shares'],
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['file_id'],
        properties: { file_id: { type: 'string' }, expires_in_days: { type: ['integer', 'null'] }, permission: { type: 'string', enum: ['view', 'download'] } }
      },
      response: { 201: S.share, ...S.errors(400, 402, 404, 409, 422) }
    }
  }, async (req, reply) => {
    const { p, t } = who(req)
    const { share, token } = await cloud.createShare(p.account, req.body as { file_id: string })
    return await reply.code(201).send(shareView(t, share, `${core.config.filesOrigin}/s/${token}`))
  })
  app.get('/shares', {
    ...route(['shares:read']),
    schema: {
      summary: 'List live (not revoked) links; never their URLs',
      tags: ['shares'],
      querystring: { type: 'object', properties: { file_id: { type: 'string' }, ...S.paging } },
      response: { 200: S.pageOf(S.share), ...S.errors(404, 422) }
    }
  }, async req => {
    const { p, t } = who(req)
    const q = req.query as { file_id?: string, limit: number, cursor?: string }
    const r = await cloud.listShares(p.account, { fileId: q.file_id, limit: q.limit, cursor: q.cursor })
    return pageReply(r.items.map(s => shareView(t, s)), r.nextCursor)
  })
  app.delete('/shares/:id', {
    ...route(['shares:write']),
    schema: { summary: 'Revoke a link at once (frees its slot)', tags: ['shares'], params: S.idParam, response: { 200: S.share, ...S.errors(404) } }
  }, async req => {
    const { p, t } = who(req)
    return shareView(t, await cloud.revokeShare(p.account, (req.params as { id: string }).id))
  })

  // ------------------------------------------------------------ quota, deletion
  app.get('/quota', {
    ...route(['quota:read']),
    schema: { summary: 'Storage and share-link usage and limits (-1: unlimited)', tags: ['quota'], response: { 200: S.quota, ...S.errors() } }
  }, async req => await cloud.quota(who(req).p.account))
  app.delete('/gdpr/files/:id', {
    ...route(['files:write']),
    schema: {
      summary: 'Erase a file for good (in Trash or not): its links die, its bytes are released, its quota returns',
      tags: ['deletion'],
      params: S.idParam,
      response: { 200: { type: 'object', properties: { id: { type: 'string' }, deleted: { type: 'boolean' } } }, ...S.errors(404) }
    }
  }, async req => {
    const { p } = who(req)
    const id = (req.params as { id: string }).id
    await cloud.purgeFile(p.account, id)
    return { id, deleted: true }
  })
  app.delete('/gdpr/trash', {
    ...route(['files:write']),
    schema: {
      summary: 'Empty the Trash (all of it, or one space\'s) in the background',
      tags: ['deletion'],
      querystring: { type: 'object', properties: { space_id: { type: 'string' } } },
      response: { 202: { type: 'object', properties: { job_id: { type: 'string' }, status: { type: 'string' } } }, ...S.errors(404) }
    }
  }, async (req, reply: FastifyReply) => {
    const { p } = who(req)
    const jobId = await cloud.startEmptyTrash(p.account, (req.query as { space_id?: string }).space_id)
    return await reply.code(202).send({ job_id: jobId, status: 'accepted' })
  })
}
