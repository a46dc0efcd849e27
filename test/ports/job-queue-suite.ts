/**
 * The job queue port's behaviour suite: every adapter runs it (the embedded queue on SQLite
 * and on PostgreSQL here; a Redis one would too). `open` gives a fresh store and a factory
 * of queues on it (several queues on one store are several workers, as several processes).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PermanentJobError, type Job, type JobQueue } from '../../src/core/ports/job-queue.js'

export interface QueueHarness {
  queue: (opts?: { leaseMs?: number, concurrency?: number }) => JobQueue
  /** leave a job as a worker that died mid-run leaves it: STARTED, lease lapsed */
  simulateCrashedClaim: (id: string, attempts: number) => Promise<void>
  /** an account id jobs may belong to */
  account: () => Promise<string>
  close: () => Promise<void>
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export async function until (q: JobQueue, id: string, done: (j: Job) => boolean, what = 'job'): Promise<Job> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const j = await q.get(id)
    if (j !== undefined && done(j)) return j
    if (Date.now() > deadline) throw new Error(`${what} did not get there: ${JSON.stringify(j)}`)
    await sleep(20)
  }
}

const settled = (j: Job): boolean => ['SUCCESS', 'FAILURE', 'REVOKED'].includes(j.state)

export function jobQueueSuite (name: string, open: () => Promise<QueueHarness | undefined>): void {
  describe(`job queue behaviour: ${name}`, () => {
    let h: QueueHarness
    const started: JobQueue[] = []
    const worker = (opts?: { leaseMs?: number, concurrency?: number }): JobQueue => {
      const q = h.queue(opts)
      started.push(q)
      return q
    }
    before(async () => {
      const opened = await open()
      if (opened === undefined) throw new Error('no store')
      h = opened
    })
    after(async () => {
      for (const q of started) await q.stop()
      await h.close()
    })

    test('enqueue stores a PENDING job; a worker runs it to SUCCESS with its result and times', async () => {
      const q = worker()
      q.handle('t.add', async (p: { a: number, b: number }) => ({ sum: p.a + p.b }))
      const job = await q.enqueue('t.add', { a: 2, b: 3 })
      assert.equal(job.state, 'PENDING')
      assert.deepEqual((await q.get(job.id))?.payload, { a: 2, b: 3 })
      q.start()
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.deepEqual(done.result, { sum: 5 })
      assert.equal(done.attempts, 1)
      assert.ok(done.startedAt !== null && done.completedAt !== null && done.completedAt >= done.startedAt && done.startedAt >= done.createdAt)
    })

    test('a failing handler is retried with backoff and may then succeed', async () => {
      const q = worker()
      let calls = 0
      q.handle('t.flaky', async () => {
        calls++
        if (calls < 3) throw new Error(`boom ${calls}`)
        return 'ok'
      })
      q.start()
      const job = await q.enqueue('t.flaky', null, { maxAttempts: 3, backoffMs: 150 })
      const between = await until(q, job.id, j => j.attempts >= 1 && j.state === 'PENDING' && j.error !== null, 'a retry in waiting')
      assert.match(between.error ?? '', /^boom [12]$/)
      assert.ok(between.runAfter > between.createdAt, 'the retry waits')
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.equal(done.attempts, 3)
      assert.equal(done.result, 'ok')
      assert.equal(done.error, null)
    })

    test('a job that fails every attempt is dead: FAILURE, listed, and can be retried', async () => {
      const q = worker()
      let fail = true
      q.handle('t.dead', async () => { if (fail) throw new Error('always'); return 'revived' })
      q.start()
      const job = await q.enqueue('t.dead', { n: 1 }, { maxAttempts: 2, backoffMs: 10 })
      const dead = await until(q, job.id, settled)
      assert.equal(dead.state, 'FAILURE')
      assert.equal(dead.attempts, 2)
      assert.equal(dead.error, 'always')
      assert.ok(dead.completedAt !== null)
      assert.ok((await q.list({ state: 'FAILURE' })).some(j => j.id === job.id))
      fail = false
      const again = await q.retry(job.id)
      assert.equal(again?.state, 'PENDING')
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.equal(done.result, 'revived')
      assert.equal(await q.retry(job.id), undefined, 'a successful job is not retried')
    })

    test('a PermanentJobError fails the job at once', async () => {
      const q = worker()
      q.handle('t.permanent', async () => { throw new PermanentJobError('no point trying again') })
      q.start()
      const job = await q.enqueue('t.permanent', null, { maxAttempts: 5, backoffMs: 10 })
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'FAILURE')
      assert.equal(done.attempts, 1)
      assert.equal(done.error, 'no point trying again')
    })

    test('cancel of a PENDING job revokes it and it never runs', async () => {
      const q = worker()
      const ran: string[] = []
      q.handle('t.later', async (p: string) => { ran.push(p) })
      const job = await q.enqueue('t.later', 'revoked')
      const revoked = await q.cancel(job.id)
      assert.equal(revoked?.state, 'REVOKED')
      assert.ok(revoked?.completedAt !== null)
      assert.equal((await q.cancel(job.id))?.state, 'REVOKED', 'cancelling again changes nothing')
      // a job due after it runs: had the revoked one been claimable, it would have run first
      const sentinel = await q.enqueue('t.later', 'sentinel')
      q.start()
      await until(q, sentinel.id, settled)
      assert.deepEqual(ran, ['sentinel'])
      assert.equal((await q.get(job.id))?.state, 'REVOKED')
      // retry brings a revoked job back
      await q.retry(job.id)
      assert.equal((await until(q, job.id, settled)).state, 'SUCCESS')
      assert.deepEqual(ran, ['sentinel', 'revoked'])
    })

    test('cancel of a STARTED job revokes it, aborts the handler and drops its result', async () => {
      const q = worker()
      let aborted = false
      q.handle('t.long', async (_p, { signal }) => {
        await new Promise<void>(resolve => { signal.addEventListener('abort', () => { aborted = true; resolve() }) })
        return 'too late'
      })
      q.start()
      const job = await q.enqueue('t.long', null)
      await until(q, job.id, j => j.state === 'STARTED')
      assert.equal((await q.cancel(job.id))?.state, 'REVOKED')
      while (!aborted) await sleep(10)
      await sleep(50)
      const after = await q.get(job.id)
      assert.equal(after?.state, 'REVOKED')
      assert.equal(after?.result, null)
    })

    test('jobs of an account are invisible to another account', async () => {
      const q = worker()
      const a = await h.account()
      const b = await h.account()
      const job = await q.enqueue('t.nobody-handles-this', null, { accountId: a })
      assert.equal((await q.get(job.id, { accountId: a }))?.id, job.id)
      assert.equal(await q.get(job.id, { accountId: b }), undefined)
      assert.equal(await q.cancel(job.id, { accountId: b }), undefined)
      assert.equal((await q.get(job.id))?.state, 'PENDING')
      assert.equal(await q.get('not-a-uuid'), undefined)
      assert.deepEqual((await q.list({ accountId: b })).map(j => j.id), [])
    })

    test('a worker claims only kinds it has handlers for', async () => {
      const q = worker()
      q.handle('t.mine', async () => 'mine')
      q.start()
      const other = await q.enqueue('t.someone-else', null)
      const mine = await q.enqueue('t.mine', null)
      await until(q, mine.id, settled)
      assert.equal((await q.get(other.id))?.state, 'PENDING')
    })

    test('a job whose worker died is claimed again once its lease lapsed (a new attempt)', async () => {
      const producer = worker()
      const job = await producer.enqueue('t.crash', { x: 1 }, { maxAttempts: 3 })
      await h.simulateCrashedClaim(job.id, 1)
      assert.equal((await producer.get(job.id))?.state, 'STARTED')
      const q = worker()
      q.handle('t.crash', async (p: { x: number }) => p.x + 1)
      q.start()
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.equal(done.result, 2)
      assert.equal(done.attempts, 2)
    })

    test('a job whose worker died on its last attempt is dead', async () => {
      const producer = worker()
      const job = await producer.enqueue('t.crash-last', null, { maxAttempts: 1 })
      await h.simulateCrashedClaim(job.id, 1)
      const q = worker()
      q.handle('t.crash-last', async () => 'should not run')
      q.start()
      const done = await until(q, job.id, settled)
      assert.equal(done.state, 'FAILURE')
      assert.match(done.error ?? '', /stopped/)
    })

    test('a live worker keeps its lease: another worker does not run the job twice', async () => {
      let runs = 0
      let release!: () => void
      const gate = new Promise<void>(resolve => { release = resolve })
      // a lease of 1 s, renewed every third of it: a second worker looks for four lease lengths
      const a = worker({ leaseMs: 1000 })
      const b = worker({ leaseMs: 1000 })
      for (const q of [a, b]) q.handle('t.slow', async () => { runs++; await gate; return runs })
      a.start()
      const job = await a.enqueue('t.slow', null)
      await until(a, job.id, j => j.state === 'STARTED')
      b.start()
      await sleep(4000) // renewals must have kept it all along
      release()
      const done = await until(a, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.equal(runs, 1)
      assert.equal(done.attempts, 1)
    })

    test('two workers on one store run each job exactly once', async () => {
      const counts = new Map<number, number>()
      const a = worker({ concurrency: 3 })
      const b = worker({ concurrency: 3 })
      for (const q of [a, b]) q.handle('t.count', async (p: { n: number }) => { counts.set(p.n, (counts.get(p.n) ?? 0) + 1); await sleep(5); return p.n })
      const jobs = await Promise.all(Array.from({ length: 24 }, async (_, n) => await a.enqueue('t.count', { n })))
      a.start(); b.start()
      for (const j of jobs) assert.equal((await until(a, j.id, settled)).state, 'SUCCESS')
      assert.equal(counts.size, 24)
      assert.ok([...counts.values()].every(c => c === 1), `each ran once: ${JSON.stringify([...counts])}`)
    })

    test('stop hands a running job back without using up an attempt; another worker finishes it', async () => {
      const a = worker()
      a.handle('t.interrupted', async (_p, { signal }) => {
        await new Promise<void>((resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }) })
      })
      a.start()
      const job = await a.enqueue('t.interrupted', null, { maxAttempts: 1 })
      await until(a, job.id, j => j.state === 'STARTED')
      await a.stop()
      const back = await a.get(job.id)
      assert.equal(back?.state, 'PENDING')
      assert.equal(back?.attempts, 0)
      const b = worker()
      b.handle('t.interrupted', async () => 'finished')
      b.start()
      const done = await until(b, job.id, settled)
      assert.equal(done.state, 'SUCCESS')
      assert.equal(done.result, 'finished')
    })
  })
}
