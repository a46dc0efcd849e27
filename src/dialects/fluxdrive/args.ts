/**
 * FluxDrive arguments arrive in the query string (`?arg=<hash>`, as the seed's curl lines
 * send them) or in the body, form-encoded or JSON (`hash`, as its newer docs do).
 */
import type { FastifyRequest } from 'fastify'
import { invalid } from '../../core/errors.js'
import { isImportProfile, type ImportProfile } from '../../core/content/profiles.js'

type Bag = Record<string, unknown>

function bags (req: FastifyRequest): Bag[] {
  const out: Bag[] = []
  if (req.query !== null && typeof req.query === 'object') out.push(req.query as Bag)
  if (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) out.push(req.body as Bag)
  return out
}

export function stringArg (req: FastifyRequest, ...names: string[]): string | undefined {
  for (const bag of bags(req)) {
    for (const n of names) {
      const v = bag[n]
      if (typeof v === 'string' && v.length > 0) return v
      if (typeof v === 'number' || typeof v === 'boolean') return String(v)
      if (Array.isArray(v) && typeof v[0] === 'string') return v[0]
    }
  }
  return undefined
}

export function requireHash (req: FastifyRequest): string {
  const v = stringArg(req, 'arg', 'hash')
  if (v === undefined) throw invalid('Missing hash: pass ?arg=<hash> or a "hash" field')
  return v
}

export function intArg (req: FastifyRequest, name: string, fallback: number, min: number, max: number): number {
  const v = stringArg(req, name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw invalid(`${name} must be an integer >= ${min}`)
  return Math.min(n, max)
}

export function boolArg (req: FastifyRequest, name: string): boolean {
  const v = stringArg(req, name)
  if (v === undefined) return false
  if (/^(true|1|yes)$/i.test(v)) return true
  if (/^(false|0|no)$/i.test(v)) return false
  throw invalid(`${name} must be true or false`)
}

/** FluxDrive answers Kubo's CIDv0 by default; `cid-version=1` or `profile=unixfs-v1-2025` chooses CIDv1. */
export function profileFrom (values: Record<string, string | undefined>): ImportProfile {
  const p = values.profile
  if (p !== undefined) {
    if (!isImportProfile(p)) throw invalid('profile must be unixfs-v0-2015 or unixfs-v1-2025')
    return p
  }
  const v = values['cid-version']
  if (v === undefined || v === '0') return 'unixfs-v0-2015'
  if (v === '1') return 'unixfs-v1-2025'
  throw invalid('cid-version must be 0 or 1')
}
