/** Small HTTP helpers for tests: FluxDrive calls exactly as its clients send them. */
export async function post (url: string, auth: string | undefined, body?: FormData | string | Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers }
  if (auth !== undefined) h.authorization = auth
  let payload: FormData | string | undefined
  if (body instanceof FormData || typeof body === 'string') payload = body
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json' }
  return await fetch(url, { method: 'POST', headers: h, body: payload })
}

export function form (files: Array<{ name: string, data: Uint8Array | string, type?: string, field?: string }>, fields: Record<string, string> = {}): FormData {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  for (const f of files) fd.append(f.field ?? 'file', new Blob([f.data as BlobPart], { type: f.type ?? '' }), f.name)
  return fd
}

export async function json (res: Response): Promise<any> {
  const text = await res.text()
  try { return JSON.parse(text) } catch { throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`) }
}
