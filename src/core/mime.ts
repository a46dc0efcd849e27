/**
 * Content types: what the client sent, unless it said nothing useful; then the bytes'
 * magic numbers (file-type); then the file name's extension; then application/octet-stream.
 */
import { fileTypeFromBuffer } from 'file-type'
import mime from 'mime-types'

const SNIFF_BYTES = 4100
const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown'])
const TYPE_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/

export function normaliseType (sent: string | undefined): string | undefined {
  const t = (sent ?? '').split(';')[0].trim().toLowerCase()
  return TYPE_RE.test(t) && !GENERIC.has(t) ? t : undefined
}

/**
 * Pass a byte stream through while looking at its first bytes. `type` resolves once the
 * first SNIFF_BYTES (or the whole stream, if shorter) have been seen.
 */
export function sniffing (source: AsyncIterable<Uint8Array>, sent: string | undefined, name: string): { stream: AsyncIterable<Uint8Array>, type: Promise<string> } {
  let resolveType!: (t: string) => void
  const type = new Promise<string>(resolve => { resolveType = resolve })
  const declared = normaliseType(sent)
  const byName = (): string => mime.lookup(name) || 'application/octet-stream'
  async function * stream (): AsyncIterable<Uint8Array> {
    if (declared !== undefined) {
      resolveType(declared)
      yield * source
      return
    }
    const head: Uint8Array[] = []
    let headBytes = 0
    let decided = false
    const decide = async (): Promise<void> => {
      decided = true
      const sniffed = headBytes === 0 ? undefined : await fileTypeFromBuffer(Buffer.concat(head)).catch(() => undefined)
      resolveType(sniffed?.mime ?? byName())
    }
    try {
      for await (const chunk of source) {
        if (!decided) {
          head.push(chunk)
          headBytes += chunk.byteLength
          if (headBytes >= SNIFF_BYTES) {
            await decide()
            for (const h of head) yield h
            head.length = 0
          }
          continue
        }
        yield chunk
      }
      if (!decided) {
        await decide()
        for (const h of head) yield h
      }
    } finally {
      if (!decided) resolveType(byName())
    }
  }
  return { stream: stream(), type }
}

/**
 * The type of stored bytes served without a recorded type (the IPFS gateway): their magic
 * numbers, then the name's extension, then UTF-8 text or application/octet-stream.
 */
export async function sniffContentType (head: Uint8Array, name: string): Promise<string> {
  const sniffed = head.byteLength === 0 ? undefined : await fileTypeFromBuffer(head).catch(() => undefined)
  if (sniffed !== undefined) return sniffed.mime
  const byName = mime.lookup(name)
  if (byName !== false) return mime.contentType(byName) || byName
  if (looksLikeText(head)) return 'text/plain; charset=utf-8'
  return 'application/octet-stream'
}

function looksLikeText (head: Uint8Array): boolean {
  if (head.byteLength === 0) return true
  if (head.includes(0)) return false
  try {
    // a multi-byte character cut at the end of the sniffed bytes is still text
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.byteLength - 3)))
    return true
  } catch {
    return false
  }
}
