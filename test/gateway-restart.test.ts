/**
 * Tasks and mail are durable: jobs queued by a server that is killed (SIGKILL) run after
 * it starts again. `cairn serve` as a real process on a real data dir.
 */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kill9, serveProcess, type ServerProcess } from './helpers/process.js'
import { json } from './helpers/http.js'
import { call, codeIn, eventually, outbox, register, settledTask, upload } from './helpers/gateway.js'

describe('gateway tasks across a server restart', () => {
  let dataDir: string
  const running: ServerProcess[] = []
  after(async () => {
    for (const p of running) await kill9(p)
    await rm(dataDir, { recursive: true, force: true })
  })

  test('a task queued before a kill -9 is still there after the restart, and runs to SUCCESS; so does the renewal mail', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-gw-restart-'))
    const env = { CAIRN_GATEWAY_BULK_DELETE_SYNC_MAX: '1', CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0', CAIRN_LOG_LEVEL: 'info' }
    // first life: no worker, so the jobs are certainly still waiting when it dies
    const first = await serveProcess(dataDir, { ...env, CAIRN_JOB_CONCURRENCY: '0' })
    running.push(first)
    const u = await register(first.url)
    const cids: string[] = []
    for (const name of ['a.txt', 'b.txt']) cids.push((await json(await call(first.url, 'POST', '/files/upload', { key: u.key, body: upload(name, `content of ${name}`) }))).data.cid)
    const started = await call(first.url, 'POST', '/files/delete/bulk', { key: u.key, json: { cids } })
    assert.equal(started.status, 202)
    const taskId = (await json(started)).data.task_id
    const before = (await json(await call(first.url, 'GET', `/tasks/${taskId}/status`, { key: u.key }))).data
    assert.equal(before.state, 'PENDING')
    assert.equal(before.completed_at, null)
    assert.equal((await call(first.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })).status, 200)
    assert.equal((await outbox(dataDir)).length, 0)
    await kill9(first)

    const second = await serveProcess(dataDir, env)
    running.push(second)
    const done = await settledTask(second.url, u.key, taskId)
    assert.equal(done.state, 'SUCCESS')
    assert.deepEqual(done.result, { deleted: 2, failed: [] })
    assert.equal(done.created_at, before.created_at)
    assert.ok(done.completed_at !== null)
    assert.equal((await json(await call(second.url, 'GET', '/files', { key: u.key }))).meta.total, 0)

    // the mail went out after the restart, into the outbox (no CAIRN_SMTP_URL), and the log says where
    const [mail] = await eventually('the renewal mail', async () => { const m = await outbox(dataDir); return m.length > 0 ? m : undefined })
    const code = codeIn(mail)
    const logged = await eventually('the log line', async () => /mail to \S+ written to (\S+\.eml)/.exec(second.stdout()) ?? undefined)
    assert.ok(logged[1].startsWith(join(dataDir, 'outbox')), logged[1])
    const renewed = await call(second.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: code } })
    assert.equal(renewed.status, 200)
  })
})
