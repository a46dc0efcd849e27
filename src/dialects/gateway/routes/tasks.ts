import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CairnError } from '../../../core/errors.js'
import { DELETE_BULK_JOB, PIN_JOB } from '../../../core/file-tasks.js'
import type { Job } from '../../../core/ports/job-queue.js'
import { principalOf } from '../auth.js'
import type { GatewayDeps } from '../context.js'
import { taskView } from '../views.js'
import { authErrors, errorBody, taskParam, taskRecord } from './schemas.js'

/** the job kinds this API shows as tasks (an account's mail jobs are not its tasks) */
const TASK_KINDS = new Set([DELETE_BULK_JOB, PIN_JOB])

const one = { type: 'object', properties: { status: { type: 'integer' }, message: { type: 'string' }, data: taskRecord } } as const

export function taskRoutes (app: FastifyInstance, { core }: GatewayDeps): void {
  const taskOf = async (req: FastifyRequest): Promise<Job> => {
    const { account } = principalOf(req)
    const job = await core.jobs.get((req.params as { task_id: string }).task_id, { accountId: account.id })
    // another account's task, or no such task: the same 404
    if (job === undefined || !TASK_KINDS.has(job.kind)) throw new CairnError('not_found', 'Task not found')
    return job
  }

  const status = async (req: FastifyRequest): Promise<unknown> => ({ status: 200, data: taskView(await taskOf(req)) })
  const statusSchema = {
    summary: 'A task\'s state (PENDING, STARTED, SUCCESS, FAILURE or REVOKED), result, created_at and completed_at',
    params: taskParam,
    response: { 200: one, 404: errorBody, ...authErrors }
  }
  app.get('/tasks/:task_id/status', { config: { rate: 'call' }, schema: statusSchema }, status)
  // the service's code polls uploads here; any task id works
  app.get('/files/upload/status/:task_id', { config: { rate: 'call' }, schema: { ...statusSchema, summary: 'Same as /tasks/{task_id}/status' } }, status)

  app.get('/tasks/failed', {
    config: { rate: 'call' },
    schema: {
      summary: 'The account\'s dead tasks (FAILURE after their last attempt), newest first',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } } },
      response: { 200: { type: 'object', properties: { status: { type: 'integer' }, data: { type: 'array', items: taskRecord } } }, ...authErrors }
    }
  }, async req => {
    const { account } = principalOf(req)
    const jobs = await core.jobs.list({ accountId: account.id, state: 'FAILURE', limit: (req.query as { limit: number }).limit })
    return { status: 200, data: jobs.filter(j => TASK_KINDS.has(j.kind)).map(taskView) }
  })

  app.post('/tasks/:task_id/revoke', {
    config: { rate: 'call' },
    schema: {
      summary: 'Cancel a task that has not finished (REVOKED); a running one stops, what it did stays done. 409 when it already finished',
      params: taskParam,
      response: { 200: one, 404: errorBody, 409: errorBody, ...authErrors }
    }
  }, async req => {
    const job = await taskOf(req)
    const after = await core.jobs.cancel(job.id, { accountId: job.accountId ?? undefined })
    if (after === undefined) throw new CairnError('not_found', 'Task not found')
    if (after.state !== 'REVOKED' || job.state === 'REVOKED') throw new CairnError('conflict', `Task already finished (${after.state})`)
    return { status: 200, message: 'Task revoked', data: taskView(after) }
  })

  app.post('/tasks/:task_id/retry', {
    config: { rate: 'call' },
    schema: {
      summary: 'Run a FAILURE or REVOKED task again from its first attempt. 409 for other states',
      params: taskParam,
      response: { 200: one, 404: errorBody, 409: errorBody, ...authErrors }
    }
  }, async req => {
    const job = await taskOf(req)
    const again = await core.jobs.retry(job.id, { accountId: job.accountId ?? undefined })
    if (again === undefined) throw new CairnError('conflict', `Only a FAILURE or REVOKED task can be retried (this one is ${job.state})`)
    return { status: 200, message: 'Task queued again', data: taskView(again) }
  })
}
