/**
 * The clients: curl (a real, independent HTTP client, streaming files from disk) for the big
 * transfers, node's http module for generated uploads too big to put on disk and for the
 * small-request load (keep-alive connections, a fixed number of concurrent clients).
 */
import { createHash } from 'node:crypto'
import { Agent, request, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import { run } from './procs.js'

export const CURL = process.env.BENCH_CURL ?? 'curl'

export interface CurlResult { status: number, seconds: number, downloaded: number, uploaded: number, body: string }

const W = '\\n@@ %{http_code} %{time_total} %{size_download} %{size_upload}'

function parseCurl (out: string): CurlResult {
  const i = out.lastIndexOf('\n@@ ')
  if (i < 0) throw new Error(`unexpected curl output: ${out.slice(-500)}`)
  const [code, t, down, up] = out.slice(i + 4).trim().split(' ')
  return { status: Number(code), seconds: Number(t), downloaded: Number(down), uploaded: Number(up), body: out.slice(0, i) }
}

/** `curl -u ZELID:KEY -F file=@<path> <url>/api/v0/put`, as the FluxDrive docs write it. */
export async function curlPut (base: string, user: string, key: string, path: string): Promise<CurlResult & { hash: string }> {
  const r = parseCurl(await run(CURL, ['-sS', '-u', `${user}:${key}`, '-F', `file=@${path};type=application/octet-stream`, '-w', W, `${base}/api/v0/put`]))
  if (r.status !== 200) throw new Error(`put answered ${r.status}: ${r.body.slice(0, 500)}`)
  const hash = (JSON.parse(r.body) as { hash?: string }).hash
  if (typeof hash !== 'string') throw new Error(`put answered no hash: ${r.body.slice(0, 500)}`)
  return { ...r, hash }
}

/** Download to /dev/null; `post` for Cairn's `POST /api/v0/cat`, GET for nginx. */
export async function curlGet (url: string, opts: { post?: boolean, user?: string, key?: string } = {}): Promise<CurlResult> {
  const args = ['-sS', '-o', '/dev/null', '-w', W]
  if (opts.post === true) args.push('-X', 'POST')
  if (opts.user !== undefined) args.push('-u', `${opts.user}:${opts.key ?? ''}`)
  const r = parseCurl(await run(CURL, [...args, url]))
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}`)
  return r
}

/** Stream a response through SHA-256 (a correctness check, not timed). */
export async function hashResponse (url: string, opts: { method: string, auth?: string }): Promise<{ sha256: string, bytes: number }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method, headers: opts.auth === undefined ? {} : { authorization: opts.auth } }, res => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`${url} answered ${res.statusCode ?? '?'}`)); return }
      const h = createHash('sha256')
      let bytes = 0
      res.on('data', (d: Buffer) => { h.update(d); bytes += d.byteLength })
      res.once('end', () => { resolve({ sha256: h.digest('hex'), bytes }) })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
}

/** Count bytes of a response without keeping them; the caller times it. */
export async function drainResponse (url: string, opts: { method: string, auth?: string, signal?: AbortSignal }): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method, headers: opts.auth === undefined ? {} : { authorization: opts.auth }, signal: opts.signal }, res => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`${url} answered ${res.statusCode ?? '?'}`)); return }
      let bytes = 0
      res.on('data', (d: Buffer) => { bytes += d.byteLength })
      res.once('end', () => { resolve(bytes) })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
}

export function multipartHead (boundary: string, filename: string): Buffer {
  return Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`)
}
export function multipartTail (boundary: string): Buffer {
  return Buffer.from(`\r\n--${boundary}--\r\n`)
}

/**
 * A multipart upload of `size` bytes produced on the fly by `chunks` (with Content-Length,
 * honouring backpressure, so nothing accumulates in this process).
 */
/** The status and text body of the answer to `req` (rejects if the request fails). */
export async function answerOf (req: ClientRequest): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    req.once('response', res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.once('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.once('error', reject)
  })
}

export async function streamPut (base: string, auth: string, filename: string, size: number, chunks: Iterable<Uint8Array>): Promise<{ status: number, body: string }> {
  const boundary = '----cairnbench' + Date.now().toString(16)
  const head = multipartHead(boundary, filename)
  const tail = multipartTail(boundary)
  const req = request(`${base}/api/v0/put`, {
    method: 'POST',
    headers: {
      authorization: auth,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.byteLength + size + tail.byteLength)
    }
  })
  const answered = answerOf(req)
  // stop sending once the server has answered early (an error) or the connection failed
  let over = false
  answered.then(() => { over = true }, () => { over = true })
  req.write(head)
  for (const c of chunks) {
    if (over) break
    if (!req.write(c)) {
      const drained = once(req, 'drain')
      drained.catch(() => {})
      await Promise.race([drained, answered.catch(() => {})])
    }
  }
  if (over) req.destroy()
  else req.end(tail)
  return await answered
}

export interface LoadResult { done: number, failed: number, seconds: number, perSecond: number, p50ms: number, p99ms: number, firstError?: string }

export interface LoadRequest { method: string, path: string, headers?: Record<string, string>, body?: Buffer, check?: (status: number, body: Buffer, headers: IncomingHttpHeaders) => string | undefined }

/**
 * `count` requests from `concurrency` keep-alive clients, stopping early after `maxMs`.
 * A request counts as done only when its answer passed `check` (default: status 200).
 */
export async function load (base: string, opts: { count: number, concurrency: number, maxMs: number, make: (i: number) => LoadRequest }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const latencies: number[] = []
  let next = 0
  let failed = 0
  let firstError: string | undefined
  const start = performance.now()
  const deadline = start + opts.maxMs
  const one = async (r: LoadRequest): Promise<void> => {
    const t0 = performance.now()
    const headers: Record<string, string> = { ...(r.headers ?? {}) }
    if (r.body !== undefined) headers['content-length'] = String(r.body.byteLength)
    const res = await new Promise<{ status: number, body: Buffer, headers: IncomingHttpHeaders }>((resolve, reject) => {
      const req = request(base + r.path, { method: r.method, headers, agent }, res => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.once('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers }) })
        res.once('error', reject)
      })
      req.once('error', reject)
      req.end(r.body)
    })
    const problem = r.check !== undefined ? r.check(res.status, res.body, res.headers) : (res.status === 200 ? undefined : `status ${res.status}: ${res.body.toString().slice(0, 200)}`)
    if (problem !== undefined) throw new Error(problem)
    latencies.push(performance.now() - t0)
  }
  const worker = async (): Promise<void> => {
    while (next < opts.count && performance.now() < deadline) {
      const i = next++
      try {
        await one(opts.make(i))
      } catch (err) {
        failed++
        firstError ??= (err as Error).message
        if (failed > 20) return
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker))
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const q = (p: number): number => latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  return { done: latencies.length, failed, seconds, perSecond: latencies.length / seconds, p50ms: q(0.5), p99ms: q(0.99), firstError }
}
