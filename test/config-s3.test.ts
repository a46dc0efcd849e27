/** The CAIRN_S3_* settings: parsed and checked once, with errors that say what to fix. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.js'

test('no CAIRN_S3_BUCKET: packs stay in the data dir', () => {
  assert.equal(loadConfig({ CAIRN_DATA_DIR: '/tmp/x' }).s3, undefined)
  assert.equal(loadConfig({ CAIRN_DATA_DIR: '/tmp/x', CAIRN_S3_BUCKET: '' }).s3, undefined)
})

test('a bucket with its endpoint, region, keys and path-style', () => {
  const c = loadConfig({
    CAIRN_S3_BUCKET: 'cairn-packs',
    CAIRN_S3_ENDPOINT: 'http://127.0.0.1:9000',
    CAIRN_S3_REGION: 'eu-central-1',
    CAIRN_S3_ACCESS_KEY_ID: 'AKIA',
    CAIRN_S3_SECRET_ACCESS_KEY: 'secret',
    CAIRN_S3_FORCE_PATH_STYLE: 'true'
  })
  assert.deepEqual(c.s3, { bucket: 'cairn-packs', endpoint: 'http://127.0.0.1:9000', region: 'eu-central-1', accessKeyId: 'AKIA', secretAccessKey: 'secret', forcePathStyle: true })
  const aws = loadConfig({ CAIRN_S3_BUCKET: 'cairn-packs' })
  assert.deepEqual(aws.s3, { bucket: 'cairn-packs', endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false })
})

test('S3 settings that cannot work are refused at start-up', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ CAIRN_S3_ENDPOINT: 'http://127.0.0.1:9000' }, /CAIRN_S3_BUCKET is not/],
    [{ CAIRN_S3_BUCKET: 'Bad_Bucket' }, /not a valid bucket name/],
    [{ CAIRN_S3_BUCKET: 'b-1', CAIRN_S3_ENDPOINT: '127.0.0.1:9000' }, /http:\/\/ or https:\/\//],
    [{ CAIRN_S3_BUCKET: 'b-1', CAIRN_S3_ACCESS_KEY_ID: 'AKIA' }, /both/],
    [{ CAIRN_S3_BUCKET: 'b-1', CAIRN_S3_FORCE_PATH_STYLE: 'maybe' }, /true or false/]
  ]
  for (const [env, msg] of bad) assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && msg.test(err.message), JSON.stringify(env))
})
