/** The IPFS Gateway API (/api/v1) as its clients call it: X-API-Key, JSON bodies, multipart uploads. */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { json } from './http.js'

export interface CallOptions {
  key?: string
  json?: unknown
  body?: FormData | string
  headers?: Record<string, string>
}

export async function call (base: string, method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.key !== undefined) headers['x-api-key'] = opts.key
  let body: FormData | string | undefined = opts.body
  if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['content-type'] = 'application/json' }
  return await fetch(`${base}/api/v1${path}`, { method, headers, body })
}

export function upload (name: string, data: Uint8Array | string, type = ''): FormData {
  const fd = new FormData()
  fd.append('file', new Blob([data as BlobPart], { type }), name)
  return fd
}

let emails = 0
export function freshEmail (): string {
  return `user${++emails}.${process.pid}.${Math.random().toString(36).slice(2, 8)}@example.com`
}

export const PASSWORD = 'securePassword123'

export async function register (base: string, email = freshEmail()): Promise<{ email: string, key: string }> {
  const res = await call(base, 'POST', '/users/register', { json: { email, password: PASSWORD } })
  const body = await json(res)
  assert.equal(res.status, 201, JSON.stringify(body))
  return { email, key: body.data.api_key }
}

/** assert the gateway's error envelope and answer the message */
export async function expectError (res: Response, status: number, message?: RegExp): Promise<string> {
  const body = await json(res)
  assert.equal(res.status, status, JSON.stringify(body))
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message', 'status'])
  assert.equal(body.status, status)
  assert.equal(typeof body.error, 'string')
  if (message !== undefined) assert.match(body.message, message)
  return body.message
}

/** the 6-digit code of a renewal message (raw RFC 5322 text) */
export function codeIn (raw: string): string {
  const m = /Verification code: (\d{6})/.exec(raw)
  assert.ok(m !== null, `no code in message:\n${raw}`)
  return m[1]
}

/** the .eml files of an outbox dir, oldest first, as text */
export async function outbox (dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'outbox')
  let names: string[] = []
  try { names = (await readdir(dir)).filter(n => n.endsWith('.eml')).sort() } catch {}
  return await Promise.all(names.map(async n => await readFile(join(dir, n), 'utf8')))
}

export async function eventually<T> (what: string, get: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

/** poll a task until it is in a final state */
export async function settledTask (base: string, key: string, taskId: string): Promise<any> {
  return await eventually(`task ${taskId}`, async () => {
    const body = await json(await call(base, 'GET', `/tasks/${taskId}/status`, { key }))
    return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(body.data?.state) ? body.data : undefined
  })
}
