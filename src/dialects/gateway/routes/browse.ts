/**
 * Additions for the web app, in this dialect's envelope: folders of the account's files
 * (`/folders`), what a CID is and a short-lived URL to view it on the files origin
 * (`/content/{cid}`), share links (`/files/{cid}/shares`, `/shares`), and usage over time
 * (`/users/usage`).
 */
import type { FastifyInstance } from 'fastify'
import type { Entry } from '../../../core/drive.js'
import { FILES_SPACE } from '../../../core/drive.js'
import { cidForms, cidV1String, parseCid } from '../../../core/content/cids.js'
import { CairnError, invalid } from '../../../core/errors.js'
import { MAX_SHARE_LINKS, type ShareLink } from '../../../core/share-links.js'
import { principalOf } from '../auth.js'
import type { GatewayDeps } from '../context.js'
import { fileView, iso } from '../views.js'
import { authErrors, cidParam, errorBody, fileRecord, messageOnly } from './schemas.js'

const VIEW_URL_SECONDS = 3600
const MAX_PAGE_SIZE = 500
const HISTORY_DAYS = 90

const shareRecord = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    cid: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string', description: 'in the creation answer only: the token is stored hashed' },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: ['string', 'null'], format: 'date-time', description: 'null: public until revoked' }
  }
} as const

function shareView (s: ShareLink & { url?: string }): Record<string, unknown> {
  return { id: s.id, cid: cidV1String(s.cid), name: s.name, ...(s.url !== undefined ? { url: s.url } : {}), created_at: iso(s.createdAt), expires_at: iso(s.expiresAt) }
}

function ttlOf (v: unknown, dflt: number | undefined, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return dflt
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 60 || n > max) throw invalid(`expires_in must be a number of seconds from 60 to ${max}`)
  return n
}

/** a file record with, for an image that has one, a signed URL of its thumbnail on the files origin */
export async function fileViewWithThumb (core: GatewayDeps['core'], e: Entry): Promise<Record<string, unknown>> {
  const v: Record<string, unknown> = { id: e.id, ...fileView(e) }
  if (e.thumbnailCid !== null) v.thumbnail_url = (await core.gateway.sign(parseCid(e.thumbnailCid), VIEW_URL_SECONDS)).url
  return v
}

export function browseRoutes (app: FastifyInstance, { core }: GatewayDeps): void {
  const withThumb = async (e: Entry): Promise<Record<string, unknown>> => await fileViewWithThumb(core, e)

  app.get('/folders', {
    config: { rate: 'call' },
    schema: {
      summary: 'One folder of the account\'s files: its subfolders and files, newest first (files carry thumbnail_url when they have a thumbnail)',
      querystring: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'a/b; empty: the top level' },
          page: { type: 'integer', minimum: 1, default: 1 },
          page_size: { type: 'integer', minimum: 1, default: 100, description: `at most ${MAX_PAGE_SIZE}` }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            data: {
              type: 'object',
              properties: {
                path: { type: 'string' },
                folders: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, created_at: { type: 'string', format: 'date-time' } } } },
                files: { type: 'array', items: fileRecord }
              }
            },
            meta: { type: 'object', properties: { page: { type: 'integer' }, page_size: { type: 'integer' }, total: { type: 'integer' }, total_pages: { type: 'integer' } } }
          }
        },
        400: errorBody,
        404: errorBody,
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const q = req.query as { path?: string, page: number, page_size: number }
    const path = (q.path ?? '').replace(/^\/+|\/+$/g, '')
    const pageSize = Math.min(q.page_size, MAX_PAGE_SIZE)
    const page = Math.min(q.page, 1_000_000)
    const folderId = await core.drive.findFolder(account.id, FILES_SPACE, path)
    const { entries, total } = await core.drive.list(account.id, FILES_SPACE, { folderId, offset: (page - 1) * pageSize, limit: pageSize, includeFolders: true })
    const folders = entries.filter(e => e.kind === 'folder').map(e => ({ id: e.id, name: e.name, created_at: iso(e.createdAt) }))
    const files = await Promise.all(entries.filter(e => e.kind !== 'folder').map(withThumb))
    return { status: 200, data: { path, folders, files }, meta: { page, page_size: pageSize, total, total_pages: Math.ceil(total / pageSize) } }
  })

  app.get('/folders/all', {
    config: { rate: 'call' },
    schema: {
      summary: 'Every folder of the account\'s files with its path, sorted by path (a folder picker\'s list; at most 10000)',
      response: {
        200: { type: 'object', properties: { status: { type: 'integer' }, data: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, path: { type: 'string' } } } } } },
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    return { status: 200, data: await core.drive.folderPaths(account.id, FILES_SPACE) }
  })

  app.patch('/entries/:id', {
    config: { rate: 'call' },
    schema: {
      summary: 'Rename a file or folder and/or move it to another folder: {name?, folder?}',
      description: 'id: an entry id from /folders or /files (`id`). name: the new name (Unicode kept; no "/", "\\" or control characters; up to 255 characters, 200 for a folder). folder: the target folder as a path (a/b) or a folder id; "" is the top level; it must exist. A name already used in the target folder is 409 (nothing is replaced); a folder moved into itself is 400; another account\'s item is 404.',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      body: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          folder: { type: 'string', description: 'a/b, a folder id, or "" for the top level' }
        }
      },
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            message: { type: 'string' },
            data: {
              type: 'object',
              properties: {
                ...fileRecord.properties,
                kind: { type: 'string', enum: ['file', 'directory', 'folder'] },
                name: { type: 'string' },
                folder: { type: 'string', description: 'the path of the folder it is now in ("" the top level)' },
                path: { type: 'string', description: 'a folder\'s own path' }
              }
            }
          }
        },
        400: errorBody,
        404: errorBody,
        409: errorBody,
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const id = (req.params as { id: string }).id
    const b = (req.body ?? {}) as { name?: unknown, folder?: unknown }
    if (b.name === undefined && b.folder === undefined) throw invalid('Give a new name, a folder, or both')
    if (b.folder !== undefined && typeof b.folder !== 'string') throw invalid('folder must be a string')
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new CairnError('not_found', 'File or folder not found')
    const folderId = b.folder === undefined ? undefined : await core.drive.findFolder(account.id, FILES_SPACE, b.folder.replace(/^\/+|\/+$/g, ''))
    const e = await core.drive.moveEntry(account.id, FILES_SPACE, id, { name: b.name, folderId })
    const folder = await core.drive.folderPathOf(e.parentId)
    const data = e.kind === 'folder'
      ? { id: e.id, kind: e.kind, name: e.name, folder, path: folder === '' ? e.name : `${folder}/${e.name}` }
      : { ...await withThumb(e), kind: e.kind, name: e.name, folder }
    return { status: 200, message: e.kind === 'folder' ? 'Folder updated' : 'File updated', data }
  })

  app.get('/content/:cid', {
    config: { rate: 'call' },
    schema: {
      summary: 'What a CID the account may read is (its file, a file inside its folder, a thumbnail), with a signed URL to view it on the files origin (valid an hour)',
      params: cidParam,
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            data: {
              type: 'object',
              properties: {
                cid: { type: 'string' },
                name: { type: 'string' },
                kind: { type: 'string', enum: ['file', 'directory'] },
                content_type: { type: 'string' },
                size: { type: ['integer', 'null'], description: 'file bytes (a directory: its cumulative DAG size)' },
                dag_size: { type: ['integer', 'null'], description: 'bytes of every block of its DAG' },
                url: { type: 'string' },
                url_expires_at: { type: 'string', format: 'date-time' }
              }
            }
          }
        },
        400: errorBody,
        404: errorBody,
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const cid = parseCid((req.params as { cid: string }).cid)
    const meta = await core.drive.readable(account.id, cid)
    const stat = await core.metadata.db.selectFrom('contents').select(['size', 'dag_size', 'kind']).where('cid', 'in', cidForms(cid)).executeTakeFirst() ??
      await core.metadata.db.selectFrom('content_members').select(['size', 'kind']).where('cid', 'in', cidForms(cid)).executeTakeFirst()
    const signed = await core.gateway.sign(cid, VIEW_URL_SECONDS)
    const kind = stat?.kind ?? (meta.kind === 'directory' ? 'directory' : 'file')
    return {
      status: 200,
      data: {
        cid: cidV1String(cid.toString()),
        name: meta.name,
        kind,
        content_type: kind === 'directory' ? 'inode/directory' : (meta.mimetype ?? 'application/octet-stream'),
        size: stat?.size ?? null,
        dag_size: stat !== undefined && 'dag_size' in stat ? stat.dag_size : null,
        url: signed.url,
        url_expires_at: iso(signed.exp * 1000)
      }
    }
  })

  app.post('/files/:cid/shares', {
    config: { rate: 'call' },
    schema: {
      summary: 'Share a file: a link on the files origin, public until revoked, or expiring (expires_in seconds); its URL is in this answer only',
      params: cidParam,
      body: { type: ['object', 'null'], properties: { expires_in: { type: ['integer', 'string', 'null'], description: 'seconds, 60 to a year; none: until revoked' } } },
      response: { 201: { type: 'object', properties: { status: { type: 'integer' }, message: { type: 'string' }, data: shareRecord } }, 400: errorBody, 404: errorBody, 409: errorBody, ...authErrors }
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const b = (req.body ?? {}) as { expires_in?: unknown }
    const link = await core.shareLinks.create(account.id, parseCid((req.params as { cid: string }).cid), { ttlSeconds: ttlOf(b.expires_in, undefined, 366 * 86_400) })
    return await reply.code(201).send({ status: 201, message: 'Share link created', data: shareView(link) })
  })

  app.get('/shares', {
    config: { rate: 'call' },
    schema: {
      summary: 'The account\'s live share links, newest first (without their URLs, which are shown once)',
      querystring: { type: 'object', properties: { cid: { type: 'string', description: 'only the links of this file' } } },
      response: { 200: { type: 'object', properties: { status: { type: 'integer' }, data: { type: 'array', items: shareRecord }, meta: { type: 'object', properties: { total: { type: 'integer' }, max: { type: 'integer' } } } } }, 400: errorBody, ...authErrors }
    }
  }, async req => {
    const { account } = principalOf(req)
    const cid = (req.query as { cid?: string }).cid
    const links = await core.shareLinks.list(account.id, { cid: cid === undefined || cid === '' ? undefined : parseCid(cid) })
    return { status: 200, data: links.map(shareView), meta: { total: links.length, max: MAX_SHARE_LINKS } }
  })

  app.delete('/shares/:id', {
    config: { rate: 'call' },
    schema: {
      summary: 'Revoke a share link: it answers 404 at once',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      response: { 200: messageOnly, 400: errorBody, 404: errorBody, ...authErrors }
    }
  }, async req => {
    const { account } = principalOf(req)
    const id = (req.params as { id: string }).id
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new CairnError('not_found', 'Share link not found')
    await core.shareLinks.revoke(account.id, id)
    return { status: 200, message: 'Share link revoked', data: { id } }
  })

  app.get('/users/usage', {
    config: { rate: 'call' },
    schema: {
      summary: 'Storage used against capacity, share links against their cap, and the bytes of the account\'s files by the day they were uploaded (last 90 days, cumulative)',
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'integer' },
            data: {
              type: 'object',
              properties: {
                used_bytes: { type: 'integer' },
                capacity_bytes: { type: 'integer' },
                file_count: { type: 'integer' },
                share_links: { type: 'integer' },
                share_links_max: { type: 'integer' },
                history: { type: 'array', items: { type: 'object', properties: { date: { type: 'string', format: 'date' }, bytes: { type: 'integer' } } } }
              }
            }
          }
        },
        ...authErrors
      }
    }
  }, async req => {
    const { account } = principalOf(req)
    const rows = await core.metadata.db.selectFrom('entries').select(['created_at', 'size', 'cid'])
      .where('account_id', '=', account.id).where('kind', '!=', 'folder').orderBy('created_at').execute()
    // each CID counted once, on the day it first appeared (as the quota counts it)
    const seen = new Set<string>()
    const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
    const perDay = new Map<string, number>()
    for (const r of rows) {
      if (r.cid === null || seen.has(r.cid)) continue
      seen.add(r.cid)
      perDay.set(day(r.created_at), (perDay.get(day(r.created_at)) ?? 0) + r.size)
    }
    const history: Array<{ date: string, bytes: number }> = []
    const today = Date.now()
    let total = 0
    const start = today - (HISTORY_DAYS - 1) * 86_400_000
    for (const [d, b] of perDay) if (d < day(start)) total += b
    for (let t = start; t <= today; t += 86_400_000) {
      total += perDay.get(day(t)) ?? 0
      history.push({ date: day(t), bytes: total })
    }
    return {
      status: 200,
      data: {
        used_bytes: await core.drive.usage(account.id),
        capacity_bytes: account.capacityBytes,
        file_count: await core.drive.fileCount(account.id),
        share_links: await core.shareLinks.count(account.id),
        share_links_max: MAX_SHARE_LINKS,
        history
      }
    }
  })
}
