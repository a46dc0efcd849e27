/** JSON schemas of FluidCloud's routes: they validate input and make the OpenAPI document. */
const str = { type: 'string' }
const nstr = { type: ['string', 'null'] }
const ts = { type: 'string', format: 'date-time' }
const nts = { type: ['string', 'null'], format: 'date-time' }

export const detail = {
  type: 'object',
  description: 'The one error shape: detail is a string, or for 402/403 an object with a stable `error`',
  properties: { detail: {} },
  required: ['detail']
}

export const space = {
  type: 'object',
  properties: { id: str, tenant_id: str, name: str, app: str, created_at: ts, updated_at: ts }
}
export const folder = {
  type: 'object',
  properties: { id: str, tenant_id: str, space_id: str, parent_id: nstr, name: str, created_at: ts, updated_at: ts, deleted_at: nts }
}
export const file = {
  type: 'object',
  properties: {
    id: str, tenant_id: str, space_id: str, folder_id: nstr, source_app: nstr, client_key: nstr, original_name: str, name: str,
    mime: nstr, size: { type: 'integer' }, sha256: nstr,
    scan_status: { type: 'string', description: 'pending, clean, infected or error (new values may be added)' },
    status: { type: 'string', description: 'draft, then ready (clean) or quarantined' },
    created_by: nstr, cid: { type: 'string', description: 'the CIDv1 of the bytes (unixfs-v1-2025 profile)' },
    created_at: ts, updated_at: ts, deleted_at: nts
  }
}
export const share = {
  type: 'object',
  properties: {
    id: str, tenant_id: str, file_id: str, kind: { type: 'string', enum: ['permanent', 'expiring'] },
    permission: { type: 'string', enum: ['view', 'download'] }, expires_at: nts, created_at: ts, revoked_at: nts,
    url: { type: 'string', description: 'only in the answer that mints the link: https://<files origin>/s/<token>' }
  }
}
export const upload = {
  type: 'object',
  properties: {
    file_id: str, key: str, mode: { type: 'string', enum: ['single', 'multipart'], description: 'multipart from CAIRN_CLOUD_MULTIPART_THRESHOLD (default 100 MiB) up' },
    method: { type: 'string', enum: ['PUT'] },
    upload_url: { type: 'string', description: 'single mode: PUT the whole file here' },
    part_size: { type: 'integer', description: 'multipart mode: every part but the last has exactly this many bytes' },
    parts: {
      type: 'array',
      description: 'multipart mode: PUT bytes [(n-1)*part_size, n*part_size) to part n\'s url, keep each answer\'s ETag header for complete',
      items: { type: 'object', properties: { part_number: { type: 'integer' }, url: str } }
    },
    headers: { type: 'object', additionalProperties: { type: 'string' } }, size: { type: 'integer' }, expires_at: ts
  }
}
export const quota = {
  type: 'object',
  properties: {
    bytes_used: { type: 'integer' }, bytes_limit: { type: 'integer', description: '-1: unlimited' },
    links_used: { type: 'integer' }, links_limit: { type: 'integer', description: '-1: unlimited' },
    by_app: { type: 'array', items: { type: 'object', properties: { app: str, bytes: { type: 'integer' }, files: { type: 'integer' } } } }
  }
}

export const pageOf = (item: unknown): unknown => ({
  type: 'object',
  properties: { items: { type: 'array', items: item }, next_cursor: { ...nstr, description: 'pass as cursor for the next page; null on the last' } }
})

export const idParam = { type: 'object', properties: { id: str }, required: ['id'] }
export const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  cursor: { type: 'string', maxLength: 200 }
}

/** the statuses every authenticated route may answer */
export function errors (...extra: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const s of [401, 403, 429, ...extra]) out[s] = detail
  return out
}

export const fileUrl = {
  type: 'object',
  properties: {
    url: { type: 'string', description: 'a short-lived signed URL on the cookieless files origin: GET it (no key) for the bytes' },
    expires_at: { type: 'string', format: 'date-time', description: 'after this moment (by the server\'s clock) the URL is refused with 403' },
    disposition: { type: 'string', enum: ['attachment', 'inline'] }
  }
}
