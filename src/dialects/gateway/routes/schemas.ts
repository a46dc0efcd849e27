/** JSON schemas of the gateway routes: validation, serialization and /api/v1/openapi.json. */
export const errorBody = {
  type: 'object',
  description: 'Every error: the HTTP status, its name, and what went wrong',
  properties: { status: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
  required: ['status', 'error', 'message']
} as const

const err = (description: string): Record<string, unknown> => ({ ...errorBody, description })

export const authErrors = {
  401: err('Missing or invalid X-API-Key header'),
  403: err('Account suspended or key invalidated'),
  429: err('Rate limit exceeded; see the Retry-After header (seconds)')
} as const

export const cidParam = {
  type: 'object',
  properties: { cid: { type: 'string', description: 'IPFS Content Identifier (CIDv0 or CIDv1)' } },
  required: ['cid']
} as const

export const taskParam = {
  type: 'object',
  properties: { task_id: { type: 'string', description: 'UUID returned when the task was started' } },
  required: ['task_id']
} as const

export const fileRecord = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'listings only: the entry\'s id (one upload of the file; the same CID may be in several places), for PATCH /entries/{id}' },
    cid: { type: 'string', description: 'CIDv1 (unixfs-v1-2025 for uploads here: bafkrei... for a file up to 1 MiB)' },
    original_filename: { type: 'string' },
    size: { type: 'integer' },
    content_type: { type: 'string' },
    pinned: { type: 'boolean' },
    uploaded_at: { type: 'string', format: 'date-time' },
    thumbnail_url: { type: 'string', description: 'listings only, for an image with a thumbnail: a signed URL of it on the files origin (valid an hour)' }
  }
} as const

export const taskRecord = {
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    type: { type: 'string', description: 'files.delete_bulk or files.pin' },
    state: { type: 'string', enum: ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED'] },
    result: { description: 'the outcome once SUCCESS, e.g. { "deleted": 3, "failed": [] }' },
    error: { type: ['string', 'null'], description: 'why the last attempt failed' },
    attempts: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'], format: 'date-time' },
    completed_at: { type: ['string', 'null'], format: 'date-time' }
  }
} as const

export const taskStarted = {
  type: 'object',
  description: 'The operation runs as a task: poll status_url',
  properties: {
    status: { type: 'integer' },
    message: { type: 'string' },
    data: { type: 'object', properties: { task_id: { type: 'string' }, state: { type: 'string' }, status_url: { type: 'string' } } }
  }
} as const

export const messageOnly = {
  type: 'object',
  properties: { status: { type: 'integer' }, message: { type: 'string' }, data: { type: 'object', additionalProperties: true } }
} as const
