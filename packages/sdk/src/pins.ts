/** The IPFS Pinning Service API (/pins, Bearer key). */
import { sleep, type Transport } from './http.js'

export type PinState = 'queued' | 'pinning' | 'pinned' | 'failed'
export interface Pin { cid: string, name?: string, origins?: string[], meta?: Record<string, string> }
export interface PinStatus { requestid: string, status: PinState, created: string, pin: Pin, delegates: string[], info?: Record<string, string> }
export interface PinListOptions {
  cid?: string[]
  name?: string
  match?: 'exact' | 'iexact' | 'partial' | 'ipartial'
  status?: PinState[]
  before?: string
  after?: string
  limit?: number
  meta?: Record<string, string>
  signal?: AbortSignal
}

export class PinsClient {
  constructor (private readonly t: Transport) {}
  async add (pin: Pin, o: { signal?: AbortSignal } = {}): Promise<PinStatus> {
    return await this.t.json('POST', '/pins', { auth: 'bearer', json: pin, signal: o.signal })
  }
  async get (requestId: string, o: { signal?: AbortSignal } = {}): Promise<PinStatus> {
    return await this.t.json('GET', `/pins/${encodeURIComponent(requestId)}`, { auth: 'bearer', signal: o.signal })
  }
  /** note the spec: with no filter at all, only `pinned` pins are listed */
  async list (o: PinListOptions = {}): Promise<{ count: number, results: PinStatus[] }> {
    return await this.t.json('GET', '/pins', {
      auth: 'bearer',
      signal: o.signal,
      query: { cid: o.cid?.join(','), name: o.name, match: o.match, status: o.status?.join(','), before: o.before, after: o.after, limit: o.limit, meta: o.meta === undefined ? undefined : JSON.stringify(o.meta) }
    })
  }
  async replace (requestId: string, pin: Pin, o: { signal?: AbortSignal } = {}): Promise<PinStatus> {
    return await this.t.json('POST', `/pins/${encodeURIComponent(requestId)}`, { auth: 'bearer', json: pin, signal: o.signal })
  }
  async delete (requestId: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.t.json('DELETE', `/pins/${encodeURIComponent(requestId)}`, { auth: 'bearer', signal: o.signal })
  }
  /** poll until the pin is pinned or failed */
  async wait (requestId: string, o: { signal?: AbortSignal, intervalMs?: number } = {}): Promise<PinStatus> {
    for (;;) {
      const p = await this.get(requestId, o)
      if (p.status === 'pinned' || p.status === 'failed') return p
      await sleep(o.intervalMs ?? 500, o.signal)
    }
  }
}
