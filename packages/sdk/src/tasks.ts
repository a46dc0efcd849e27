/** Tasks of the Gateway API: long operations (bulk delete, async pin) polled until final. */
import { CairnApiError } from './errors.js'
import { sleep, type Transport } from './http.js'

export type TaskState = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'REVOKED'
export interface Task {
  task_id: string
  type: string
  state: TaskState
  result: any
  error: string | null
  attempts: number
  created_at: string
  started_at: string | null
  completed_at: string | null
}
const FINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED'])

export class TasksClient {
  constructor (private readonly t: Transport) {}

  async get (id: string, o: { signal?: AbortSignal } = {}): Promise<Task> {
    return (await this.t.json('GET', `/api/v1/tasks/${encodeURIComponent(id)}/status`, { signal: o.signal })).data
  }

  /** poll until SUCCESS (answers the task); FAILURE or REVOKED throw a CairnApiError carrying the task */
  async wait (id: string, o: { signal?: AbortSignal, intervalMs?: number, timeoutMs?: number } = {}): Promise<Task> {
    const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs
    let interval = o.intervalMs ?? 250
    for (;;) {
      const task = await this.get(id, { signal: o.signal })
      if (task.state === 'SUCCESS') return task
      if (FINAL.has(task.state)) throw new CairnApiError(200, `task_${task.state.toLowerCase()}`, task.error ?? `task ${task.state}`, task)
      if (Date.now() + interval > deadline) throw new CairnApiError(0, 'timeout', `task ${id} is still ${task.state}`, task)
      await sleep(interval, o.signal)
      if (o.intervalMs === undefined) interval = Math.min(interval * 1.5, 5000)
    }
  }

  async failed (o: { signal?: AbortSignal } = {}): Promise<Task[]> { return (await this.t.json('GET', '/api/v1/tasks/failed', { signal: o.signal })).data }
  async revoke (id: string, o: { signal?: AbortSignal } = {}): Promise<void> { await this.t.json('POST', `/api/v1/tasks/${encodeURIComponent(id)}/revoke`, { signal: o.signal }) }
  async retry (id: string, o: { signal?: AbortSignal } = {}): Promise<void> { await this.t.json('POST', `/api/v1/tasks/${encodeURIComponent(id)}/retry`, { signal: o.signal }) }
}
