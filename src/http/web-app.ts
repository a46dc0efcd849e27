/**
 * The web app (web/, built by Vite into dist/web): served at `/`, its client routes under
 * `/app/...` and its hashed bundles under `/assets/...`. Only those paths: nothing here can
 * shadow an API path. The pages hold a session key in sessionStorage on this (the API's)
 * origin; user content is only ever shown from the files origin or as blobs, so the strict
 * CSP below (no inline script, no other script origin) is what guards that key.
 */
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** dist/web next to dist/src (this file is dist/src/http/web-app.js once built) */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url))

export const WEB_APP_PREFIX = '/app'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json'
}

export function webCsp (filesOrigin: string): string {
  // previews and thumbnails come from the files origin (signed URLs) or are blobs made here
  const content = `'self' blob: data: ${filesOrigin}`
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${content}`,
    `media-src ${content}`,
    `frame-src ${filesOrigin} blob:`,
    `connect-src 'self' ${filesOrigin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'"
  ].join('; ')
}

export async function webAppRoutes (app: FastifyInstance, opts: { filesOrigin: string, dir?: string }): Promise<void> {
  const dir = resolve(opts.dir ?? WEB_DIR)
  const csp = webCsp(opts.filesOrigin)
  let index: Buffer | undefined
  try {
    index = await readFile(join(dir, 'index.html'))
  } catch {
    app.log.warn(`web app not built (no ${join(dir, 'index.html')}): the API is served without it; run npm run build`)
  }

  const secure = (reply: FastifyReply): FastifyReply => reply
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')

  const sendIndex = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    secure(reply)
    if (index === undefined) {
      return await reply.code(503).type('text/plain; charset=utf-8')
        .send('The web app is not built. Run `npm run build` (the API is up: see /api/v1/openapi.json).\n')
    }
    return await reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index)
  }
  const hide = { schema: { hide: true } }
  app.get('/', hide, sendIndex)
  app.get(WEB_APP_PREFIX, hide, sendIndex)
  app.get(`${WEB_APP_PREFIX}/*`, hide, sendIndex)

  app.get('/assets/*', hide, async (req, reply) => {
    secure(reply)
    const rel = (req.params as { '*': string })['*']
    const file = resolve(dir, 'assets', rel)
    if (!file.startsWith(join(dir, 'assets') + sep) || rel.includes('\0')) return await reply.code(404).type('text/plain').send('Not found\n')
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file')
      const body = await readFile(file)
      // Vite names bundles by content hash: they never change under one name
      return await reply.header('cache-control', 'public, max-age=31536000, immutable')
        .type(TYPES[extname(file)] ?? 'application/octet-stream').send(body)
    } catch {
      return await reply.code(404).type('text/plain; charset=utf-8').send('Not found\n')
    }
  })
}
