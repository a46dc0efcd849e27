/** `cairn jobs`: the operator sees dead jobs and can run them again or cancel waiting ones. */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DbJobQueue } from '../src/adapters/jobs/db-job-queue.js'
import { openMetadataStore } from '../src/adapters/metadata/open.js'
import { cli } from './helpers/process.js'
import { until } from './ports/job-queue-suite.js'

describe('cairn jobs', () => {
  let dataDir: string
  after(async () => { await rm(dataDir, { recursive: true, force: true }) })

  test('list --state FAILURE shows dead jobs; retry queues one again; cancel revokes a waiting one', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-jobs-cli-'))
    const store = await openMetadataStore({ dataDir })
    const q = new DbJobQueue(store.db, { pollMs: 20 })
    q.handle('t.broken', async () => { throw new Error('the mail server said no') })
    const dead = await q.enqueue('t.broken', { n: 1 }, { maxAttempts: 1 })
    const waiting = await q.enqueue('t.nobody-runs-this', null)
    q.start()
    await until(q, dead.id, j => j.state === 'FAILURE')
    await q.stop()
    await store.close()

    const listed = cli(dataDir, ['jobs', 'list', '--state', 'failure', '--json'])
    assert.equal(listed.status, 0, listed.stderr)
    const jobs = JSON.parse(listed.stdout)
    assert.deepEqual(jobs.map((j: any) => [j.id, j.state, j.error]), [[dead.id, 'FAILURE', 'the mail server said no']])
    const text = cli(dataDir, ['jobs', 'list', '--state', 'FAILURE'])
    assert.match(text.stdout, new RegExp(`${dead.id}\\s+FAILURE\\s+t\\.broken\\s+attempts 1/1 .*the mail server said no`))

    const retried = cli(dataDir, ['jobs', 'retry', dead.id, '--json'])
    assert.equal(retried.status, 0, retried.stderr)
    assert.equal(JSON.parse(retried.stdout).state, 'PENDING')
    const again = cli(dataDir, ['jobs', 'retry', dead.id])
    assert.equal(again.status, 2)
    assert.match(again.stderr, /is PENDING: nothing to retry/)

    const cancelled = cli(dataDir, ['jobs', 'cancel', waiting.id, '--json'])
    assert.equal(JSON.parse(cancelled.stdout).state, 'REVOKED')
    assert.equal(cli(dataDir, ['jobs', 'cancel', '00000000-0000-4000-8000-000000000000']).status, 2)
  })
})
