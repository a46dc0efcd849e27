/**
 * `cairn migrate-store`: move this deployment (CAIRN_DATA_DIR, CAIRN_DATABASE_URL,
 * CAIRN_S3_* as configured) to a PostgreSQL database and/or an S3 bucket given as options.
 * See src/core/migrate-store.ts for what it guarantees.
 */
import type { Command } from 'commander'
import { ConfigError, s3Config, type Config } from '../config.js'
import { openMetadataStore, type MetadataStore } from '../adapters/metadata/open.js'
import { describeBlobStore, openBlobStore } from '../core/core.js'
import { migrateStore, type MigrateReport } from '../core/migrate-store.js'
import type { BlobStore } from '../core/ports/blob-store.js'

interface Options {
  toDatabaseUrl?: string
  toS3Bucket?: string
  toS3Endpoint?: string
  toS3Region?: string
  toS3AccessKeyId?: string
  toS3SecretAccessKey?: string
  toS3ForcePathStyle?: string
  json?: boolean
}

export function migrateStoreCommand (cli: Command, config: () => Config): void {
  cli.command('migrate-store')
    .description('copy this deployment\'s metadata to PostgreSQL and/or its packs to an S3 bucket, then verify every CID from the target; safe to re-run. Stop the server first.')
    .option('--to-database-url <url>', 'target PostgreSQL database (postgres://...), empty or filled by an earlier run')
    .option('--to-s3-bucket <name>', 'target bucket (must exist)')
    .option('--to-s3-endpoint <url>', 'target S3 endpoint (unset: AWS S3)')
    .option('--to-s3-region <region>', 'target region', 'us-east-1')
    .option('--to-s3-access-key-id <id>', 'target access key id')
    .option('--to-s3-secret-access-key <secret>', 'target secret access key')
    .option('--to-s3-force-path-style [bool]', 'path-style addressing (MinIO, Swift, Ceph)')
    .option('--json', 'print JSON')
    .action(async (o: Options) => {
      const c = config()
      const toS3 = s3Config({
        CAIRN_S3_BUCKET: o.toS3Bucket,
        CAIRN_S3_ENDPOINT: o.toS3Endpoint,
        CAIRN_S3_REGION: o.toS3Region,
        CAIRN_S3_ACCESS_KEY_ID: o.toS3AccessKeyId,
        CAIRN_S3_SECRET_ACCESS_KEY: o.toS3SecretAccessKey,
        CAIRN_S3_FORCE_PATH_STYLE: o.toS3ForcePathStyle === undefined ? undefined : (o.toS3ForcePathStyle as unknown === true ? 'true' : o.toS3ForcePathStyle)
      })
      const toDb = o.toDatabaseUrl === '' ? undefined : o.toDatabaseUrl
      if (toDb === undefined && toS3 === undefined) throw new ConfigError('give --to-database-url, --to-s3-bucket, or both')
      if (toDb !== undefined && !/^postgres(ql)?:\/\//.test(toDb)) throw new ConfigError('--to-database-url must be a postgres:// URL')
      if (toDb !== undefined && toDb === c.databaseUrl) throw new ConfigError('--to-database-url is the database this deployment already uses')
      if (toS3 !== undefined && c.s3 !== undefined && toS3.bucket === c.s3.bucket && toS3.endpoint === c.s3.endpoint) throw new ConfigError('--to-s3-bucket is the bucket this deployment already uses')

      const log = (line: string): void => { process.stderr.write(line + '\n') }
      const opened: Array<{ close: () => Promise<void> }> = []
      let report: MigrateReport
      try {
        const srcMeta = await openMetadataStore({ dataDir: c.dataDir, databaseUrl: c.databaseUrl })
        opened.push(srcMeta)
        const srcBlobs = await openBlobStore(c)
        opened.push(srcBlobs)
        let dstMeta: MetadataStore | undefined
        let dstBlobs: BlobStore | undefined
        if (toDb !== undefined) { dstMeta = await openMetadataStore({ dataDir: c.dataDir, databaseUrl: toDb }); opened.push(dstMeta) }
        if (toS3 !== undefined) { dstBlobs = await openBlobStore({ s3: toS3, dataDir: c.dataDir }); opened.push(dstBlobs) }
        log(`from: ${srcMeta.dialect} metadata, packs in ${describeBlobStore(c)}`)
        log(`to:   ${dstMeta === undefined ? 'the same metadata' : 'PostgreSQL metadata'}, packs in ${toS3 === undefined ? 'the same place' : describeBlobStore({ s3: toS3, dataDir: c.dataDir })}`)
        report = await migrateStore({ metadata: srcMeta, blobs: srcBlobs }, { metadata: dstMeta, blobs: dstBlobs }, log)
      } finally {
        for (const s of opened.reverse()) await s.close().catch(() => {})
      }
      const r = report
      process.stdout.write((o.json === true
        ? JSON.stringify(r, null, 2)
        : [
            ...Object.entries(r.tables).map(([t, n]) => `table ${t}: ${n} rows copied`),
            `packs: ${r.packsCopied} copied (${r.bytesCopied} bytes), ${r.packsSkipped} already in the target`,
            `verified from the target: ${r.verified.packs} packs, ${r.verified.blocks} blocks re-hashed, ${r.verified.roots} root CIDs resolved`,
            ...r.problems.map(p => `PROBLEM ${p.problem} ${p.cid ?? ''} ${'pack' in p && p.pack !== undefined ? `pack ${p.pack}` : ''} ${p.detail ?? ''}`.replace(/ +/g, ' ').trim()),
            r.problems.length === 0 ? 'OK: every CID reads back from the target' : `${r.problems.length} problem(s): fix them and run migrate-store again`
          ].join('\n')) + '\n')
      if (r.problems.length > 0) process.exitCode = 1
    })
}
