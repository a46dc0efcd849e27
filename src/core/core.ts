/**
 * The core, assembled from configuration: ports opened once and the domain services built
 * on them. Dialects receive this object and call into it; they never touch a store.
 */
import { join } from 'node:path'
import type { Config } from '../config.js'
import { FsBlobStore } from '../adapters/blob/fs-blob-store.js'
import { S3BlobStore } from '../adapters/blob/s3-blob-store.js'
import { openMetadataStore, type MetadataStore } from '../adapters/metadata/open.js'
import { MemoryRateLimiter } from '../adapters/memory-rate-limiter.js'
import { RedisRateLimiter } from '../adapters/redis-rate-limiter.js'
import { Accounts } from './accounts.js'
import { ContentStore } from './content/content-store.js'
import { Drive } from './drive.js'
import { Reads } from './reads.js'
import { collectGarbage, sweepLeftovers, type GcReport, type LeftoverReport } from './gc.js'
import { fsck, type FsckReport } from './fsck.js'
import { checkHealth, type HealthReport } from './health.js'
import type { BlobStore } from './ports/blob-store.js'
import type { RateLimiter } from './ports/rate-limiter.js'

export interface CoreEvents {
  bytesIn: (n: number) => void
  gc: (r: GcReport) => void
  /** a database connection failed outside any request (the pool replaces it) */
  dbError: (err: Error) => void
}

export interface Core {
  config: Config
  metadata: MetadataStore
  blobs: BlobStore
  content: ContentStore
  accounts: Accounts
  drive: Drive
  reads: Reads
  rateLimiter: RateLimiter
  gc: () => Promise<GcReport>
  fsck: () => Promise<FsckReport>
  /** each dependency answers, or why not */
  health: () => Promise<HealthReport>
  /** at start-up of the only server of a data dir: drop what a crash left half-written */
  recoverLeftovers: () => Promise<LeftoverReport>
  /** drop what uploads that never committed left behind, once older than `minAgeMs` */
  sweepLeftovers: (minAgeMs: number) => Promise<LeftoverReport>
  close: () => Promise<void>
}

/** The blob store the configuration names: an S3 bucket (checked reachable) or the data dir. */
export async function openBlobStore (config: Pick<Config, 's3' | 'dataDir'>): Promise<BlobStore> {
  if (config.s3 === undefined) return await new FsBlobStore(join(config.dataDir, 'blobs')).init()
  const store = new S3BlobStore({ ...config.s3 })
  try {
    await store.checkReachable()
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}

/** Where packs live, for banners and logs (no credentials). */
export function describeBlobStore (config: Pick<Config, 's3' | 'dataDir'>): string {
  if (config.s3 === undefined) return `files under ${join(config.dataDir, 'blobs')}`
  return `S3 bucket ${config.s3.bucket} at ${config.s3.endpoint ?? `AWS ${config.s3.region}`}${config.s3.forcePathStyle ? ' (path-style)' : ''}`
}

export async function openCore (config: Config, events: Partial<CoreEvents> = {}): Promise<Core> {
  const metadata = await openMetadataStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, onError: events.dbError })
  let blobs: BlobStore
  try {
    blobs = await openBlobStore(config)
  } catch (err) {
    await metadata.close()
    throw err
  }
  const content = new ContentStore(metadata.db, blobs)
  const accounts = new Accounts(metadata.db, config)
  const drive = new Drive(metadata.db, content, {
    thumbnailMaxSourceBytes: config.thumbnailMaxSourceBytes,
    thumbnailSize: config.thumbnailSize,
    onBytesIn: events.bytesIn
  })
  const rateLimiter: RateLimiter = config.redisUrl !== undefined ? new RedisRateLimiter(config.redisUrl) : new MemoryRateLimiter()
  return {
    config,
    metadata,
    blobs,
    content,
    accounts,
    drive,
    reads: new Reads(drive, content),
    rateLimiter,
    gc: async () => {
      const r = await collectGarbage({ db: metadata.db, blobs, content }, config.gcGraceSeconds * 1000)
      events.gc?.(r)
      return r
    },
    fsck: async () => await fsck({ db: metadata.db, blobs }),
    health: async () => await checkHealth({
      metadata: { kind: metadata.dialect, check: async () => { await metadata.db.selectFrom('meta').select('key').limit(1).execute() } },
      blobs: { kind: config.s3 === undefined ? 'filesystem' : 's3', check: async () => { await blobs.ping?.() } },
      rateLimits: { kind: config.redisUrl !== undefined ? 'redis' : 'in-process', check: async () => { await rateLimiter.ping?.() } }
    }),
    recoverLeftovers: async () => await sweepLeftovers({ db: metadata.db, blobs }, config.s3 === undefined ? 0 : config.leftoverAgeSeconds * 1000),
    sweepLeftovers: async (minAgeMs: number) => await sweepLeftovers({ db: metadata.db, blobs }, minAgeMs),
    close: async () => {
      await rateLimiter.close()
      await content.close()
      await blobs.close()
      await metadata.close()
    }
  }
}
