/**
 * A large tus upload with the official tus-js-client, interrupted twice (the client drops,
 * then the server process is killed with SIGKILL and started again on the same data dir),
 * resumes where it was and yields the same CID as a one-shot /api/v0/put of the same bytes.
 * 64 MiB keeps the suite quick; the 1 GiB run is in the bench.
 */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cli, kill9, serveProcess, type ServerProcess } from './helpers/process.js'
import { deterministicBytes } from './helpers/data.js'
import { fakeZelid } from './helpers/server.js'
import { form, json, post } from './helpers/http.js'
import { tusUpload } from './helpers/tus.js'

const MiB = 1024 * 1024
const SIZE = 64 * MiB

async function offsetOf (url: string, key: string): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', 'x-api-key': key } })
  assert.equal(res.status, 200)
  return Number(res.headers.get('upload-offset'))
}

function onOrigin (url: string, origin: string): string {
  const u = new URL(url)
  const o = new URL(origin)
  u.protocol = o.protocol
  u.host = o.host
  return u.toString()
}

describe('tus: resume after a client drop and a server kill', () => {
  const servers: ServerProcess[] = []
  let dataDir: string | undefined
  after(async () => {
    for (const p of servers) await kill9(p)
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })

  test('a 64 MiB upload interrupted twice resumes and gives the one-shot put\'s CID', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-tus-resume-'))
    const zelid = fakeZelid()
    const made = cli(dataDir, ['account', 'create', '--zelid', zelid, '--plan', 'PRO', '--json'])
    assert.equal(made.status, 0, made.stderr)
    const key = JSON.parse(made.stdout).api_key as string
    const auth = 'Basic ' + Buffer.from(`${zelid}:${key}`).toString('base64')
    const data = deterministicBytes(SIZE, 'tus-resume')

    const first = await serveProcess(dataDir)
    servers.push(first)
    const headers = { 'x-api-key': key }
    const metadata = { filename: 'resumed.bin' }
    const chunkSize = 8 * MiB

    // 1. the client drops (abort) once a quarter is sent
    let url = ''
    await new Promise<void>((resolve, reject) => {
      const run = tusUpload(data, {
        endpoint: `${first.url}/files/tus`,
        headers,
        metadata,
        chunkSize,
        onProgress: sent => {
          if (sent >= SIZE / 4 && url === '') {
            url = run.upload.url ?? ''
            run.upload.abort().then(resolve, reject)
          }
        }
      })
      run.done.then(() => { reject(new Error('finished before it was interrupted')) }, reject)
    })
    assert.ok(url !== '')
    const afterDrop = await offsetOf(url, key)
    assert.ok(afterDrop > 0 && afterDrop < SIZE, `kept ${afterDrop} bytes`)

    // 2. resume; the server is killed (SIGKILL) once half is sent
    let killed: Promise<void> | undefined
    const second = tusUpload(data, {
      uploadUrl: url,
      headers,
      metadata,
      chunkSize,
      onProgress: sent => { if (sent >= SIZE / 2 && killed === undefined) killed = kill9(first) }
    })
    await assert.rejects(second.done, 'the upload fails when the server dies')
    await killed

    // 3. the server starts again on the same data dir (another port): resume there and finish
    const restarted = await serveProcess(dataDir)
    servers.push(restarted)
    url = onOrigin(url, restarted.url)
    const afterKill = await offsetOf(url, key)
    assert.ok(afterKill >= afterDrop && afterKill < SIZE, `resumes at ${afterKill}, not from the start`)
    const { cid } = await tusUpload(data, { uploadUrl: url, headers, metadata, chunkSize }).done
    assert.ok(cid !== undefined && cid.startsWith('Qm'), `CID header: ${String(cid)}`)

    // the same bytes in one shot through FluxDrive: the same CID
    const put = await json(await post(`${restarted.url}/api/v0/put`, auth, form([{ name: 'oneshot.bin', data }])))
    assert.equal(put.files[0].hash, cid)
    const ls = await json(await post(`${restarted.url}/api/v0/ls`, auth))
    assert.ok(ls.files.some((f: any) => f.hash === cid && f.name === 'resumed.bin' && f.size === SIZE))
    const id = new URL(url).pathname.split('/').pop() ?? ''
    assert.deepEqual((await readdir(join(dataDir, 'tus'))).filter(n => n === id), [], 'the temporary file is removed')
  })
})
