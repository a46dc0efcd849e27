/** JSON schemas of the Upload API (validation and the OpenAPI document). */
export const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' } },
  required: ['error'],
  additionalProperties: true
} as const

export const errorResponses = {
  400: errorBody, 401: errorBody, 402: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 429: errorBody
} as const

/** UploadInfoDto, plus Cairn's additions (fileId, uploadId, status, size, cid, tags, ...) */
export const uploadInfo = {
  type: 'object',
  properties: {
    creatorId: { type: ['string', 'null'] },
    completed: { type: 'boolean' },
    fileKey: { type: ['string', 'null'] },
    fileName: { type: ['string', 'null'], description: 'the encryptedName sent at start, unchanged' },
    totalParts: { type: 'integer' },
    originalSizeInBytes: { type: ['integer', 'null'] },
    fileId: { type: 'string', description: 'the id for /buckets/file, /buckets/download and DELETE (the fileKey)' },
    uploadId: { type: 'string' },
    encryptedName: { type: ['string', 'null'] },
    status: { type: 'string', description: 'uploading, completing or completed' },
    size: { type: 'integer', description: 'bytes received (while uploading) or the stored file size' },
    partsReceived: { type: 'integer' },
    cid: { type: ['string', 'null'] },
    tags: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    completedAt: { type: ['string', 'null'] }
  }
} as const

export const fileIdParams = {
  type: 'object',
  properties: { fileId: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['fileId']
} as const
