/**
 * Step 6: small-file puts per second with two API nodes against one, on one PostgreSQL and
 * one blob directory (the shared stores a deployment of many nodes uses; the blob directory
 * stands in for S3 here so that the figure is about the nodes, not the object store). The
 * same total count and the same total client concurrency both times; the two-node run splits
 * them between the nodes, as a balancer would.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { createAccount, serverEnv, startCairn, type CairnServer } from './cairn.js'
import { load, multipartHead, multipartTail, type LoadResult } from './client.js'
import { prngBytes } from './data.js'

export interface NodesFigures { one: LoadResult, two: { done: number, seconds: number, perSecond: number, failed: number } }

export async function nodesStep (opts: { root: string, adminUrl: string, count: number, concurrency: number, bytes: number, maxMs: number }): Promise<NodesFigures> {
  const admin = new pg.Client({ connectionString: opts.adminUrl })
  await admin.connect()
  const name = `cairn_bench_${randomBytes(6).toString('hex')}`
  await admin.query(`CREATE DATABASE "${name}"`)
  const url = new URL(opts.adminUrl)
  url.pathname = `/${name}`
  const servers: CairnServer[] = []
  try {
    const env = serverEnv(join(opts.root, 'nodes'), {
      CAIRN_DATABASE_URL: url.toString(),
      CAIRN_SERVE_WORKER: 'false',
      CAIRN_PUT_PER_SECOND: '1000000',
      CAIRN_READ_PER_SECOND: '1000000'
    })
    const creds = await createAccount(env, '0x' + 'c4'.repeat(20), 'PRO')
    servers.push(await startCairn(env), await startCairn(env))
    const boundary = '----cairnbenchnodes'
    const head = multipartHead(boundary, 'small.bin')
    const tail = multipartTail(boundary)
    const putTo = (base: string, count: number, concurrency: number, tag: string): Promise<LoadResult> => load(base, {
      count,
      concurrency,
      maxMs: opts.maxMs,
      make: i => ({
        method: 'POST',
        path: '/api/v0/put',
        headers: { authorization: creds.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: Buffer.concat([head, prngBytes(opts.bytes, `${tag}-${i}`), tail])
      })
    })
    const one = await putTo(servers[0].url, opts.count, opts.concurrency, 'one')
    const half = Math.max(1, Math.floor(opts.concurrency / 2))
    const [a, b] = await Promise.all([
      putTo(servers[0].url, Math.floor(opts.count / 2), half, 'two-a'),
      putTo(servers[1].url, Math.ceil(opts.count / 2), opts.concurrency - half, 'two-b')
    ])
    const seconds = Math.max(a.seconds, b.seconds)
    const done = a.done + b.done
    return { one, two: { done, seconds, perSecond: done / seconds, failed: a.failed + b.failed } }
  } finally {
    for (const s of servers) await s.stop()
    await admin.query(`DROP DATABASE IF EXISTS "${name}"`).catch(() => {})
    await admin.end()
  }
}
