/**
 * Flux clients send JSON bodies as text/plain (and some as urlencoded forms). Inside the
 * Flux scope only, every non-multipart body is read as text and parsed as JSON when it
 * looks like JSON, else as a urlencoded form; other dialects keep Fastify's parsers.
 */
import type { FastifyInstance } from 'fastify'
import { invalid } from '../../core/errors.js'

export function parseLenient (text: string): unknown {
  const t = text.trim()
  if (t === '') return undefined
  if (t.startsWith('{') || t.startsWith('[') || t.startsWith('"')) {
    try {
      return JSON.parse(t)
    } catch {
      throw invalid('Body is not valid JSON')
    }
  }
  return Object.fromEntries(new URLSearchParams(t))
}

export function lenientBodies (scope: FastifyInstance): void {
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type)
  }
  const parse = (_req: unknown, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    try {
      done(null, parseLenient(body.toString()))
    } catch (err) {
      done(err as Error)
    }
  }
  scope.addContentTypeParser(['application/json', 'text/plain', 'application/x-www-form-urlencoded'], { parseAs: 'string' }, parse)
  scope.addContentTypeParser('*', { parseAs: 'string' }, parse)
}
