/**
 * Configuration: parsed once at start-up from CAIRN_* environment variables (and an optional
 * JSON file named by CAIRN_CONFIG_FILE) into a typed, validated object that is passed down.
 * Nothing else in the code base reads the environment.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseSize } from './core/units.js'

export type PlanName = 'STARTER' | 'STANDARD' | 'ELITE' | 'PRO'
export const PLAN_NAMES: readonly PlanName[] = ['STARTER', 'STANDARD', 'ELITE', 'PRO']

export interface PlanConfig {
  /** bytes an account on this plan may reference */
  capacityBytes: number
  /** largest single file, in bytes */
  maxFileBytes: number
  /** write requests per second per identity + client IP */
  putPerSecond: number
  /** read requests per second per identity + client IP */
  readPerSecond: number
}

/** An S3-compatible bucket for pack blobs (instead of files in the data dir). */
export interface S3Config {
  /** unset: AWS S3 itself (region's endpoint) */
  endpoint: string | undefined
  bucket: string
  region: string
  /** unset (with the secret): the AWS SDK's default credential chain */
  accessKeyId: string | undefined
  secretAccessKey: string | undefined
  /** http://host/bucket/key addressing (MinIO, Swift, Ceph); false: virtual-host style */
  forcePathStyle: boolean
}

export interface Config {
  host: string
  port: number
  dataDir: string
  /** postgres://... to use PostgreSQL; unset for the embedded SQLite file */
  databaseUrl: string | undefined
  /** redis://... to keep rate-limit counters (and, later, jobs) in Redis; unset for in-process */
  redisUrl: string | undefined
  /** namespace of every Redis key, so that deployments (or test runs) can share one Redis */
  redisPrefix: string
  /** set (CAIRN_S3_BUCKET): packs live in this bucket; unset: files under the data dir */
  s3: S3Config | undefined
  logLevel: string
  plans: Record<PlanName, PlanConfig>
  /** how long unreferenced content is kept before the collector frees it */
  gcGraceSeconds: number
  /** how often the server runs the collector; 0 disables the timer */
  gcIntervalSeconds: number
  /** `cairn serve` also runs the worker's duties (GC, sweeps, jobs); false on API-only nodes */
  serveWorker: boolean
  /** with shared stores: leftovers of uploads that never committed are swept once this old */
  leftoverAgeSeconds: number
  /** trust X-Forwarded-For from these proxies (Fastify trustProxy); empty for none */
  trustProxy: string[]
  /** largest image (bytes) for which a thumbnail is made at upload */
  thumbnailMaxSourceBytes: number
  /** edge length (px) of the thumbnail box */
  thumbnailSize: number
  /** smtp:// or smtps:// URL to send mail through; unset: .eml files in <data dir>/outbox */
  smtpUrl: string | undefined
  /** the From of every message */
  mailFrom: string
  /** jobs this process's worker runs at once; 0: the server runs no worker */
  jobConcurrency: number
  /** how long a worker's claim on a job holds without renewal (a dead worker's jobs wait this long) */
  jobLeaseSeconds: number
  /** finished SUCCESS/REVOKED jobs are deleted this long after they finished; 0 keeps them */
  jobRetentionDays: number
  gateway: GatewayConfig
  /** port of the cookieless files origin (gateway, raw links); 0 picks a free one */
  filesPort: number
  /** public base URL the files origin is reached at (no trailing slash) */
  filesOrigin: string
  /** what /ipfs/ serves: content some account references, everything stored, or only signed URLs */
  gatewayPolicy: GatewayPolicy
  /** HMAC key for signed gateway URLs; unset: a random key kept in the metadata store */
  gatewaySigningKey: string | undefined
  /** wallet addresses (ZelID or 0x) with the Flux `admin` privilege: the node owner(s) */
  adminZelids: string[]
  /** a first wallet login makes an account for that address (on the STARTER plan) */
  walletSignup: boolean
  /** let Flux restore/size calls fetch URLs on private and loopback addresses (tests, closed networks) */
  fluxAllowPrivateUrls: boolean
  /** upload sessions (/buckets) and tus */
  uploads: UploadsConfig
  pins: PinsConfig
  cloud: CloudConfig
  /** tcp://host:port or unix:/path of a clamd to scan uploads with; unset: the built-in scanner */
  clamdUrl: string | undefined
  /** SHA-256 digests (hex) the built-in scanner refuses, besides the EICAR test file */
  scanDenylist: string[]
}

export interface UploadsConfig {
  /** session lifetime when the creator asks for none, and the longest one allowed (seconds) */
  sessionDefaultExpirySeconds: number
  sessionMaxExpirySeconds: number
  /** the largest total of bytes one session may upload (its rule maxTotalMegaBytes is capped by it) */
  sessionMaxTotalBytes: number
  /** the most files one session's bucket may hold, and the most members that may join it */
  sessionMaxFiles: number
  sessionMaxUsers: number
  /** how often expired sessions' abandoned uploads are swept (0: never, e.g. in tests) */
  sweepIntervalSeconds: number
  /** lifetime of a signed download URL (GET /buckets/download/{fileId}) */
  downloadUrlSeconds: number
  /** HMAC key for signed URLs; unset: one is made on first start and kept in the metadata store */
  urlSigningSecret: string | undefined
  /** absolute base of signed URLs (e.g. https://files.example.com); unset: taken from the request */
  publicUrl: string | undefined
  /** an unfinished tus upload expires this long after its creation (seconds) */
  tusExpirySeconds: number
}

/** The IPFS Pinning Service API (/pins) and its background fetches. */
export interface PinsConfig {
  /** base URLs of trustless gateways to fetch pinned content from (besides each pin's origins) */
  upstreams: string[]
  /** a pin whose content could not be fetched within this many seconds ends `failed` */
  timeoutSeconds: number
  /** multiaddrs answered as `delegates`; default: the files origin's (its trustless gateway) */
  delegates: string[]
  /** let pin origins name loopback and private networks (off: a pin cannot probe the server's network) */
  originsAllowPrivate: boolean
}

/** The FluidCloud partner API (docs/fluidcloud.md). 0 turns a rate limit off. */
export interface CloudConfig {
  /** where the dialect is mounted on every host (never /api/v1: the gateway API lives there) */
  prefix: string
  /** requests whose Host is this name get the dialect at /api/v1 too; unset: none */
  host: string | undefined
  /** live expiring share links per tenant environment, per plan; -1 unlimited */
  linksLimit: Record<PlanName, number>
  /** longest expiring link, in days */
  maxLinkDays: number
  /** lifetime of a presigned upload URL */
  uploadUrlSeconds: number
  /** lifetime of a file's download / preview URL */
  fileUrlSeconds: number
  /** uploads of this size and more get multipart tickets; smaller ones one PUT */
  multipartThreshold: number
  /** the size of each part but the last (grown for files over 10,000 parts, S3's limit) */
  multipartPartSize: number
  /** largest file a direct multipart upload (POST /files) takes; bigger goes through /uploads */
  directUploadMaxBytes: number
  /** per key: every request, starting uploads, minting shares (per minute) */
  requestsPerMinute: number
  uploadsPerMinute: number
  sharesPerMinute: number
  importsPerMinute: number
  /** POST /uploads/import-url may fetch from loopback and private networks (tests, closed networks) */
  importAllowPrivate: boolean
  /** HMAC key for filesystem upload URLs; unset: a random key kept in the metadata store */
  signingKey: string | undefined
}

/** The IPFS Gateway dialect (/api/v1): its limits, from its published FAQ. 0 turns a rate limit off. */
export interface GatewayConfig {
  /** largest upload through /api/v1 (the plan's per-file limit applies too) */
  maxFileBytes: number
  /** bulk deletes of more CIDs than this run as a task (202 + task_id) */
  bulkDeleteSyncMax: number
  /** calls of each of register, renew/challenge and renew per client IP (and per email) per 10 minutes */
  accountCallsPer10Min: number
  uploadsPerHour: number
  retrievalsPerHour: number
  /** every other authenticated call, per key */
  callsPerHour: number
  /** the same calls made with a session key from a password login (the web app's), per key */
  sessionCallsPerHour: number
}

export type GatewayPolicy = 'pinned' | 'all' | 'signed'
export const GATEWAY_POLICIES: readonly GatewayPolicy[] = ['pinned', 'all', 'signed']

const GiB = 1024 ** 3
/** FluxDrive's published "5120Mb" per-file limit. */
export const DEFAULT_MAX_FILE_BYTES = 5120 * 1024 * 1024

export class ConfigError extends Error {}

function defaultPlans (): Record<PlanName, PlanConfig> {
  const base = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, putPerSecond: 150, readPerSecond: 1500 }
  return {
    STARTER: { ...base, capacityBytes: 10 * GiB },
    STANDARD: { ...base, capacityBytes: 50 * GiB },
    ELITE: { ...base, capacityBytes: 100 * GiB },
    PRO: { ...base, capacityBytes: 1024 * GiB }
  }
}

type Env = Record<string, string | undefined>

function int (env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`)
  return n
}

function bool (env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (/^(true|1|yes|on)$/i.test(raw)) return true
  if (/^(false|0|no|off)$/i.test(raw)) return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function size (env: Env, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  try {
    return parseSize(raw)
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`)
  }
}

function publicUrl (raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined
  let u: URL
  try { u = new URL(raw) } catch { throw new ConfigError(`CAIRN_PUBLIC_URL must be an absolute http(s) URL, got "${raw}"`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('CAIRN_PUBLIC_URL must be an http or https URL')
  return u.toString().replace(/\/+$/, '')
}

/** The CAIRN_S3_* settings of an environment (also used for migrate-store's target). */
export function s3Config (env: Env): S3Config | undefined {
  const v = (name: string): string | undefined => env[name] === '' ? undefined : env[name]
  const bucket = v('CAIRN_S3_BUCKET')
  if (bucket === undefined) {
    const stray = ['CAIRN_S3_ENDPOINT', 'CAIRN_S3_ACCESS_KEY_ID', 'CAIRN_S3_SECRET_ACCESS_KEY'].filter(n => v(n) !== undefined)
    if (stray.length > 0) throw new ConfigError(`${stray.join(', ')} set but CAIRN_S3_BUCKET is not: set the bucket to store packs in S3`)
    return undefined
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`CAIRN_S3_BUCKET "${bucket}" is not a valid bucket name`)
  const endpoint = v('CAIRN_S3_ENDPOINT')
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new ConfigError('CAIRN_S3_ENDPOINT must be an http:// or https:// URL')
  const accessKeyId = v('CAIRN_S3_ACCESS_KEY_ID')
  const secretAccessKey = v('CAIRN_S3_SECRET_ACCESS_KEY')
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('set both CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY, or neither (the AWS default credential chain)')
  }
  return {
    endpoint,
    bucket,
    region: v('CAIRN_S3_REGION') ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, 'CAIRN_S3_FORCE_PATH_STYLE', false)
  }
}

/**
 * Build the configuration from an environment. Per-plan settings are
 * CAIRN_PLAN_<PLAN>_CAPACITY, _MAX_FILE_SIZE, _PUT_PER_SECOND, _READ_PER_SECOND;
 * CAIRN_MAX_FILE_SIZE, CAIRN_PUT_PER_SECOND and CAIRN_READ_PER_SECOND set all plans at once.
 */
export function loadConfig (processEnv: Env = process.env): Config {
  let env: Env = { ...processEnv }
  const file = env.CAIRN_CONFIG_FILE
  if (file !== undefined && file !== '') {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new ConfigError(`CAIRN_CONFIG_FILE ${file}: ${(err as Error).message}`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError('CAIRN_CONFIG_FILE must hold a JSON object of CAIRN_* names to values')
    }
    // the environment wins over the file
    env = { ...Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)])), ...env }
  }

  const plans = defaultPlans()
  for (const name of PLAN_NAMES) {
    const p = plans[name]
    p.maxFileBytes = size(env, 'CAIRN_MAX_FILE_SIZE', p.maxFileBytes)
    p.putPerSecond = int(env, 'CAIRN_PUT_PER_SECOND', p.putPerSecond, 1)
    p.readPerSecond = int(env, 'CAIRN_READ_PER_SECOND', p.readPerSecond, 1)
    p.capacityBytes = size(env, `CAIRN_PLAN_${name}_CAPACITY`, p.capacityBytes)
    p.maxFileBytes = size(env, `CAIRN_PLAN_${name}_MAX_FILE_SIZE`, p.maxFileBytes)
    p.putPerSecond = int(env, `CAIRN_PLAN_${name}_PUT_PER_SECOND`, p.putPerSecond, 1)
    p.readPerSecond = int(env, `CAIRN_PLAN_${name}_READ_PER_SECOND`, p.readPerSecond, 1)
  }

  const databaseUrl = env.CAIRN_DATABASE_URL === '' ? undefined : env.CAIRN_DATABASE_URL
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('CAIRN_DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite store)')
  }

  const redisUrl = env.CAIRN_REDIS_URL === '' ? undefined : env.CAIRN_REDIS_URL
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('CAIRN_REDIS_URL must be a redis:// or rediss:// URL (leave it unset for in-process counters)')
  }

  const smtpUrl = env.CAIRN_SMTP_URL === '' ? undefined : env.CAIRN_SMTP_URL
  if (smtpUrl !== undefined) {
    let ok = false
    try { ok = /^smtps?:$/.test(new URL(smtpUrl).protocol) } catch {}
    if (!ok) throw new ConfigError('CAIRN_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
  }
  const mailFrom = env.CAIRN_MAIL_FROM ?? 'Cairn <no-reply@localhost>'
  if (!/^[^\r\n]*@[^\r\n]*$/.test(mailFrom)) throw new ConfigError('CAIRN_MAIL_FROM must be an address such as "Cairn <no-reply@example.com>"')

  const host = env.CAIRN_HOST ?? '127.0.0.1'
  const filesPort = int(env, 'CAIRN_FILES_PORT', 8081)
  const gatewayPolicy = (env.CAIRN_GATEWAY_POLICY ?? '') === '' ? 'pinned' : env.CAIRN_GATEWAY_POLICY as GatewayPolicy
  if (!GATEWAY_POLICIES.includes(gatewayPolicy)) {
    throw new ConfigError(`CAIRN_GATEWAY_POLICY must be pinned, all or signed, got "${String(env.CAIRN_GATEWAY_POLICY)}"`)
  }
  const pinUpstreams = (env.CAIRN_PIN_UPSTREAMS ?? '').split(',').map(s => s.trim().replace(/\/+$/, '')).filter(Boolean)
  for (const u of pinUpstreams) {
    let ok = false
    try { ok = /^https?:$/.test(new URL(u).protocol) } catch {}
    if (!ok) throw new ConfigError(`CAIRN_PIN_UPSTREAMS must be comma-separated http(s) base URLs, got "${u}"`)
  }
  const pinDelegates = (env.CAIRN_PIN_DELEGATES ?? '').split(',').map(s => s.trim()).filter(Boolean)
  for (const d of pinDelegates) {
    if (!d.startsWith('/')) throw new ConfigError(`CAIRN_PIN_DELEGATES must be comma-separated multiaddrs (/dns4/host/tcp/443/https), got "${d}"`)
  }
  const signingKey = env.CAIRN_GATEWAY_SIGNING_KEY === '' ? undefined : env.CAIRN_GATEWAY_SIGNING_KEY
  if (signingKey !== undefined && signingKey.length < 32) throw new ConfigError('CAIRN_GATEWAY_SIGNING_KEY must be at least 32 characters')

  const clamdUrl = env.CAIRN_CLAMD_URL === '' ? undefined : env.CAIRN_CLAMD_URL
  if (clamdUrl !== undefined && !/^(tcp:\/\/[^/]+:\d+\/?|unix:.+)$/.test(clamdUrl)) {
    throw new ConfigError(`CAIRN_CLAMD_URL must be tcp://host:port or unix:/path/to/clamd.sock, got "${clamdUrl}"`)
  }
  let scanDenylist: string[] = []
  const denyFile = env.CAIRN_SCAN_DENYLIST_FILE
  if (denyFile !== undefined && denyFile !== '') {
    try { scanDenylist = readFileSync(denyFile, 'utf8').split(/\s+/) } catch (err) { throw new ConfigError(`CAIRN_SCAN_DENYLIST_FILE: ${(err as Error).message}`) }
  }
  scanDenylist = [...scanDenylist, ...(env.CAIRN_SCAN_DENYLIST ?? '').split(/[\s,]+/)].map(h => h.trim().toLowerCase()).filter(h => h.length > 0)
  const badHash = scanDenylist.find(h => !/^[0-9a-f]{64}$/.test(h))
  if (badHash !== undefined) throw new ConfigError(`scan denylist entries must be SHA-256 hex digests, got "${badHash}"`)

  return {
    host,
    port: int(env, 'CAIRN_PORT', 8080),
    cloud: cloudConfig(env),
    clamdUrl,
    scanDenylist,
    filesPort,
    filesOrigin: filesOriginOf(env.CAIRN_FILES_ORIGIN, host, filesPort),
    gatewayPolicy,
    gatewaySigningKey: signingKey,
    pins: {
      upstreams: pinUpstreams,
      timeoutSeconds: int(env, 'CAIRN_PIN_TIMEOUT_SECONDS', 600, 1),
      delegates: pinDelegates,
      originsAllowPrivate: bool(env, 'CAIRN_PIN_ORIGINS_ALLOW_PRIVATE', false)
    },
    dataDir: resolve(env.CAIRN_DATA_DIR ?? './data'),
    databaseUrl,
    redisUrl,
    redisPrefix: env.CAIRN_REDIS_PREFIX ?? 'cairn:',
    s3: s3Config(env),
    logLevel: env.CAIRN_LOG_LEVEL ?? 'info',
    plans,
    gcGraceSeconds: int(env, 'CAIRN_GC_GRACE_SECONDS', 3600),
    gcIntervalSeconds: int(env, 'CAIRN_GC_INTERVAL_SECONDS', 600),
    serveWorker: bool(env, 'CAIRN_SERVE_WORKER', true),
    leftoverAgeSeconds: int(env, 'CAIRN_LEFTOVER_AGE_SECONDS', 86400, 60),
    trustProxy: (env.CAIRN_TRUST_PROXY ?? '').split(',').map(s => s.trim()).filter(Boolean),
    thumbnailMaxSourceBytes: size(env, 'CAIRN_THUMBNAIL_MAX_SOURCE', 50 * 1024 * 1024),
    thumbnailSize: int(env, 'CAIRN_THUMBNAIL_SIZE', 256, 16),
    smtpUrl,
    mailFrom,
    jobConcurrency: int(env, 'CAIRN_JOB_CONCURRENCY', 2),
    jobLeaseSeconds: int(env, 'CAIRN_JOB_LEASE_SECONDS', 30, 1),
    jobRetentionDays: int(env, 'CAIRN_JOB_RETENTION_DAYS', 30),
    gateway: {
      maxFileBytes: size(env, 'CAIRN_GATEWAY_MAX_FILE_SIZE', 100 * 1024 * 1024),
      bulkDeleteSyncMax: int(env, 'CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX', 100),
      accountCallsPer10Min: int(env, 'CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN', 5),
      uploadsPerHour: int(env, 'CAIRN_GATEWAY_UPLOADS_PER_HOUR', 100),
      retrievalsPerHour: int(env, 'CAIRN_GATEWAY_RETRIEVALS_PER_HOUR', 500),
      callsPerHour: int(env, 'CAIRN_GATEWAY_CALLS_PER_HOUR', 200),
      sessionCallsPerHour: int(env, 'CAIRN_GATEWAY_SESSION_CALLS_PER_HOUR', 5000)
    },
    adminZelids: (env.CAIRN_ADMIN_ZELID ?? '').split(',').map(s => s.trim()).filter(Boolean),
    walletSignup: bool(env, 'CAIRN_WALLET_SIGNUP', true),
    fluxAllowPrivateUrls: bool(env, 'CAIRN_FLUX_ALLOW_PRIVATE_URLS', false),
    uploads: {
      sessionDefaultExpirySeconds: int(env, 'CAIRN_SESSION_DEFAULT_EXPIRY_SECONDS', 24 * 3600, 1),
      sessionMaxExpirySeconds: int(env, 'CAIRN_SESSION_MAX_EXPIRY_SECONDS', 30 * 24 * 3600, 1),
      sessionMaxTotalBytes: size(env, 'CAIRN_SESSION_MAX_TOTAL_SIZE', 10 * GiB),
      sessionMaxFiles: int(env, 'CAIRN_SESSION_MAX_FILES', 1000, 1),
      sessionMaxUsers: int(env, 'CAIRN_SESSION_MAX_USERS', 10, 1),
      sweepIntervalSeconds: int(env, 'CAIRN_SESSION_SWEEP_INTERVAL_SECONDS', 300),
      downloadUrlSeconds: int(env, 'CAIRN_DOWNLOAD_URL_SECONDS', 3600, 1),
      urlSigningSecret: env.CAIRN_URL_SIGNING_SECRET === '' ? undefined : env.CAIRN_URL_SIGNING_SECRET,
      publicUrl: publicUrl(env.CAIRN_PUBLIC_URL),
      tusExpirySeconds: int(env, 'CAIRN_TUS_EXPIRY_SECONDS', 24 * 3600, 1)
    }
  }
}

function cloudConfig (env: Env): CloudConfig {
  const prefix = ((env.CAIRN_CLOUD_PREFIX ?? '') === '' ? '/cloud/api/v1' : env.CAIRN_CLOUD_PREFIX as string).replace(/\/+$/, '')
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) throw new ConfigError(`CAIRN_CLOUD_PREFIX must be a path such as /cloud/api/v1, got "${prefix}"`)
  if (prefix === '/api/v1' || prefix === '/api/v0' || prefix.startsWith('/api/v1/') || prefix.startsWith('/api/v0/') || prefix.startsWith('/admin')) {
    throw new ConfigError(`CAIRN_CLOUD_PREFIX ${prefix} collides with another API; use CAIRN_CLOUD_HOST to serve FluidCloud at /api/v1 on its own host`)
  }
  const rawHost = (env.CAIRN_CLOUD_HOST ?? '').trim().toLowerCase()
  if (rawHost !== '' && !/^[a-z0-9.-]+(:\d+)?$/.test(rawHost)) throw new ConfigError(`CAIRN_CLOUD_HOST must be a host name such as api-cloud.example.com, got "${rawHost}"`)
  const linksLimit = { STARTER: 50, STANDARD: 100, ELITE: 500, PRO: -1 } as Record<PlanName, number>
  for (const name of PLAN_NAMES) {
    const raw = env[`CAIRN_PLAN_${name}_SHARE_LINKS`]
    if (raw === undefined || raw === '') continue
    const n = Number(raw)
    if (!Number.isInteger(n) || n < -1) throw new ConfigError(`CAIRN_PLAN_${name}_SHARE_LINKS must be an integer >= -1 (-1: unlimited), got "${raw}"`)
    linksLimit[name] = n
  }
  const signingKey = env.CAIRN_CLOUD_SIGNING_KEY === '' ? undefined : env.CAIRN_CLOUD_SIGNING_KEY
  if (signingKey !== undefined && signingKey.length < 32) throw new ConfigError('CAIRN_CLOUD_SIGNING_KEY must be at least 32 characters')
  const uploadUrlSeconds = int(env, 'CAIRN_CLOUD_UPLOAD_URL_SECONDS', 3600, 60)
  // S3 presigned URLs (SigV4) live at most 7 days
  if (uploadUrlSeconds > 7 * 86400) throw new ConfigError('CAIRN_CLOUD_UPLOAD_URL_SECONDS must be at most 604800 (7 days, the longest an S3 presigned URL lives)')
  const multipartThreshold = size(env, 'CAIRN_CLOUD_MULTIPART_THRESHOLD', 100 * 1024 * 1024)
  const multipartPartSize = size(env, 'CAIRN_CLOUD_MULTIPART_PART_SIZE', 64 * 1024 * 1024)
  if (multipartThreshold < 1) throw new ConfigError('CAIRN_CLOUD_MULTIPART_THRESHOLD must be at least 1 byte')
  if (multipartPartSize < 1 || multipartPartSize > 5 * 1024 * 1024 * 1024) throw new ConfigError('CAIRN_CLOUD_MULTIPART_PART_SIZE must be 1 byte to 5 GiB (with the S3 store, at least 5 MiB)')
  return {
    prefix,
    host: rawHost === '' ? undefined : rawHost,
    linksLimit,
    maxLinkDays: int(env, 'CAIRN_CLOUD_MAX_LINK_DAYS', 365, 1),
    uploadUrlSeconds,
    fileUrlSeconds: int(env, 'CAIRN_CLOUD_FILE_URL_SECONDS', 300, 1),
    multipartThreshold,
    multipartPartSize,
    directUploadMaxBytes: size(env, 'CAIRN_CLOUD_DIRECT_UPLOAD_MAX', 100 * 1024 * 1024),
    requestsPerMinute: int(env, 'CAIRN_CLOUD_REQUESTS_PER_MINUTE', 600),
    uploadsPerMinute: int(env, 'CAIRN_CLOUD_UPLOADS_PER_MINUTE', 300),
    sharesPerMinute: int(env, 'CAIRN_CLOUD_SHARES_PER_MINUTE', 120),
    importsPerMinute: int(env, 'CAIRN_CLOUD_IMPORTS_PER_MINUTE', 30),
    importAllowPrivate: bool(env, 'CAIRN_CLOUD_IMPORT_ALLOW_PRIVATE', false),
    signingKey
  }
}

/** CAIRN_FILES_ORIGIN as given (an http(s) URL, trailing slash dropped), else http://host:port. */
function filesOriginOf (raw: string | undefined, host: string, port: number): string {
  if (raw === undefined || raw === '') {
    const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    return `http://${h}:${port}`
  }
  let u: URL
  try { u = new URL(raw) } catch { throw new ConfigError(`CAIRN_FILES_ORIGIN must be an http(s) URL, got "${raw}"`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`CAIRN_FILES_ORIGIN must be an http(s) URL, got "${raw}"`)
  return raw.replace(/\/+$/, '')
}
