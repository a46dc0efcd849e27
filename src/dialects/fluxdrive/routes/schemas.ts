/** JSON schemas shared by the FluxDrive routes (validation and the OpenAPI document). */
export const hashQuery = {
  type: 'object',
  properties: {
    arg: { type: 'string', description: 'CID, optionally followed by a path inside a folder: <cid>/dir/file' },
    hash: { type: 'string', description: 'same as arg (newer clients send it in the body)' }
  }
} as const

export const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error']
} as const

export const fileInfo = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    hash: { type: 'string' },
    mimetype: { type: 'string' },
    size: { type: 'integer' },
    thumbnail: { type: ['string', 'null'] }
  }
} as const

export const errorResponses = {
  400: errorBody, 401: errorBody, 402: errorBody, 404: errorBody, 413: errorBody, 429: errorBody
} as const
