/** FluidCloud calls as its clients make them: X-API-Key, JSON bodies, the {detail} envelope. */
import type { TestServer } from './server.js'
import type { CloudScope } from '../../src/core/cloud/tenants.js'

export const PREFIX = '/cloud/api/v1'

export interface CloudTenant { id: string, live: string, test: string, liveAccountId: string, testAccountId: string }

/** a tenant with an all-scope live key and an all-scope test key */
export async function tenant (s: TestServer, opts: { plan?: string, capacity?: number } = {}): Promise<CloudTenant> {
  const t = await s.core.cloudTenants.create({ name: `t-${Math.random().toString(36).slice(2, 8)}`, plan: opts.plan, capacityBytes: opts.capacity })
  const live = await s.core.cloudTenants.createKey(t.id, { env: 'live' })
  const test = await s.core.cloudTenants.createKey(t.id, { env: 'test' })
  return { id: t.id, live: live.key, test: test.key, liveAccountId: t.liveAccountId, testAccountId: t.testAccountId }
}

export async function scopedKey (s: TestServer, tenantId: string, scopes: CloudScope[]): Promise<string> {
  return (await s.core.cloudTenants.createKey(tenantId, { scopes })).key
}

export async function api (s: TestServer, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, headers: Headers }> {
  const h: Record<string, string> = { ...headers }
  if (key !== undefined) h['x-api-key'] = key
  let payload: string | FormData | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json' }
  const res = await fetch(s.url + PREFIX + path, { method, headers: h, body: payload })
  const text = await res.text()
  let parsed: any = text
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: res.status, body: parsed, headers: res.headers }
}

/** initiate → PUT to the presigned URL → complete; answers the completed file */
export async function uploadViaTicket (s: TestServer, key: string, spaceId: string, name: string, data: Uint8Array, extra: Record<string, unknown> = {}): Promise<any> {
  const init = await api(s, key, 'POST', '/uploads/initiate', { name, size: data.byteLength, space_id: spaceId, ...extra })
  if (init.status !== 201) throw new Error(`initiate: ${init.status} ${JSON.stringify(init.body)}`)
  const put = await fetch(filesUrl(s, init.body.upload_url), { method: 'PUT', headers: init.body.headers, body: data as unknown as BodyInit })
  if (!put.ok) throw new Error(`PUT: ${put.status} ${await put.text()}`)
  const done = await api(s, key, 'POST', '/uploads/complete', { file_id: init.body.file_id, key: init.body.key })
  if (done.status !== 201) throw new Error(`complete: ${done.status} ${JSON.stringify(done.body)}`)
  return done.body
}

/** poll the file until its scan is over */
export async function scanned (s: TestServer, key: string, id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const r = await api(s, key, 'GET', `/files/${id}`)
    if (r.body?.scan_status !== 'pending') return r.body
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error('scan did not finish')
}

export async function defaultSpace (s: TestServer, key: string): Promise<string> {
  const r = await api(s, key, 'GET', '/spaces')
  return r.body.items[0].id
}

/** a URL on the configured files origin, sent to the test's files listener (its port is ephemeral) */
export function filesUrl (s: TestServer, url: string): string {
  return url.startsWith(s.config.filesOrigin) ? s.filesUrl + url.slice(s.config.filesOrigin.length) : url
}
