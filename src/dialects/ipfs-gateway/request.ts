/**
 * Reading a gateway request: `/ipfs/{cid}[/path][?params]` from the raw URL (each segment
 * percent-decoded once, so a name holding "%2C" is asked for as "%252C"), the response format
 * from `?format=` or else the Accept header, and the trustless parameters (dag-scope,
 * entity-bytes, car-version, car-order, car-dups) checked up front: a bad one is a 400.
 */
import type { CID } from 'multiformats/cid'
import { parseGatewayCid } from '../../core/gateway.js'
import { DAG_SCOPES, parseEntityBytes, type DagScope, type EntityBytes } from '../../core/content/dag-walk.js'
import { CairnError, invalid } from '../../core/errors.js'

export type Format = 'raw' | 'car' | 'tar' | 'dag-json' | 'dag-cbor' | 'json' | 'cbor'

export const FORMAT_TYPES: Record<Format, string> = {
  raw: 'application/vnd.ipld.raw',
  car: 'application/vnd.ipld.car',
  tar: 'application/x-tar',
  'dag-json': 'application/vnd.ipld.dag-json',
  'dag-cbor': 'application/vnd.ipld.dag-cbor',
  json: 'application/json',
  cbor: 'application/cbor'
}
const TYPE_FORMATS = new Map(Object.entries(FORMAT_TYPES).map(([f, t]) => [t, f as Format]))

export interface GatewayRequest {
  cid: CID
  /** decoded path segments after the CID */
  path: string[]
  /** the path as requested, for X-Ipfs-Path and redirects (still percent-encoded) */
  requestPath: string
  trailingSlash: boolean
  query: URLSearchParams
  /** undefined: a deserialized answer (a file's bytes, a directory listing) */
  format: Format | undefined
  /** the format came from Accept, not ?format= (the answer then names its URL in Content-Location) */
  negotiated: boolean
  car: { scope: DagScope, entityBytes: EntityBytes | undefined, dups: boolean, order: 'dfs' }
  filename: string | undefined
  download: boolean
  signature: { exp?: string, sig?: string }
  onlyIfCached: boolean
}

interface MediaRange { type: string, params: Map<string, string>, q: number }

export function parseAccept (header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return []
  const out: MediaRange[] = []
  for (const part of header.split(',')) {
    const [type, ...rest] = part.split(';').map(s => s.trim())
    if (type === '') continue
    const params = new Map<string, string>()
    let q = 1
    for (const p of rest) {
      const eq = p.indexOf('=')
      if (eq <= 0) continue
      const k = p.slice(0, eq).trim().toLowerCase()
      const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
      if (k === 'q') q = Number(v) || 0
      else params.set(k, v.toLowerCase())
    }
    if (q > 0) out.push({ type: type.toLowerCase(), params, q })
  }
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.q - a.m.q || a.i - b.i).map(x => x.m)
}

function decodeSegment (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw invalid(`malformed percent-encoding in path segment "${s.slice(0, 60)}"`)
  }
}

/** The format an Accept header asks for, if any: its first media range that names one, unless one that takes HTML or anything comes before. */
export function acceptedFormat (accept: string | undefined): { format: Format, media: MediaRange } | undefined {
  if (accept === undefined) return undefined
  for (const m of parseAccept(accept)) {
    if (m.type === 'text/html' || m.type === '*/*' || m.type === 'application/*') return undefined
    const hit = TYPE_FORMATS.get(m.type)
    if (hit !== undefined) return { format: hit, media: m }
  }
  return undefined
}

/** Parse `url` (path and query as received) of a request under /ipfs/. */
export function parseGatewayRequest (url: string, headers: { accept?: string, 'cache-control'?: string }): GatewayRequest {
  const q = url.indexOf('?')
  const rawPath = q < 0 ? url : url.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const rest = rawPath.replace(/^\/ipfs\/?/, '')
  const parts = rest.split('/')
  const cid = parseGatewayCid(decodeSegment(parts[0] ?? ''))
  const trailingSlash = parts.length > 1 && parts[parts.length - 1] === ''
  const path = parts.slice(1).filter(s => s !== '').map(decodeSegment)
  if (path.some(s => s === '.' || s === '..')) throw invalid('path may not contain . or ..')

  // ?format= wins over Accept
  let format: Format | undefined
  let negotiated = false
  let acceptCar: MediaRange | undefined
  const f = query.get('format')
  if (f !== null && f !== '') {
    if (!(f in FORMAT_TYPES)) throw invalid(`unsupported format "${f.slice(0, 40)}": use raw, car, tar, dag-json, dag-cbor, json or cbor`)
    format = f as Format
  } else {
    const accepted = acceptedFormat(headers.accept)
    if (accepted !== undefined) {
      format = accepted.format
      negotiated = true
      if (format === 'car') acceptCar = accepted.media
    }
  }

  const car = carParams(query, acceptCar, format === 'car')
  return {
    cid,
    path,
    requestPath: rawPath,
    trailingSlash,
    query,
    format,
    negotiated,
    car,
    filename: query.get('filename') ?? undefined,
    download: query.get('download') === 'true',
    signature: { exp: query.get('exp') ?? undefined, sig: query.get('sig') ?? undefined },
    onlyIfCached: /(^|,)\s*only-if-cached\s*(,|$)/i.test(headers['cache-control'] ?? '')
  }
}

/** CAR version, order and dups from the query (which wins) or the Accept parameters; scope and entity-bytes. */
function carParams (query: URLSearchParams, accept: MediaRange | undefined, isCar: boolean): GatewayRequest['car'] {
  const scopeRaw = query.get('dag-scope')
  const bytesRaw = query.get('entity-bytes')
  if (!isCar) return { scope: 'all', entityBytes: undefined, dups: false, order: 'dfs' }
  if (scopeRaw !== null && !(DAG_SCOPES as readonly string[]).includes(scopeRaw)) throw invalid('dag-scope must be all, entity or block')
  const entityBytes = bytesRaw === null ? undefined : parseEntityBytes(bytesRaw)
  const scope: DagScope = entityBytes !== undefined ? 'entity' : (scopeRaw as DagScope | null) ?? 'all'

  const pick = (name: string, queryName: string): { value: string | undefined, fromAccept: boolean } => {
    const v = query.get(queryName)
    if (v !== null) return { value: v, fromAccept: false }
    return { value: accept?.params.get(name), fromAccept: true }
  }
  const refuse = (fromAccept: boolean, message: string): CairnError =>
    fromAccept ? new CairnError('unsupported_media', message) : invalid(message)
  const version = pick('version', 'car-version')
  if (version.value !== undefined && version.value !== '1') throw refuse(version.fromAccept, `CAR version ${version.value.slice(0, 10)} is not supported: only version=1`)
  const order = pick('order', 'car-order')
  if (order.value !== undefined && order.value !== 'dfs' && order.value !== 'unk') throw refuse(order.fromAccept, 'CAR order must be dfs or unk')
  const dups = pick('dups', 'car-dups')
  if (dups.value !== undefined && dups.value !== 'y' && dups.value !== 'n') throw refuse(dups.fromAccept, 'CAR dups must be y or n')
  return { scope, entityBytes, dups: dups.value === 'y', order: 'dfs' }
}
