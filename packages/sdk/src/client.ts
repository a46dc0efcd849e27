/** CairnClient: one object, typed sub-clients per API. */
import { CloudClient } from './cloud.js'
import { FilesClient } from './files.js'
import { errorOf, Transport, type Session } from './http.js'
import { KeysClient } from './keys.js'
import { PinsClient } from './pins.js'
import { TasksClient } from './tasks.js'
import { WalletClient } from './wallet.js'

export interface CairnClientOptions {
  /** the API origin, e.g. https://cairn.example.com */
  baseUrl: string
  /** an account key (`ak_...` or `cairn_...`): Gateway API, pins, tus */
  apiKey?: string
  /** FluxDrive's Basic credentials; its key serves as apiKey too */
  basic?: { zelid: string, key: string }
  /** a wallet session (from wallet.login) for /id calls */
  session?: Session
  /** a FluidCloud key (`fck_live_...`/`fck_test_...`) for `cloud` */
  cloudKey?: string
  /** FluidCloud's mount (default /cloud/api/v1; `/api/v1` on a CAIRN_CLOUD_HOST) */
  cloudPrefix?: string
  /** where to reach the files origin when the URLs the server hands out name another one */
  filesOrigin?: string
  fetch?: typeof fetch
  /** retries of a 429 or a dropped idempotent call (default 3) */
  retries?: number
  /** the longest Retry-After waited for, in seconds (default 60) */
  maxRetryAfter?: number
  /** uploads above this many bytes go over tus, resumable (default 16 MiB) */
  resumableThreshold?: number
  /** tus chunk size (default 8 MiB) */
  chunkSize?: number
  /** FluidCloud uploads up to this size use POST /files, bigger ones the presigned flow (default 32 MiB) */
  directUploadMax?: number
}

export class CairnClient {
  readonly files: FilesClient
  readonly keys: KeysClient
  readonly pins: PinsClient
  readonly tasks: TasksClient
  readonly cloud: CloudClient
  readonly wallet: WalletClient
  /** @internal */
  readonly transport: Transport

  constructor (opts: CairnClientOptions) {
    this.transport = new Transport(opts)
    this.files = new FilesClient(this.transport, { resumableThreshold: opts.resumableThreshold ?? 16 * 2 ** 20, chunkSize: opts.chunkSize ?? 8 * 2 ** 20 })
    this.keys = new KeysClient(this.transport)
    this.pins = new PinsClient(this.transport)
    this.tasks = new TasksClient(this.transport)
    this.cloud = new CloudClient(this.transport, { prefix: (opts.cloudPrefix ?? '/cloud/api/v1').replace(/\/+$/, ''), filesOrigin: opts.filesOrigin, directUploadMax: opts.directUploadMax ?? 32 * 2 ** 20 })
    this.wallet = new WalletClient(this.transport)
  }

  /** the server's /healthz: `ok` false (503) when a dependency (metadata store, blob store, ...) is down */
  async health (o: { signal?: AbortSignal } = {}): Promise<{ ok: boolean, status: string, metadata?: string, dependencies?: Record<string, unknown> }> {
    const res = await this.transport.request('GET', '/healthz', { auth: 'none', raw: true, signal: o.signal })
    const text = await res.text()
    let body: any = {}
    try { body = JSON.parse(text) } catch {}
    if (res.status !== 200 && res.status !== 503) throw await errorOf(new Response(text, { status: res.status, headers: res.headers }))
    return { ok: res.status === 200, status: String(body.status ?? (res.ok ? 'ok' : 'unavailable')), metadata: body.metadata, dependencies: body.dependencies }
  }

  /**
   * One of the server's OpenAPI documents, e.g. '/api/v1/openapi.json' (Gateway),
   * '/api/v0/openapi.json' (FluxDrive), '/pins/openapi.json', '/cloud/api/v1/openapi.json'.
   */
  async openapi (path: string, o: { signal?: AbortSignal } = {}): Promise<Record<string, any>> {
    if (!/^\/[\w/.-]*openapi\.json$/.test(path)) throw new TypeError('an OpenAPI document path ends in openapi.json')
    return await this.transport.json('GET', path, { auth: 'none', signal: o.signal })
  }

  /** the wallet session in use, if any */
  get session (): Session | undefined { return this.transport.session }
}
