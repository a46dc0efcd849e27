/**
 * The files origin: a second listener (CAIRN_FILES_PORT, reached at CAIRN_FILES_ORIGIN) where
 * user content is served, apart from the API's origin. It holds no credentials: requests have
 * their Cookie and Authorization headers removed before any route sees them, and no answer
 * may set a cookie. So content served here, even a page that runs scripts, has nothing to
 * steal and no session to ride.
 *
 * To serve something else here (raw share links, /s/<token>), add a FilesRoutes function to
 * FILES_ROUTES: it is registered in its own encapsulated scope with the core and metrics.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Core } from '../core/core.js'
import { ipfsGatewayRoutes, IPFS_PREFIX } from '../dialects/ipfs-gateway/index.js'
import { fileUrlRoutes, RAW_LINK_PREFIX, rawLinkRoutes, UPLOAD_PUT_PREFIX, uploadPutRoutes } from '../dialects/fluidcloud/files-origin.js'
import { Metrics } from './metrics.js'
import { FILE_URL_PREFIX } from '../core/cloud/file-urls.js'
import { SHARE_LINK_PREFIX, shareLinkRoutes } from '../dialects/gateway/files-origin.js'

export interface FilesDeps { core: Core, metrics: Metrics }
export type FilesRoutes = (app: FastifyInstance, deps: FilesDeps) => Promise<void>

/** every route family of the files origin */
export const FILES_ROUTES: Array<{ name: string, prefix: string, routes: FilesRoutes }> = [
  { name: 'gateway', prefix: IPFS_PREFIX, routes: ipfsGatewayRoutes },
  { name: 'fluidcloud', prefix: RAW_LINK_PREFIX + '/', routes: rawLinkRoutes },
  { name: 'fluidcloud', prefix: UPLOAD_PUT_PREFIX + '/', routes: uploadPutRoutes },
  { name: 'fluidcloud', prefix: FILE_URL_PREFIX + '/', routes: fileUrlRoutes },
  { name: 'gateway', prefix: SHARE_LINK_PREFIX + '/', routes: shareLinkRoutes }
]

const EXPOSED = 'Content-Length, Expires, Cache-Control, Content-Range, Content-Type, Content-Disposition, ETag, X-Ipfs-Path, X-Ipfs-Roots, X-Content-Type-Options'

export async function buildFilesApp (core: Core, metrics: Metrics = new Metrics(), opts: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const config = core.config
  const app = Fastify({
    logger: opts.logger === false ? false : { level: config.logLevel },
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: 1024, // nothing here takes a body
    requestTimeout: 0, // a 5 GB download takes as long as it takes
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 4096 }
  })

  app.addHook('onRequest', async req => {
    // no credentials on this origin: nothing below can read them, by construction
    delete req.headers.cookie
    delete req.headers.authorization
    delete req.raw.headers.cookie
    delete req.raw.headers.authorization
  })
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.removeHeader('set-cookie')
    // content here is public by policy and carries no credentials: any site may read it (as IPFS gateways allow)
    reply.header('access-control-allow-origin', '*')
    reply.header('access-control-expose-headers', EXPOSED)
    reply.header('cross-origin-resource-policy', 'cross-origin')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    const dialect = FILES_ROUTES.find(f => route.startsWith(f.prefix))?.name ?? 'files'
    metrics.requests.inc({ dialect, route, method: req.method, status: String(reply.statusCode) })
    metrics.latency.observe({ dialect, route }, reply.elapsedTime / 1000)
  })

  app.options('/*', async (_req, reply) => {
    // PUT: FluidCloud's presigned uploads (filesystem store) are sent from browsers too
    reply.header('access-control-allow-methods', 'GET, HEAD, PUT, OPTIONS')
    reply.header('access-control-allow-headers', 'Accept, Range, If-None-Match, Cache-Control, Content-Type')
    reply.header('access-control-max-age', '86400')
    return await reply.code(204).send()
  })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`Not found: ${req.method} ${req.url.split('?')[0].slice(0, 200)}\n`)
  })

  for (const f of FILES_ROUTES) await app.register(async scope => { await f.routes(scope, { core, metrics }) })
  return app
}
