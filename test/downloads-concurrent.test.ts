/**
 * Large downloads going out at the same time, through FluxDrive's cat and the IPFS gateway:
 * span buffers are reused between responses once the socket has taken their bytes
 * (src/http/body-stream.ts, src/core/content/span-pool.ts), so what each client receives
 * must stay exact when downloads overlap, read slowly, stop early, or ask for ranges.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { get } from 'node:http'
import { startServer, type TestServer } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { deterministicBytes } from './helpers/data.js'

const MiB = 1024 * 1024
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** the whole body, read `step` bytes at a time with a pause between reads when `slow` */
async function drain (res: Response, slow = false): Promise<string> {
  const h = createHash('sha256')
  const reader = res.body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    h.update(value)
    if (slow) await new Promise(resolve => setTimeout(resolve, 2))
  }
  return h.digest('hex')
}

describe('concurrent large downloads', () => {
  let s: TestServer
  let auth: string
  const files: Array<{ cid: string, data: Buffer }> = []

  before(async () => {
    s = await startServer()
    auth = (await s.account({ plan: 'PRO' })).auth
    // dag-pb leaves (CIDv0) and raw leaves (CIDv1): both go out of span buffers
    for (const [i, q] of ['', '?cid-version=1', '', '?cid-version=1'].entries()) {
      const data = deterministicBytes(20 * MiB + 12345 * i, `download-${i}`)
      const body = await json(await post(`${s.url}/api/v0/put${q}`, auth, form([{ name: `f${i}.bin`, data }])))
      files.push({ cid: body.files[0].hash, data })
    }
  })
  after(async () => { await s.close() })

  test('overlapping whole, ranged, slow and abandoned downloads each get exactly their bytes', async () => {
    const cat = async (cid: string, headers: Record<string, string> = {}): Promise<Response> =>
      await post(`${s.url}/api/v0/cat?arg=${cid}`, auth, undefined, headers)
    const gw = async (cid: string, headers: Record<string, string> = {}): Promise<Response> =>
      await fetch(`${s.filesUrl}/ipfs/${cid}`, { headers })

    // two clients that hang up after a few MiB (closing the connection, as a closed tab does)
    const abandon = async (f: typeof files[number]): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        const req = get(`${s.filesUrl}/ipfs/${f.cid}`, res => {
          let got = 0
          res.on('data', (c: Buffer) => {
            got += c.byteLength
            if (got >= 5 * MiB) { req.destroy(); resolve() }
          })
          res.on('end', () => { reject(new Error('the whole file arrived before the client hung up')) })
        })
        req.on('error', err => { if (!req.destroyed) reject(err) })
      })
    }
    const [a, b, c, d] = files
    const results = await Promise.all([
      cat(a.cid).then(async r => await drain(r)),
      gw(b.cid).then(async r => await drain(r, true)),
      cat(c.cid, { range: `bytes=${3 * MiB + 7}-${15 * MiB}` }).then(async r => { assert.equal(r.status, 206); return await drain(r) }),
      gw(d.cid).then(async r => await drain(r)),
      gw(a.cid, { range: `bytes=${MiB}-` }).then(async r => { assert.equal(r.status, 206); return await drain(r, true) }),
      abandon(c),
      abandon(d),
      cat(b.cid).then(async r => await drain(r))
    ])
    assert.equal(results[0], sha(a.data))
    assert.equal(results[1], sha(b.data))
    assert.equal(results[2], sha(c.data.subarray(3 * MiB + 7, 15 * MiB + 1)))
    assert.equal(results[3], sha(d.data))
    assert.equal(results[4], sha(a.data.subarray(MiB)))
    assert.equal(results[7], sha(b.data))

    // and afterwards, with buffers handed back by all of the above
    const again = await Promise.all(files.map(async f => await drain(await gw(f.cid))))
    assert.deepEqual(again, files.map(f => sha(f.data)))
  })

  test('a file read whole into the answer (a tar of it) is exact while other downloads run', async () => {
    const [a, b] = files
    const [tar, whole] = await Promise.all([
      post(`${s.url}/api/v0/get?arg=${a.cid}&archive=true`, auth).then(async r => Buffer.from(await r.arrayBuffer())),
      fetch(`${s.filesUrl}/ipfs/${b.cid}`).then(async r => await drain(r))
    ])
    assert.equal(whole, sha(b.data))
    // the tar holds the file's bytes right after its 512-byte header
    assert.equal(sha(tar.subarray(512, 512 + a.data.byteLength)), sha(a.data))
  })
})
