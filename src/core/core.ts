/**
 * The core, assembled from configuration: ports opened once and the domain services built
 * on them. Dialects receive this object and call into it; they never touch a store.
 */
import { join } from 'node:path'
import type { Config } from '../config.js'
import { FsBlobStore } from '../adapters/blob/fs-blob-store.js'
import { openMetadataStore, type MetadataStore } from '../adapters/metadata/open.js'
import { MemoryRateLimiter } from '../adapters/memory-rate-limiter.js'
import { Accounts } from './accounts.js'
import { ContentStore } from './content/content-store.js'
import { Drive } from './drive.js'
import { Reads } from './reads.js'
import { collectGarbage, sweepLeftovers, type GcReport } from './gc.js'
import { fsck, type FsckReport } from './fsck.js'
import type { BlobStore } from './ports/blob-store.js'
import type { RateLimiter } from './ports/rate-limiter.js'
import { FsPartStore } from '../adapters/parts/fs-part-store.js'
import { UploadSessions } from './upload-sessions.js'
import { Buckets } from './buckets.js'
import { UrlSigner } from './signed-urls.js'

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
  /** upload sessions and their buckets (/buckets) */
  sessions: UploadSessions
  buckets: Buckets
  urlSigner: UrlSigner
  gc: () => Promise<GcReport>
  fsck: () => Promise<FsckReport>
  /** at start-up of the only server of a data dir: drop what a crash left half-written */
  recoverLeftovers: () => Promise<{ orphanPacksDeleted: number, incompleteSwept: number, bytesFreed: number }>
  close: () => Promise<void>
}

export async function openCore (config: Config, events: Partial<CoreEvents> = {}): Promise<Core> {
  const metadata = await openMetadataStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, onError: events.dbError })
  const blobs = await new FsBlobStore(join(config.dataDir, 'blobs')).init()
  const content = new ContentStore(metadata.db, blobs)
  const accounts = new Accounts(metadata.db, config)
  const drive = new Drive(metadata.db, content, {
    thumbnailMaxSourceBytes: config.thumbnailMaxSourceBytes,
    thumbnailSize: config.thumbnailSize,
    onBytesIn: events.bytesIn
  })
  const rateLimiter = new MemoryRateLimiter()
  const sessions = new UploadSessions(metadata.db, accounts, config.uploads)
  const parts = await new FsPartStore(join(config.dataDir, 'buckets')).init()
  const buckets = new Buckets({ db: metadata.db, drive, parts, sessions }) // bytes are counted in once, when a file is assembled
  return {
    config,
    metadata,
    blobs,
    content,
    accounts,
    drive,
    reads: new Reads(drive, content),
    rateLimiter,
    sessions,
    buckets,
    urlSigner: new UrlSigner(metadata.db, config.uploads.urlSigningSecret),
    gc: async () => {
      const r = await collectGarbage({ db: metadata.db, blobs, content }, config.gcGraceSeconds * 1000)
      events.gc?.(r)
      return r
    },
    fsck: async () => await fsck({ db: metadata.db, blobs }),
    recoverLeftovers: async () => {
      await buckets.recover()
      return await sweepLeftovers({ db: metadata.db, blobs }, 0)
    },
    close: async () => {
      buckets.close()
      await rateLimiter.close()
      await content.close()
      await blobs.close()
      await metadata.close()
    }
  }
}
