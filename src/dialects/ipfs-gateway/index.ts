/**
 * The IPFS HTTP gateway (`/ipfs/{cid}[/path]`) on the cookieless files origin: the path
 * gateway (files with sniffed types, directories, index.html, listings, ranges, caching
 * headers) and the trustless gateway (`?format=raw|car|tar` or the Accept types, dag-scope,
 * entity-bytes, CAR parameters, the bafkqaaa probe). What may be served is the core's
 * policy (Gateway.authorize); this file only translates.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import type { Core } from '../../core/core.js'
import { LruMap } from '../../core/content/block-cache.js'
import { codecContentType, CODEC, isIdentity, transcode } from '../../core/content/blocks.js'
import { tarOf } from '../../core/content/tar.js'
import { CairnError, invalid, isCairnError } from '../../core/errors.js'
import type { Resolved } from '../../core/gateway.js'
import { sniffContentType } from '../../core/mime.js'
import { abortSignalOf } from '../../http/abort-signal.js'
import { bodyStream, sendRead } from '../../http/body-stream.js'
import type { Metrics } from '../../http/metrics.js'
import { contentDisposition, parseRange } from '../../http/responses.js'
import { gatewayErrorHandler } from './errors.js'
import { directoryListing, LISTING_CSP, LISTING_VERSION } from './listing.js'
import { acceptedFormat, FORMAT_TYPES, parseGatewayRequest, type Format, type GatewayRequest } from './request.js'

export const IPFS_PREFIX = '/ipfs'
const IMMUTABLE = 'public, max-age=29030400, immutable'
/** active content runs, but in an opaque origin: no cookies, no storage, no same-origin requests anywhere */
const ACTIVE = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript|application\/x-javascript|text\/xsl)/
const ACTIVE_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads'
const SNIFF_BYTES = 4100
/** bodies up to this long are read whole before the answer starts (see sendRead) */
const SEND_READ_UP_TO = 2 * 1024 * 1024
const SNIFF_CACHE = 10_000
const sniffedTypes = new Map<string, string>()

export interface GatewayDeps { core: Core, metrics: Metrics }

export async function ipfsGatewayRoutes (app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.setErrorHandler(gatewayErrorHandler)
  app.route({
    method: ['GET', 'HEAD'],
    url: `${IPFS_PREFIX}/*`,
    exposeHeadRoute: false,
    schema: { hide: true },
    handler: async (req, reply) => await serveIpfs(deps, req, reply)
  })
  app.route({
    method: ['GET', 'HEAD'],
    url: IPFS_PREFIX,
    exposeHeadRoute: false,
    schema: { hide: true },
    handler: async () => { throw invalid('missing CID: request /ipfs/{cid}') }
  })
}

function matches (req: FastifyRequest, etag: string): boolean {
  const h = req.headers['if-none-match']
  if (h === undefined) return false
  const bare = etag.replace(/^W\//, '')
  return h.split(',').map(s => s.trim()).some(t => t === '*' || t.replace(/^W\//, '') === bare)
}

/** the ETag, and a 304 when the client has it already */
function cached (req: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag)
  if (!matches(req, etag)) return false
  void reply.code(304).send()
  return true
}

function send (req: FastifyRequest, reply: FastifyReply, deps: GatewayDeps, body: AsyncIterable<Uint8Array | string>): FastifyReply {
  if (req.method === 'HEAD') return reply.send()
  return reply.send(bodyStream(toBytes(body), deps.metrics))
}

async function * toBytes (src: AsyncIterable<Uint8Array | string>): AsyncIterable<Uint8Array> {
  for await (const c of src) yield typeof c === 'string' ? Buffer.from(c, 'utf8') : c
}

async function serveIpfs (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { core } = deps
  if (await servedKnownFile(deps, req, reply)) return reply
  const r = parseGatewayRequest(req.url, { accept: req.headers.accept, 'cache-control': req.headers['cache-control'] })
  try {
    await core.gateway.authorize(r.cid, r.signature)
  } catch (err) {
    // only-if-cached: the gateway never fetches, so what it does not hold is a 412
    if (r.onlyIfCached && isCairnError(err) && err.code === 'not_found') return await reply.code(412).type('text/plain; charset=utf-8').send(`${r.cid.toString()} is not held here\n`)
    throw err
  }
  const signal = abortSignalOf(req)
  const resolved = await core.gateway.resolve(r.cid, r.path, signal)
  await resolved.get(resolved.terminus) // the terminus block must be here before any status is sent

  reply.header('cache-control', IMMUTABLE)
  reply.header('x-ipfs-path', r.requestPath)
  reply.header('x-ipfs-roots', resolved.roots.map(c => c.toString()).join(','))
  reply.header('vary', 'Accept')
  reply.header('x-content-type-options', 'nosniff')
  if (r.negotiated && r.format !== undefined) {
    const q = new URLSearchParams(r.query)
    q.set('format', r.format)
    reply.header('content-location', `${r.requestPath}?${q.toString()}`)
  }

  switch (r.format) {
    case 'raw': return await sendRaw(deps, req, reply, r, resolved)
    case 'car': return sendCar(deps, req, reply, r, resolved, signal)
    case 'tar': return await sendTar(deps, req, reply, r, resolved, signal)
    case undefined: return await sendDeserialized(deps, req, reply, r, resolved, signal)
    default: return await sendCodec(req, reply, r, resolved, r.format)
  }
}

async function sendRaw (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved): Promise<FastifyReply> {
  if (cached(req, reply, `"${res.terminus.toString()}.raw"`)) return reply
  const bytes = await res.get(res.terminus)
  reply.header('content-type', FORMAT_TYPES.raw)
  reply.header('content-disposition', contentDisposition('attachment', r.filename ?? `${res.terminus.toString()}.bin`))
  reply.header('content-length', bytes.byteLength)
  if (req.method === 'HEAD') return reply.send()
  deps.metrics.bytesOut.inc(bytes.byteLength)
  return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}

function sendCar (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved, signal: AbortSignal): FastifyReply {
  const { scope, entityBytes, dups } = r.car
  const shape = createHash('sha256').update(JSON.stringify([r.path, scope, entityBytes ?? null, dups])).digest('hex').slice(0, 12)
  if (cached(req, reply, `"${r.cid.toString()}.car.${shape}"`)) return reply
  reply.header('content-type', `${FORMAT_TYPES.car}; version=1; order=dfs; dups=${dups ? 'y' : 'n'}`)
  reply.header('content-disposition', contentDisposition('attachment', r.filename ?? `${r.cid.toString()}.car`))
  reply.header('accept-ranges', 'none')
  return send(req, reply, deps, deps.core.gateway.car(res, { scope, entityBytes, dups, signal }))
}

function loader (res: Resolved, signal: AbortSignal): (cid: Resolved['terminus']) => Promise<UnixFSEntry> {
  return async cid => await exporter(cid, res.blockstore, { signal })
}

async function sendTar (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved, signal: AbortSignal): Promise<FastifyReply> {
  const entry = await deps.core.gateway.entry(res, signal)
  if (entry.type !== 'directory' && entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
    throw invalid(`${res.terminus.toString()} is not a UnixFS file or directory: it has no tar form`)
  }
  if (cached(req, reply, `W/"${res.terminus.toString()}.x-tar"`)) return reply
  reply.header('content-type', FORMAT_TYPES.tar)
  reply.header('content-disposition', contentDisposition('attachment', r.filename ?? `${res.terminus.toString()}.tar`))
  return send(req, reply, deps, tarOf(entry, res.terminus.toString(), loader(res, signal), signal))
}

const STRUCTURED = new Set<number>([CODEC.dagCbor, CODEC.dagJson, CODEC.json, CODEC.cbor])
const FORMAT_CODEC: Record<string, number> = { 'dag-json': CODEC.dagJson, 'dag-cbor': CODEC.dagCbor, json: CODEC.json, cbor: CODEC.cbor }

async function sendCodec (req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved, format: Exclude<Format, 'raw' | 'car' | 'tar'>): Promise<FastifyReply> {
  const code = res.terminus.code
  if (!STRUCTURED.has(code)) throw invalid(`${res.terminus.toString()} is not an IPLD document (dag-json, dag-cbor, json or cbor): it has no ${format} form`)
  if (cached(req, reply, `"${res.terminus.toString()}.${format}"`)) return reply
  const block = await res.get(res.terminus)
  const bytes = FORMAT_CODEC[format] === code ? block : transcode(res.terminus, block, format)
  const json = format === 'dag-json' || format === 'json'
  reply.header('content-type', FORMAT_TYPES[format])
  reply.header('content-disposition', contentDisposition(json && !r.download ? 'inline' : 'attachment', r.filename ?? `${res.terminus.toString()}.${json ? 'json' : 'cbor'}`))
  reply.header('content-length', bytes.byteLength)
  if (req.method === 'HEAD') return reply.send()
  return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}

async function sendDeserialized (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved, signal: AbortSignal): Promise<FastifyReply> {
  const { core } = deps
  const entry = await core.gateway.entry(res, signal)
  if (entry.type === 'directory') {
    if (!r.trailingSlash) {
      const q = r.query.toString()
      reply.header('location', `${r.requestPath}/${q === '' ? '' : `?${q}`}`)
      return await reply.code(301).send()
    }
    // a directory with index.html is a website: serve the page
    let index: Resolved | undefined
    try {
      index = await core.gateway.resolve(r.cid, [...r.path, 'index.html'], signal)
    } catch (err) {
      if (!(isCairnError(err) && err.code === 'not_found')) throw err
    }
    if (index !== undefined) {
      const page = await core.gateway.entry(index, signal)
      if (page.type === 'file' || page.type === 'raw') return await sendFileBytes(deps, req, reply, r, index, page, 'index.html', signal)
    }
    if (cached(req, reply, `"DirIndex-${LISTING_VERSION}_CID-${res.terminus.toString()}"`)) return reply
    reply.header('content-type', 'text/html; charset=utf-8')
    reply.header('content-security-policy', LISTING_CSP)
    const signed = r.signature.sig !== undefined ? `?${new URLSearchParams({ exp: r.signature.exp ?? '', sig: r.signature.sig }).toString()}` : ''
    return send(req, reply, deps, directoryListing({
      requestPath: r.requestPath.endsWith('/') ? r.requestPath : r.requestPath + '/',
      cid: res.terminus,
      entries: entry.entries({ signal }),
      linkQuery: signed,
      isRoot: r.path.length === 0
    }))
  }
  if (entry.type === 'file' || entry.type === 'raw' || entry.type === 'identity') {
    const name = r.filename ?? r.path[r.path.length - 1] ?? res.terminus.toString()
    return await sendFileBytes(deps, req, reply, r, res, entry, name, signal)
  }
  if (entry.type === 'object') {
    const type = codecContentType(res.terminus.code)
    if (type === undefined) throw new CairnError('unsupported_media', `${res.terminus.toString()} has no deserialized form here: ask for ?format=raw or ?format=car`)
    const format = (Object.entries(FORMAT_TYPES).find(([, t]) => t === type)?.[0] ?? 'dag-json') as Exclude<Format, 'raw' | 'car' | 'tar'>
    return await sendCodec(req, reply, r, res, format)
  }
  throw new CairnError('unsupported_media', `${res.terminus.toString()} has no deserialized form here: ask for ?format=raw or ?format=car`)
}

async function sendFileBytes (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, r: GatewayRequest, res: Resolved, entry: UnixFSEntry, name: string, signal: AbortSignal): Promise<FastifyReply> {
  const etag = `"${res.terminus.toString()}"`
  if (cached(req, reply, etag)) return reply
  const size = Number(entry.size)
  const inline = isIdentity(res.terminus) || entry.type === 'identity'
  const read = (start: number, end: number): AsyncIterable<Uint8Array> => {
    if (end <= start) return (async function * () {})()
    if (inline && (entry.type === 'identity' || entry.type === 'raw' || entry.type === 'file')) return entry.content({ offset: start, length: end - start, signal })
    return deps.core.content.readFile(res.terminus, start, end, signal)
  }
  // content is immutable: the sniffed type of a CID under a name never changes (saves a read per range request)
  const typeKey = `${res.terminus.toString()}\n${name}`
  let type = sniffedTypes.get(typeKey)
  let head: Buffer | undefined
  if (type === undefined) {
    head = await collect(read(0, Math.min(size, SNIFF_BYTES)))
    type = await sniffContentType(head, name)
    if (sniffedTypes.size >= SNIFF_CACHE) sniffedTypes.delete(sniffedTypes.keys().next().value as string)
    sniffedTypes.set(typeKey, type)
  }
  const content = contentHeaders(type, r, name)
  // a plain request for a stored file by its CID: remember what the answer needs (below)
  if (!inline && r.path.length === 0 && !req.url.includes('?') && !r.negotiated && res.terminus.equals(r.cid)) {
    knownFilesOf(deps.core).set(req.url, { cid: res.terminus, size, etag, common: stringHeaders(reply), content })
  }
  return await sendBytes(deps, req, reply, size, content, read, head)
}

/** the headers of an answer with a file's bytes (or part of them) */
function contentHeaders (type: string, r: GatewayRequest, name: string): Record<string, string> {
  const h: Record<string, string> = { 'content-type': type }
  if (ACTIVE.test(type)) h['content-security-policy'] = ACTIVE_CSP
  if (r.filename !== undefined || r.download) h['content-disposition'] = contentDisposition(r.download ? 'attachment' : 'inline', name)
  h['accept-ranges'] = 'bytes'
  return h
}

function stringHeaders (reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') out[k] = v
  return out
}

/** The file's bytes, or the one range the request asks for (416 for one that is not in the file). */
async function sendBytes (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, size: number, content: Record<string, string>, read: (start: number, end: number) => AsyncIterable<Uint8Array>, head?: Buffer): Promise<FastifyReply> {
  const range = parseRange(req.headers.range, size)
  if (range === 'invalid') {
    reply.header('content-range', `bytes */${size}`)
    return await reply.code(416).type('text/plain; charset=utf-8').send('Range not satisfiable\n')
  }
  reply.headers(content)
  const start = range?.start ?? 0
  const end = range?.end ?? size
  if (range !== undefined) {
    reply.code(206)
    reply.header('content-range', `bytes ${start}-${end - 1}/${size}`)
  }
  reply.header('content-length', end - start)
  if (req.method === 'HEAD') return reply.send()
  if (head !== undefined && start === 0 && end <= head.byteLength) {
    deps.metrics.bytesOut.inc(end)
    return reply.send(head.subarray(0, end))
  }
  // up to a few MiB (a range request, a small file) is read before any status is sent
  if (end - start <= SEND_READ_UP_TO) return await sendRead(reply, read(start, end), deps.metrics)
  return send(req, reply, deps, read(start, end))
}

/**
 * What a plain `GET /ipfs/<cid>` of a stored file (no path below the CID, no query, no format
 * asked for) needs besides the bytes, by request path. Content is immutable, so none of it
 * goes stale: the next such request (a download's range requests, a video's seeks) skips
 * parsing the CID, walking and decoding the root, sniffing the type and building the
 * headers. Whether the content may be served is NOT remembered: the policy is asked on every
 * request, so removed content is a 404 at once, and a request the policy refuses goes the
 * long way (which answers it as before).
 */
interface KnownFile {
  cid: CID
  size: number
  etag: string
  /** the headers every answer carries (a 304 too): caching, X-Ipfs-*, the ETag */
  common: Record<string, string>
  /** and those of an answer with bytes */
  content: Record<string, string>
}
const KNOWN_FILES = 10_000
/** per core: a process running several (tests) keeps their stores apart */
const knownFiles = new WeakMap<Core, LruMap<string, KnownFile>>()

function knownFilesOf (core: Core): LruMap<string, KnownFile> {
  let m = knownFiles.get(core)
  if (m === undefined) {
    m = new LruMap(KNOWN_FILES)
    knownFiles.set(core, m)
  }
  return m
}

/** true when the request was for a known file and is answered; false: it must go the long way */
async function servedKnownFile (deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  if (req.url.includes('?')) return false
  const f = knownFilesOf(deps.core).get(req.url)
  if (f === undefined || acceptedFormat(req.headers.accept) !== undefined) return false
  try {
    await deps.core.gateway.authorize(f.cid, {})
  } catch {
    return false
  }
  reply.headers(f.common)
  if (matches(req, f.etag)) await reply.code(304).send()
  else await sendBytes(deps, req, reply, f.size, f.content, (start, end) => deps.core.content.readFile(f.cid, start, end, abortSignalOf(req)))
  return true
}

async function collect (chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return Buffer.concat(parts)
}
