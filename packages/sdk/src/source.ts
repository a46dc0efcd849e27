/** Upload sources (Blob, ReadableStream, bytes, text) and progress. */

export type UploadSource = Blob | ReadableStream<Uint8Array> | Uint8Array | ArrayBuffer | string

export interface Progress { loaded: number, total?: number }
export type ProgressListener = (p: Progress) => void

export function toBlobOrStream (src: UploadSource, type = ''): Blob | ReadableStream<Uint8Array> {
  if (src instanceof ReadableStream) return src
  if (src instanceof Blob) return src
  return new Blob([src as BlobPart], { type })
}

export const isNode = (): boolean => (globalThis as any).process?.versions?.node != null

/** a stream that reports how many bytes have been pulled through it */
export function counting (stream: ReadableStream<Uint8Array>, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      const { done, value } = await reader.read()
      if (done) { controller.close(); return }
      onBytes(value.byteLength)
      controller.enqueue(value)
    },
    async cancel (reason) { await reader.cancel(reason) }
  })
}

/** a multipart/form-data body streamed from fields and one file part */
export const newBoundary = (): string => '----cairn-sdk-' + Math.random().toString(36).slice(2) + Date.now().toString(36)

export function multipartStream (fields: Record<string, string>, fieldName: string, fileName: string, type: string, file: ReadableStream<Uint8Array>, boundary = newBoundary()): { body: ReadableStream<Uint8Array>, contentType: string } {
  const q = (s: string): string => s.replace(/[\r\n"]/g, c => encodeURIComponent(c))
  const enc = new TextEncoder()
  let head = ''
  for (const [k, v] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${q(k)}"\r\n\r\n${v}\r\n`
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${q(fieldName)}"; filename="${q(fileName)}"\r\nContent-Type: ${type === '' ? 'application/octet-stream' : type}\r\n\r\n`
  const reader = file.getReader()
  let stage = 0
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      if (stage === 0) { stage = 1; controller.enqueue(enc.encode(head)); return }
      if (stage === 1) {
        const { done, value } = await reader.read()
        if (!done) { controller.enqueue(value); return }
        stage = 2
        controller.enqueue(enc.encode(`\r\n--${boundary}--\r\n`))
        return
      }
      controller.close()
    },
    async cancel (reason) { await reader.cancel(reason) }
  })
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

/** reads a stream in chunks of exactly `size` bytes (the last may be shorter) */
export class ChunkReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private rest: Uint8Array = new Uint8Array(0)
  private done = false
  constructor (stream: ReadableStream<Uint8Array>) { this.reader = stream.getReader() }
  async read (size: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    let have = 0
    if (this.rest.byteLength > 0) { const take = this.rest.subarray(0, size); parts.push(take); have += take.byteLength; this.rest = this.rest.subarray(take.byteLength) }
    while (have < size && !this.done) {
      const { done, value } = await this.reader.read()
      if (done) { this.done = true; break }
      const need = size - have
      if (value.byteLength > need) { parts.push(value.subarray(0, need)); this.rest = value.subarray(need); have += need } else { parts.push(value); have += value.byteLength }
    }
    if (parts.length === 1) return parts[0]
    const out = new Uint8Array(have)
    let o = 0
    for (const p of parts) { out.set(p, o); o += p.byteLength }
    return out
  }
  async cancel (): Promise<void> { await this.reader.cancel() }
}

/**
 * a Content-Disposition filename: raw UTF-8 in quotes as browsers send it, or RFC 5987
 * `filename*` alone when the name has a quote, a backslash or a control character
 */
export function dispositionFilename (name: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/["\\\x00-\x1f\x7f]/.test(name)) return `filename="${name}"`
  return `filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`
}

/** a multipart/form-data body of fields, then several file parts (Blobs, read as they are sent) */
export function multipartFiles (fields: Record<string, string>, files: Array<{ field: string, filename: string, type: string, blob: Blob }>, boundary: string, onBytes?: (n: number) => void): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  let head = ''
  for (const [k, v] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
  let next = 0
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>({
    start (controller) { if (head !== '') controller.enqueue(enc.encode(head)) },
    async pull (controller) {
      if (reader !== undefined) {
        const { done, value } = await reader.read()
        if (!done) { onBytes?.(value.byteLength); controller.enqueue(value); return }
        reader = undefined
        controller.enqueue(enc.encode('\r\n'))
        return
      }
      if (next >= files.length) { controller.enqueue(enc.encode(`--${boundary}--\r\n`)); controller.close(); return }
      const f = files[next++]
      reader = f.blob.stream().getReader()
      controller.enqueue(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; ${dispositionFilename(f.filename)}\r\nContent-Type: ${f.type === '' ? 'application/octet-stream' : f.type}\r\n\r\n`))
    },
    async cancel (reason) { await reader?.cancel(reason) }
  })
}
