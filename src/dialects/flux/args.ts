/**
 * Flux GET calls take their arguments "as both query and in order as path": a path
 * parameter, else the query parameter of the same name; POST bodies as JSON or form.
 */
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod, RouteShorthandOptions } from 'fastify'
import { invalid } from '../../core/errors.js'

type Bag = Record<string, unknown>

function pick (bag: unknown, name: string): string | undefined {
  if (bag === null || typeof bag !== 'object') return undefined
  const v = (bag as Bag)[name]
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

/** a path parameter, else the query parameter, else a body field; '' counts as absent */
export function arg (req: FastifyRequest, name: string): string | undefined {
  for (const bag of [req.params, req.query, req.body]) {
    const v = pick(bag, name)
    if (v !== undefined && v !== '') return v
  }
  return undefined
}

export function requireArg (req: FastifyRequest, name: string): string {
  const v = arg(req, name)
  if (v === undefined) throw invalid(`Missing ${name}`)
  return v
}

export function bodyObject (req: FastifyRequest): Bag {
  const b = req.body
  if (b === null || b === undefined) return {}
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('Body must be a JSON object')
  return b as Bag
}

/** one handler under several paths: Fastify allows an optional parameter only at the end */
export function routes (app: FastifyInstance, method: 'GET' | 'POST', paths: string[], opts: RouteShorthandOptions, handler: RouteHandlerMethod): void {
  for (const url of paths) app.route({ ...opts, method, url, handler })
}
