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
import { Gateway } from './gateway.js'
import { collectGarbage, sweepLeftovers, type GcReport, type LeftoverReport } from './gc.js'
import { WalletAuth } from './wallet-auth.js'
import { SpaceTree } from './space-tree.js'
import { AppVolumes } from './app-volumes.js'
import { Fluxshare } from './fluxshare.js'
import { fsck, type FsckReport } from './fsck.js'
import { checkHealth, type HealthReport } from './health.js'
import type { BlobStore } from './ports/blob-store.js'
import type { RateLimiter } from './ports/rate-limiter.js'
import { LegacyPartFiles } from '../adapters/parts/legacy-part-files.js'
import { UploadSessions } from './upload-sessions.js'
import { Buckets } from './buckets.js'
import { TusSegments } from './tus-segments.js'
import { UrlSigner } from './signed-urls.js'
import type { Job, JobQueue } from './ports/job-queue.js'
import type { MailMessage, MailReceipt, Mailer } from './ports/mailer.js'
import { DbJobStore } from '../adapters/jobs/db-job-queue.js'
import { LeasedJobQueue } from '../adapters/jobs/leased-queue.js'
import { RedisJobStore } from '../adapters/jobs/redis-job-queue.js'
import { OutboxMailer } from '../adapters/mail/outbox-mailer.js'
import { SmtpMailer } from '../adapters/mail/smtp-mailer.js'
import { ShareLinks } from './share-links.js'
import { RENEWAL_CODE_JOB, SelfService, type RenewalCodeJob } from './self-service.js'
import { registerFileTasks } from './file-tasks.js'
import { Pins } from './pins.js'
import { TrustlessFetcher } from '../adapters/trustless-fetcher.js'
import { EMPTY_TRASH_JOB, FluidCloud, SCAN_JOB } from './cloud/cloud.js'
import { CloudTenants } from './cloud/tenants.js'
import { cloudSigningKey, FilesOriginStaging, S3Staging } from './cloud/staging.js'
import { FileUrlSigner } from './cloud/file-urls.js'
import { openPublicUrl } from '../adapters/public-url-source.js'
import type { Scanner } from './ports/scanner.js'
import { BuiltinScanner } from '../adapters/scan/builtin-scanner.js'
import { ClamdScanner } from '../adapters/scan/clamd-scanner.js'

/** send one message (payload: MailMessage) */
export const MAIL_JOB = 'mail.send'

export interface CoreEvents {
  bytesIn: (n: number) => void
  gc: (r: GcReport) => void
  /** a database connection failed outside any request (the pool replaces it) */
  dbError: (err: Error) => void
  /** a message went out (the log says where: a file in the outbox, or the SMTP server) */
  mailSent: (to: string, receipt: MailReceipt) => void
  /** a job's handler failed (it is retried or, on its last attempt, dead) */
  jobFailed: (err: unknown, job?: Job) => void
}

export interface Core {
  config: Config
  metadata: MetadataStore
  blobs: BlobStore
  content: ContentStore
  accounts: Accounts
  drive: Drive
  reads: Reads
  /** the IPFS gateway's policy, path resolution and CAR answers */
  gateway: Gateway
  /** wallet (ZelID) login phrases and sessions */
  wallet: WalletAuth
  /** spaces as path-addressed file trees (Fluxshare, app volumes) */
  tree: SpaceTree
  appVolumes: AppVolumes
  fluxshare: Fluxshare
  /** the Pinning Service API's pins (and their background fetches) */
  pins: Pins
  rateLimiter: RateLimiter
  /** upload sessions and their buckets (/buckets) */
  sessions: UploadSessions
  buckets: Buckets
  /** tus uploads' bytes, as segments (the tus dialect's writer cuts them) */
  tusSegments: TusSegments
  urlSigner: UrlSigner
  /** durable jobs (in Redis with CAIRN_REDIS_URL, else in the metadata store); the worker duties start them */
  jobs: JobQueue
  mailer: Mailer
  selfService: SelfService
  /** share links of an account's files, opened on the files origin (/share/<token>) */
  shareLinks: ShareLinks
  /** the FluidCloud partner API's domain (spaces, folders, files, shares, quota) */
  cloud: FluidCloud
  /** FluidCloud tenants and their fck_ keys (made by the operator CLI) */
  cloudTenants: CloudTenants
  /** what scans FluidCloud uploads: clamd when CAIRN_CLAMD_URL is set, else the built-in scanner */
  scanner: Scanner
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
  const accounts = new Accounts(metadata.db, config, metadata.changedElsewhere)
  const drive = new Drive(metadata.db, content, {
    thumbnailMaxSourceBytes: config.thumbnailMaxSourceBytes,
    thumbnailSize: config.thumbnailSize,
    onBytesIn: events.bytesIn
  })
  const rateLimiter: RateLimiter = config.redisUrl !== undefined ? new RedisRateLimiter(config.redisUrl, `${config.redisPrefix}rl:`) : new MemoryRateLimiter()
  // jobs live in Redis when there is one (every node's worker shares them), else in the metadata store
  const redisJobs = config.redisUrl !== undefined ? new RedisJobStore(config.redisUrl, `${config.redisPrefix}jobs:`) : undefined
  const jobs: JobQueue = new LeasedJobQueue(redisJobs ?? new DbJobStore(metadata.db), {
    leaseMs: config.jobLeaseSeconds * 1000,
    concurrency: Math.max(1, config.jobConcurrency),
    onError: (err, job) => { events.jobFailed?.(err, job) }
  })
  const mailer: Mailer = config.smtpUrl !== undefined
    ? new SmtpMailer(config.smtpUrl, config.mailFrom)
    : new OutboxMailer(join(config.dataDir, 'outbox'), config.mailFrom)
  const selfService = new SelfService(metadata.db, config, jobs, mailer, accounts)
  // any message (the mail port's job); the payload is the whole message
  jobs.handle(MAIL_JOB, async (msg: MailMessage) => {
    const receipt = await mailer.send(msg)
    events.mailSent?.(msg.to, receipt)
    return { to: msg.to, messageId: receipt.messageId, where: receipt.where }
  })
  // a key-renewal code: made when it is sent, so the jobs table never holds one
  jobs.handle(RENEWAL_CODE_JOB, async (job: RenewalCodeJob) => {
    const receipt = await selfService.sendRenewalCode(job)
    events.mailSent?.(job.to, receipt)
    return { to: job.to, messageId: receipt.messageId, where: receipt.where }
  })
  registerFileTasks(jobs, drive)
  const tree = new SpaceTree(metadata.db, content, drive)
  const sessions = new UploadSessions(metadata.db, accounts, config.uploads)
  const tusSegments = new TusSegments({ db: metadata.db, dialect: metadata.dialect, drive, content })
  const buckets = new Buckets({ db: metadata.db, drive, content, legacyParts: new LegacyPartFiles(join(config.dataDir, 'buckets')), sessions, onBytesIn: events.bytesIn })
  const gateway = new Gateway(metadata.db, content, { policy: config.gatewayPolicy, signingKey: config.gatewaySigningKey, filesOrigin: config.filesOrigin })
  const pins = new Pins({
    db: metadata.db,
    drive,
    content,
    gateway,
    accounts,
    jobs,
    fetcher: new TrustlessFetcher({ allowPrivate: config.pins.originsAllowPrivate }),
    config: config.pins
  })
  const scanner: Scanner = config.clamdUrl !== undefined ? new ClamdScanner(config.clamdUrl) : new BuiltinScanner(config.scanDenylist)
  const cloudKey = cloudSigningKey(metadata.db, config.cloud.signingKey)
  const staging = blobs.presigner !== undefined
    ? new S3Staging(blobs.presigner)
    : new FilesOriginStaging(config.dataDir, config.filesOrigin, cloudKey)
  const cloud = new FluidCloud(metadata.db, drive, content, jobs, staging, scanner, config, new FileUrlSigner(cloudKey, config.filesOrigin),
    async (url, signal) => await openPublicUrl(url, { allowPrivate: config.cloud.importAllowPrivate, signal }))
  const cloudTenants = new CloudTenants(metadata.db, accounts)
  jobs.handle(SCAN_JOB, async (p: { accountId: string, fileId: string }, ctx) => {
    return await cloud.runScan(p, { last: ctx.job.attempts >= ctx.job.maxAttempts, signal: ctx.signal })
  })
  jobs.handle(EMPTY_TRASH_JOB, async (p: { accountId: string, spaceId?: string }) => {
    return await cloud.emptyTrash(await accounts.get(p.accountId), p.spaceId)
  })
  return {
    config,
    metadata,
    blobs,
    content,
    accounts,
    drive,
    reads: new Reads(drive, content),
    gateway,
    pins,
    wallet: new WalletAuth(metadata.db, accounts, config),
    tree,
    appVolumes: new AppVolumes(metadata.db, accounts, content, tree),
    fluxshare: new Fluxshare(metadata.db),
    rateLimiter,
    sessions,
    buckets,
    tusSegments,
    urlSigner: new UrlSigner(metadata.db, config.uploads.urlSigningSecret),
    jobs,
    mailer,
    selfService,
    shareLinks: new ShareLinks(metadata.db, config.filesOrigin),
    cloud,
    cloudTenants,
    scanner,
    gc: async () => {
      // staged bytes of FluidCloud uploads that expired without completing go first
      await cloud.sweepExpiredUploads().catch(() => 0)
      const r = await collectGarbage({ db: metadata.db, blobs, content }, config.gcGraceSeconds * 1000)
      events.gc?.(r)
      return r
    },
    fsck: async () => await fsck({ db: metadata.db, blobs }),
    health: async () => await checkHealth({
      metadata: { kind: metadata.dialect, check: async () => { await metadata.db.selectFrom('meta').select('key').limit(1).execute() } },
      blobs: { kind: config.s3 === undefined ? 'filesystem' : 's3', check: async () => { await blobs.ping?.() } },
      rateLimits: { kind: config.redisUrl !== undefined ? 'redis' : 'in-process', check: async () => { await rateLimiter.ping?.() } },
      jobs: { kind: redisJobs !== undefined ? 'redis' : metadata.dialect, check: async () => { await redisJobs?.ping() } },
      scanner: { kind: scanner.name, check: async () => { await scanner.ping?.() } }
    }),
    recoverLeftovers: async () => {
      await buckets.recover()
      return await sweepLeftovers({ db: metadata.db, blobs }, config.s3 === undefined ? 0 : config.leftoverAgeSeconds * 1000)
    },
    sweepLeftovers: async (minAgeMs: number) => await sweepLeftovers({ db: metadata.db, blobs }, minAgeMs),
    close: async () => {
      await jobs.stop()
      await redisJobs?.close()
      await mailer.close()
      await rateLimiter.close()
      await content.close()
      await blobs.close()
      await metadata.close()
    }
  }
}
