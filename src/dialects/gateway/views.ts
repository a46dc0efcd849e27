/** How the gateway renders core objects: CIDv1, ISO 8601 times without milliseconds, snake_case. */
import { cidV1String } from '../../core/content/cids.js'
import type { Entry } from '../../core/drive.js'
import type { Job } from '../../core/ports/job-queue.js'

export function iso (ms: number): string
export function iso (ms: number | null): string | null
export function iso (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function fileView (e: Entry): Record<string, unknown> {
  return {
    cid: cidV1String(e.cid ?? ''),
    original_filename: e.name,
    size: e.size,
    content_type: e.kind === 'directory' ? 'inode/directory' : (e.mimetype ?? 'application/octet-stream'),
    pinned: e.pinned,
    uploaded_at: iso(e.createdAt)
  }
}

export function taskView (j: Job): Record<string, unknown> {
  return {
    task_id: j.id,
    type: j.kind,
    state: j.state,
    result: j.state === 'SUCCESS' ? j.result : null,
    error: j.state === 'SUCCESS' ? null : j.error,
    attempts: j.attempts,
    created_at: iso(j.createdAt),
    started_at: iso(j.startedAt),
    completed_at: iso(j.completedAt)
  }
}
