/**
 * PUT /buckets: one part's bytes, streamed to disk as they arrive. The body is the raw part
 * (any Content-Type but multipart), or the first file of a multipart/form-data body. The part
 * is named by the headers partNumber, key and uploadId (query parameters of those names work too).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { invalid } from '../../../core/errors.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { openMultipart } from '../../../http/multipart.js'
import { type BucketsDeps, sessionOf } from '../context.js'
import { errorResponses } from './schemas.js'

function param (req: FastifyRequest, name: string): string | undefined {
  const h = req.headers[name.toLowerCase()]
  if (typeof h === 'string' && h !== '') return h
  const q = (req.query as Record<string, unknown> | undefined)?.[name]
  return typeof q === 'string' && q !== '' ? q : undefined
}

async function * rawBody (req: FastifyRequest): AsyncIterable<Uint8Array> {
  for await (const chunk of req.raw) yield chunk as Buffer
  if (req.raw.complete !== true) throw invalid('The part\'s body was cut off')
}

export function partRoute (scope: FastifyInstance, { core }: BucketsDeps): void {
  // every body but multipart is the part's bytes: hand the stream over unread (no size limit here;
  // the session's rule limits it while it streams). multipart/form-data keeps its own parser.
  scope.removeContentTypeParser(['application/json', 'text/plain', 'application/x-www-form-urlencoded'])
  scope.addContentTypeParser('*', (_req, _payload, done) => { done(null) })

  scope.put('/buckets', {
    config: { auth: 'session' },
    schema: {
      summary: 'Upload one part (headers partNumber, key, uploadId; body: the part\'s bytes); parts may come in any order, a part sent again replaces the earlier one',
      response: { 200: { type: 'object', properties: { tag: { type: 'string' }, partNumber: { type: 'integer' }, size: { type: 'integer' } } }, ...errorResponses }
    }
  }, async req => {
    const p = sessionOf(req)
    const n = param(req, 'partNumber')
    const partNumber = n !== undefined && /^\d{1,6}$/.test(n) ? Number(n) : undefined
    if (partNumber === undefined) throw invalid('partNumber must be a positive integer (header partNumber)')
    let source: AsyncIterable<Uint8Array>
    if (req.isMultipart()) {
      const mp = await openMultipart(req)
      const first = await mp.files[Symbol.asyncIterator]().next()
      if (first.done === true) throw invalid('No file part in the multipart body')
      source = first.value.content
    } else {
      source = rawBody(req)
    }
    return await core.buckets.putPart(p, { key: param(req, 'key'), uploadId: param(req, 'uploadId'), partNumber }, source, abortSignalOf(req))
  })
}
