/**
 * Prometheus metrics: requests and latency per dialect and route, bytes in and out, stored
 * bytes (read from the metadata store at scrape time) and collector activity.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Db } from '../adapters/metadata/open.js'
import type { GcReport } from '../core/gc.js'

export class Metrics {
  readonly registry = new Registry()
  readonly requests = new Counter({ name: 'cairn_http_requests_total', help: 'HTTP requests', labelNames: ['dialect', 'route', 'method', 'status'], registers: [this.registry] })
  readonly latency = new Histogram({
    name: 'cairn_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['dialect', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry]
  })

  readonly bytesIn = new Counter({ name: 'cairn_bytes_in_total', help: 'Content bytes received in uploads', registers: [this.registry] })
  readonly bytesOut = new Counter({ name: 'cairn_bytes_out_total', help: 'Content bytes sent in downloads', registers: [this.registry] })
  readonly gcRuns = new Counter({ name: 'cairn_gc_runs_total', help: 'Garbage collector runs', registers: [this.registry] })
  readonly gcFreed = new Counter({ name: 'cairn_gc_bytes_freed_total', help: 'Bytes freed by the garbage collector', registers: [this.registry] })
  readonly gcPacks = new Counter({ name: 'cairn_gc_packs_deleted_total', help: 'Packs deleted by the garbage collector', registers: [this.registry] })

  constructor () {
    collectDefaultMetrics({ register: this.registry })
  }

  /** stored bytes and packs, counted in the metadata store when scraped */
  watchStore (db: Db): void {
    const stored = new Gauge({ name: 'cairn_stored_bytes', help: 'Bytes held in packs', registers: [this.registry], collect: async () => {
      const r = await db.selectFrom('packs').select(eb => [eb.fn.sum<number>('size').as('bytes'), eb.fn.countAll<number>().as('n')]).executeTakeFirst()
      stored.set(Number(r?.bytes ?? 0))
      packs.set(Number(r?.n ?? 0))
    } })
    const packs = new Gauge({ name: 'cairn_packs', help: 'Packs in the blob store', registers: [this.registry] })
  }

  recordGc (r: GcReport): void {
    this.gcRuns.inc()
    this.gcFreed.inc(r.bytesFreed)
    this.gcPacks.inc(r.packsDeleted)
  }
}

