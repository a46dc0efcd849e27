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

export interface Config {
  host: string
  port: number
  dataDir: string
  /** postgres://... to use PostgreSQL; unset for the embedded SQLite file */
  databaseUrl: string | undefined
  logLevel: string
  plans: Record<PlanName, PlanConfig>
  /** how long unreferenced content is kept before the collector frees it */
  gcGraceSeconds: number
  /** how often the server runs the collector; 0 disables the timer */
  gcIntervalSeconds: number
  /** trust X-Forwarded-For from these proxies (Fastify trustProxy); empty for none */
  trustProxy: string[]
  /** largest image (bytes) for which a thumbnail is made at upload */
  thumbnailMaxSourceBytes: number
  /** edge length (px) of the thumbnail box */
  thumbnailSize: number
  /** upload sessions (/buckets) and tus */
  uploads: UploadsConfig
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

  return {
    host: env.CAIRN_HOST ?? '127.0.0.1',
    port: int(env, 'CAIRN_PORT', 8080),
    dataDir: resolve(env.CAIRN_DATA_DIR ?? './data'),
    databaseUrl,
    logLevel: env.CAIRN_LOG_LEVEL ?? 'info',
    plans,
    gcGraceSeconds: int(env, 'CAIRN_GC_GRACE_SECONDS', 3600),
    gcIntervalSeconds: int(env, 'CAIRN_GC_INTERVAL_SECONDS', 600),
    trustProxy: (env.CAIRN_TRUST_PROXY ?? '').split(',').map(s => s.trim()).filter(Boolean),
    thumbnailMaxSourceBytes: size(env, 'CAIRN_THUMBNAIL_MAX_SOURCE', 50 * 1024 * 1024),
    thumbnailSize: int(env, 'CAIRN_THUMBNAIL_SIZE', 256, 16),
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
