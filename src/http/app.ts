/**
 * The HTTP server: Fastify with the dialects mounted, health and metrics endpoints, and an
 * OpenAPI document per dialect built from the route schemas.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import swagger from '@fastify/swagger'
import type { Core } from '../core/core.js'
import { fluxdriveDialect, FLUXDRIVE_PREFIX } from '../dialects/fluxdrive/index.js'
import { adminDialect, ADMIN_PREFIX } from '../dialects/admin/index.js'
import { bucketsDialect, UPLOAD_API_V1_PREFIX } from '../dialects/buckets/index.js'
import { tusDialect, TUS_PATH } from '../dialects/tus/index.js'
import { gatewayDialect, GATEWAY_PREFIX } from '../dialects/gateway/index.js'
import { fluxDialect, FLUX_PREFIXES } from '../dialects/flux/index.js'
import { pinningDialect, PINNING_PREFIX } from '../dialects/pinning/index.js'
import { fluidCloudDialect } from '../dialects/fluidcloud/index.js'
import { Metrics } from './metrics.js'
import { webAppRoutes } from './web-app.js'

export interface App {
  app: FastifyInstance
  metrics: Metrics
}

export async function buildApp (core: Core, metrics: Metrics = new Metrics(), opts: { logger?: boolean } = {}): Promise<App> {
  const config = core.config
  const maxFile = Math.max(...Object.values(config.plans).map(p => p.maxFileBytes))
  const app = Fastify({
    logger: opts.logger === false ? false : { level: config.logLevel },
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: 1024 * 1024, // JSON and form bodies; uploads stream through multipart
    requestTimeout: 0, // a 5 GB upload takes as long as it takes
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 1000 },
    // unknown fields are refused where a schema says additionalProperties: false, not dropped
    ajv: { customOptions: { removeAdditional: false, allowUnionTypes: true } },
    // FluidCloud's clients pin a base ending in /api/v1, where the gateway API lives too:
    // on CAIRN_CLOUD_HOST, /api/v1/... is FluidCloud (before routing, so 404s and hooks are its own)
    rewriteUrl: cloudHostRewrite(config.cloud.host, config.cloud.prefix)
  })
  metrics.watchStore(core.metadata.db)

  await app.register(formbody)
  await app.register(multipart, {
    preservePath: true, // putfolder part names carry relative paths
    limits: { fileSize: maxFile + 1, files: 10_000, fields: 100, fieldSize: 64 * 1024, parts: 10_100, headerPairs: 200 }
  })
  await app.register(swagger, {
    openapi: {
      info: { title: 'Cairn', version: '0.1.0', description: 'Content-addressed file storage' },
      components: { securitySchemes: { basic: { type: 'http', scheme: 'basic', description: 'ZELID:API_KEY_SECRET' }, bearer: { type: 'http', scheme: 'bearer', description: 'an API key' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key (ak_...)' }, zelidauth: { type: 'apiKey', in: 'header', name: 'zelidauth', description: 'a wallet session: {"zelid","signature","loginPhrase"} as JSON or a querystring' } } }
    }
  })

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    const dialect = dialectOf(route, config.cloud.prefix)
    metrics.requests.inc({ dialect, route, method: req.method, status: String(reply.statusCode) })
    metrics.latency.observe({ dialect, route }, reply.elapsedTime / 1000)
  })

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const h = await core.health()
    return await reply.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'unavailable', metadata: core.metadata.dialect, dependencies: h.dependencies })
  })
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return await metrics.registry.metrics()
  })

  await app.register(async scope => { await fluxdriveDialect(scope, { core, metrics }) }, { prefix: FLUXDRIVE_PREFIX })
  app.get(`${FLUXDRIVE_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => openapiFor(app, FLUXDRIVE_PREFIX, 'FluxDrive API', ['basic']))
  await app.register(async scope => { await gatewayDialect(scope, { core, metrics }) }, { prefix: GATEWAY_PREFIX })
  app.get(`${GATEWAY_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => openapiFor(app, GATEWAY_PREFIX, 'IPFS Gateway API', ['apiKey']))
  await app.register(async scope => { await pinningDialect(scope, { core }) }, { prefix: PINNING_PREFIX })
  app.get(`${PINNING_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => openapiFor(app, PINNING_PREFIX, 'IPFS Pinning Service API', ['bearer']))
  await app.register(async scope => { await fluidCloudDialect(scope, { core, metrics }) }, { prefix: config.cloud.prefix })
  app.get(`${config.cloud.prefix}/openapi.json`, { schema: { hide: true } }, async () => cloudOpenapi(app, config.cloud.prefix, config.cloud.host))
  await app.register(async scope => { await adminDialect(scope, { core }) }, { prefix: ADMIN_PREFIX })
  await fluxDialect(app, { core, metrics })
  app.get('/id/openapi.json', { schema: { hide: true } }, async () => openapiFor(app, FLUX_PREFIXES, 'Flux node API (identity and files)', ['zelidauth']))
  app.get(`${ADMIN_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => openapiFor(app, ADMIN_PREFIX, 'Cairn operator API', ['bearer']))

  // the Upload API: at the root as its seed writes the paths, and under /v1 as its service does
  await app.register(async scope => { await bucketsDialect(scope, { core, metrics }) })
  await app.register(async scope => { await bucketsDialect(scope, { core, metrics }) }, { prefix: UPLOAD_API_V1_PREFIX })
  app.get(`${UPLOAD_API_V1_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => openapiFor(app, UPLOAD_API_V1_PREFIX, 'Upload API (sessions and buckets)', ['bearer']))
  await app.register(async scope => { await tusDialect(scope, { core, metrics }) })
  // the web app at / (its client routes under /app/, bundles under /assets/)
  await app.register(async scope => { await webAppRoutes(scope, { filesOrigin: config.filesOrigin }) })

  return { app, metrics }
}

/** rewriteUrl for CAIRN_CLOUD_HOST: /api/v1[/...] on that host becomes <prefix>[/...]; other hosts are untouched */
export function cloudHostRewrite (host: string | undefined, prefix: string): ((req: { url?: string, headers: Record<string, string | string[] | undefined> }) => string) | undefined {
  if (host === undefined) return undefined
  const wantPort = host.includes(':')
  return req => {
    const url = req.url ?? '/'
    const raw = req.headers.host
    let h = (typeof raw === 'string' ? raw : '').trim().toLowerCase().replace(/\.$/, '')
    if (!wantPort) h = h.replace(/:\d+$/, '')
    if (h !== host) return url
    if (url === '/api/v1' || url.startsWith('/api/v1/') || url.startsWith('/api/v1?')) return prefix + url.slice('/api/v1'.length)
    return url
  }
}

/** FluidCloud's document: its paths as its clients see them (under /api/v1 on its host), the key header, the error shape */
function cloudOpenapi (app: FastifyInstance, prefix: string, host: string | undefined): unknown {
  const doc = openapiFor(app, prefix, 'FluidCloud API', ['apiKey']) as { paths: Record<string, unknown> } & Record<string, unknown>
  const paths = Object.fromEntries(Object.entries(doc.paths).map(([p, v]) => [p.slice(prefix.length), v]))
  return {
    ...doc,
    info: { ...(doc.info as object), title: 'FluidCloud API', version: '1.0.0', description: 'Spaces, folders, files (presigned uploads, scan before serve), raw links and quota. Errors are {"detail": string | {error, ...}}; see docs/fluidcloud.md.' },
    servers: [{ url: prefix }, ...(host !== undefined ? [{ url: `https://${host}/api/v1` }] : [])],
    paths,
    components: {
      ...(doc.components as object),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'fck_live_... or fck_test_... (Authorization: Bearer <key> works too)' }
      }
    }
  }
}

/** The OpenAPI document restricted to one dialect's paths. */
function openapiFor (app: FastifyInstance, prefix: string | readonly string[], title: string, security: string[]): unknown {
  const doc = app.swagger() as { info: Record<string, unknown>, paths?: Record<string, unknown> } & Record<string, unknown>
  const prefixes = typeof prefix === 'string' ? [prefix] : prefix
  const paths = Object.fromEntries(Object.entries(doc.paths ?? {}).filter(([p]) => prefixes.some(x => p.startsWith(x + '/')) && !p.endsWith('/openapi.json')))
  return { ...doc, info: { ...doc.info, title }, paths, security: security.map(s => ({ [s]: [] })) }
}

/** The `dialect` label of a route for metrics: the first prefix that matches. */
function dialectOf (route: string, cloudPrefix: string): string {
  const table: Array<[string, (r: string) => boolean]> = [
    ['fluxdrive', r => r.startsWith(FLUXDRIVE_PREFIX)],
    ['gateway', r => r.startsWith(GATEWAY_PREFIX)],
    ['admin', r => r.startsWith(ADMIN_PREFIX)],
    ['pinning', r => r.startsWith(PINNING_PREFIX)],
    ['fluidcloud', r => r.startsWith(cloudPrefix)],
    ['flux', r => FLUX_PREFIXES.some(p => r.startsWith(p + '/'))],
    ['tus', r => r.startsWith(TUS_PATH)],
    ['buckets', r => /^(\/v1)?\/(buckets|session)/.test(r)]
  ]
  return table.find(([, matches]) => matches(route))?.[0] ?? 'system'
}
