/**
 * Long file operations as jobs (the gateway's tasks): a bulk delete over the threshold and
 * a background pin. Handlers are idempotent, as the job queue requires: a re-run after a
 * crash deletes what is left and counts what was already gone as not found.
 */
import { parseCid } from './content/cids.js'
import { FILES_SPACE, type Drive } from './drive.js'
import { CairnError } from './errors.js'
import { PermanentJobError, type JobQueue } from './ports/job-queue.js'

export const DELETE_BULK_JOB = 'files.delete_bulk'
export const PIN_JOB = 'files.pin'

export interface DeleteBulkPayload { accountId: string, cids: string[] }
export interface PinPayload { accountId: string, cid: string, pinned: boolean }

export function registerFileTasks (jobs: Pick<JobQueue, 'handle'>, drive: Drive): void {
  jobs.handle(DELETE_BULK_JOB, async (p: DeleteBulkPayload, { signal }) => {
    return await drive.removeMany(p.accountId, FILES_SPACE, p.cids, signal)
  })
  jobs.handle(PIN_JOB, async (p: PinPayload) => {
    try {
      const entries = await drive.setPinned(p.accountId, FILES_SPACE, parseCid(p.cid), p.pinned)
      return { cid: p.cid, pinned: p.pinned, changed: true, entries: entries.length }
    } catch (err) {
      // already as asked (a re-run after a crash, or a second request): done
      if (err instanceof CairnError && err.code === 'conflict') return { cid: p.cid, pinned: p.pinned, changed: false }
      // a state the request cannot change by running again: not worth a retry
      if (err instanceof CairnError && err.code !== 'unavailable') throw new PermanentJobError(err.message)
      throw err
    }
  })
}
