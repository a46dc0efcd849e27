/**
 * Byte limits enforced while a stream flows: the per-file limit and the account's remaining
 * capacity. The stream fails as soon as a limit is crossed, so nothing more is read or stored.
 */
import { CairnError } from './errors.js'

export interface ByteBudget {
  /** bytes still allowed across the whole request (capacity left) */
  remaining: number
  maxFileBytes: number
  /** total bytes seen so far across the request */
  seen: number
}

export function fileTooLarge (maxFileBytes: number): CairnError {
  return new CairnError('file_too_large', `File size exceeds ${Math.floor(maxFileBytes / 1024 / 1024)}Mb`, { maxFileBytes })
}

export function capacityExceeded (): CairnError {
  return new CairnError('quota_exceeded', 'Storage capacity exceeded')
}

export async function * metered (source: AsyncIterable<Uint8Array>, budget: ByteBudget, onBytes?: (n: number) => void): AsyncIterable<Uint8Array> {
  let fileBytes = 0
  for await (const chunk of source) {
    fileBytes += chunk.byteLength
    budget.seen += chunk.byteLength
    if (fileBytes > budget.maxFileBytes) throw fileTooLarge(budget.maxFileBytes)
    if (budget.seen > budget.remaining) throw capacityExceeded()
    onBytes?.(chunk.byteLength)
    yield chunk
  }
}
