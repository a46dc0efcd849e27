/**
 * Sending stored bytes over HTTP: user content is served so it cannot script the API's
 * origin (nosniff, a sandboxing CSP, active types downgraded to octet-stream), with single
 * byte ranges, and Content-Disposition names that survive any Unicode.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Opened } from '../core/reads.js'
import { bodyStream } from './body-stream.js'
import type { Metrics } from './metrics.js'

const ACTIVE = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript|application\/x-javascript|text\/xsl)/

export function safeContentType (mimetype: string): string {
  return ACTIVE.test(mimetype) ? 'application/octet-stream' : mimetype
}

export function contentDisposition (kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

/** Parse a single `bytes=` range against a size; undefined for none, 'invalid' when unsatisfiable. */
export function parseRange (header: string | undefined, size: number): { start: number, end: number } | undefined | 'invalid' {
  if (header === undefined) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null) return undefined // multiple or malformed ranges: ignore and send the whole body (RFC 9110 allows it)
  if (m[1] === '' && m[2] === '') return undefined
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'invalid'
    start = Math.max(0, size - suffix)
    end = size
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1)
  }
  if (start >= size || start >= end) return 'invalid'
  return { start, end }
}

/** small bodies are read whole and sent as one buffer: cheaper than a stream, and a read error still gets a proper error answer */
const SEND_WHOLE_BELOW = 256 * 1024

async function sendWhole (reply: FastifyReply, chunks: AsyncIterable<Uint8Array>, metrics: Metrics): Promise<FastifyReply> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  const body = Buffer.concat(parts)
  metrics.bytesOut.inc(body.byteLength)
  return await reply.send(body)
}

export async function sendFile (req: FastifyRequest, reply: FastifyReply, file: Extract<Opened, { kind: 'file' }>, metrics: Metrics, disposition: 'inline' | 'attachment'): Promise<FastifyReply> {
  const range = parseRange(req.headers.range, file.size)
  if (range === 'invalid') {
    reply.header('content-range', `bytes */${file.size}`)
    return reply.code(416).send({ error: 'Range not satisfiable' })
  }
  reply.header('content-type', safeContentType(file.mimetype))
  reply.header('x-content-type-options', 'nosniff')
  reply.header('content-security-policy', "default-src 'none'; sandbox")
  reply.header('content-disposition', contentDisposition(disposition, file.name))
  reply.header('accept-ranges', 'bytes')
  reply.header('etag', `"${file.cid.toString()}"`)
  reply.header('x-ipfs-path', `/ipfs/${file.cid.toString()}`)
  if (range !== undefined) {
    reply.code(206)
    reply.header('content-range', `bytes ${range.start}-${range.end - 1}/${file.size}`)
    reply.header('content-length', range.end - range.start)
  } else {
    reply.header('content-length', file.size)
  }
  if (req.method === 'HEAD') return reply.send()
  const length = range === undefined ? file.size : range.end - range.start
  if (length <= SEND_WHOLE_BELOW) return sendWhole(reply, file.read(range), metrics)
  return reply.send(bodyStream(file.read(range), metrics))
}
