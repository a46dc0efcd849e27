/**
 * The S3 side of the benchmark: an S3-compatible server given by the same variables the
 * tests read (CAIRN_TEST_S3_ENDPOINT, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY; Swift's
 * s3api on loopback, started by .ci/services/30-swift.sh), a bucket made for this run and
 * removed with everything in it at the end, and the CPU time of the Swift processes.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, S3Client
} from '@aws-sdk/client-s3'
import { cpuSeconds } from './procs.js'

export interface S3Bench {
  env: Record<string, string>
  bucket: string
  drop: () => Promise<void>
}

export function s3Settings (): { endpoint: string, region: string, accessKeyId: string, secretAccessKey: string } | undefined {
  const e = process.env
  if (e.BENCH_S3 === '0' || e.CAIRN_TEST_S3_ENDPOINT === undefined || e.CAIRN_TEST_S3_ENDPOINT === '') return undefined
  return {
    endpoint: e.CAIRN_TEST_S3_ENDPOINT,
    region: e.CAIRN_TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: e.CAIRN_TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
    secretAccessKey: e.CAIRN_TEST_S3_SECRET_ACCESS_KEY ?? 'testing'
  }
}

/** A new bucket and the CAIRN_S3_* variables of a server that keeps its packs there. */
export async function s3Bucket (s: NonNullable<ReturnType<typeof s3Settings>>): Promise<S3Bench> {
  const client = new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const bucket = `cairn-bench-${randomBytes(4).toString('hex')}`
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  let dropped = false
  return {
    bucket,
    env: {
      CAIRN_S3_ENDPOINT: s.endpoint,
      CAIRN_S3_REGION: s.region,
      CAIRN_S3_BUCKET: bucket,
      CAIRN_S3_ACCESS_KEY_ID: s.accessKeyId,
      CAIRN_S3_SECRET_ACCESS_KEY: s.secretAccessKey,
      CAIRN_S3_FORCE_PATH_STYLE: 'true'
    },
    drop: async () => {
      if (dropped) return
      dropped = true
      try {
        const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
        for (const u of ups.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }))
        let token: string | undefined
        do {
          const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
          for (const o of r.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }))
          token = r.IsTruncated === true ? r.NextContinuationToken : undefined
        } while (token !== undefined)
        await client.send(new DeleteBucketCommand({ Bucket: bucket }))
      } finally {
        client.destroy()
      }
    }
  }
}

/** CPU seconds used so far by every Swift server process and memcached (read from /proc). */
export function swiftCpuSeconds (): number {
  let total = 0
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      if (/swift-(proxy|object|container|account)-server|memcached/.test(cmd)) total += cpuSeconds(Number(name)) || 0
    } catch {}
  }
  return total
}
