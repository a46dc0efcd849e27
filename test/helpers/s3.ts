/**
 * A real S3-compatible server for tests (OpenStack Swift's s3api, started by
 * .ci/services/30-swift.sh): its settings from CAIRN_TEST_S3_*, and a fresh bucket per use.
 */
import { randomBytes } from 'node:crypto'
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, S3Client
} from '@aws-sdk/client-s3'
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/adapters/blob/s3-blob-store.js'
import { serviceOrSkip } from './services.js'

export interface S3TestEnv {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

/** The server's settings, or undefined (and a skipped/failed test registered) when it is not there. */
export function s3TestEnv (): S3TestEnv | undefined {
  const endpoint = serviceOrSkip('CAIRN_TEST_S3_ENDPOINT', 'S3 (Swift s3api)')
  if (endpoint === undefined) return undefined
  return {
    endpoint,
    region: process.env.CAIRN_TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: process.env.CAIRN_TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
    secretAccessKey: process.env.CAIRN_TEST_S3_SECRET_ACCESS_KEY ?? 'testing'
  }
}

export function adminClient (env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
}

export function storeOptions (env: S3TestEnv, bucket: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return { ...env, bucket, forcePathStyle: true, ...extra }
}

/** The CAIRN_S3_* variables a Cairn process needs to use `bucket`. */
export function s3ProcessEnv (env: S3TestEnv, bucket: string): Record<string, string> {
  return {
    CAIRN_S3_ENDPOINT: env.endpoint,
    CAIRN_S3_REGION: env.region,
    CAIRN_S3_BUCKET: bucket,
    CAIRN_S3_ACCESS_KEY_ID: env.accessKeyId,
    CAIRN_S3_SECRET_ACCESS_KEY: env.secretAccessKey,
    CAIRN_S3_FORCE_PATH_STYLE: 'true'
  }
}

/** Make a new, empty bucket; `drop` empties and removes it. */
export async function freshBucket (env: S3TestEnv): Promise<{ bucket: string, drop: () => Promise<void> }> {
  const client = adminClient(env)
  const bucket = `cairn-t-${randomBytes(6).toString('hex')}`
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  return {
    bucket,
    drop: async () => {
      try {
        await emptyBucket(client, bucket)
        await client.send(new DeleteBucketCommand({ Bucket: bucket }))
      } finally {
        client.destroy()
      }
    }
  }
}

async function emptyBucket (client: S3Client, bucket: string): Promise<void> {
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  for (const u of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => {})
  }
  let token: string | undefined
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const o of r.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }))
    token = r.IsTruncated === true ? r.NextContinuationToken : undefined
  } while (token !== undefined)
}

export async function openTestStore (env: S3TestEnv, bucket: string, extra: Partial<S3BlobStoreOptions> = {}): Promise<S3BlobStore> {
  const store = new S3BlobStore(storeOptions(env, bucket, extra))
  await store.checkReachable()
  return store
}
