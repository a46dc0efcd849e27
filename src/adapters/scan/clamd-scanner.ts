/**
 * ClamAV's clamd over its socket protocol: `zINSTREAM\0`, then chunks each prefixed by a
 * 4-byte big-endian length, then a zero length; clamd answers `stream: OK`,
 * `stream: <name> FOUND` or `... ERROR` (e.g. past its StreamMaxLength).
 * CAIRN_CLAMD_URL is tcp://host:port or unix:/path/to/clamd.sock.
 */
import { connect, type Socket } from 'node:net'
import type { Scanner, ScanVerdict } from '../../core/ports/scanner.js'

const CHUNK = 64 * 1024

export type ClamdAddress = { kind: 'tcp', host: string, port: number } | { kind: 'unix', path: string }

export function parseClamdUrl (url: string): ClamdAddress {
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length).replace(/^\/\/(?=\/)/, '')
    if (path.length === 0) throw new Error('clamd unix: URL needs a socket path, e.g. unix:/run/clamav/clamd.ctl')
    return { kind: 'unix', path }
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(url)
  if (m === null) throw new Error(`clamd URL must be tcp://host:port or unix:/path, got "${url}"`)
  return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

export class ClamdScanner implements Scanner {
  readonly name = 'clamd'
  private readonly address: ClamdAddress

  constructor (url: string, private readonly timeoutMs = 60_000) {
    this.address = parseClamdUrl(url)
  }

  private open (): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const a = this.address
      const sock = a.kind === 'tcp' ? connect({ host: a.host, port: a.port }) : connect({ path: a.path })
      sock.setTimeout(this.timeoutMs, () => { sock.destroy(new Error('clamd timed out')) })
      sock.once('connect', () => { sock.removeListener('error', reject); resolve(sock) })
      sock.once('error', reject)
    })
  }

  /** the answer up to the terminating NUL (or the end of the connection) */
  private answer (sock: Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = []
      sock.on('data', (d: Buffer) => {
        parts.push(d)
        const all = Buffer.concat(parts)
        const nul = all.indexOf(0)
        if (nul >= 0) { resolve(all.subarray(0, nul).toString('utf8').trim()); sock.end() }
      })
      sock.once('end', () => { resolve(Buffer.concat(parts).toString('utf8').replace(/\0+$/, '').trim()) })
      sock.once('error', reject)
      sock.once('close', () => { reject(new Error('clamd closed the connection')) })
    })
  }

  async ping (): Promise<void> {
    const sock = await this.open()
    const reply = this.answer(sock)
    sock.write('zPING\0')
    const r = await reply
    if (r !== 'PONG') throw new Error(`clamd answered "${r}" to PING`)
  }

  async scan (content: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<ScanVerdict> {
    const sock = await this.open()
    const onAbort = (): void => { sock.destroy(new Error('scan cancelled')) }
    signal?.addEventListener('abort', onAbort)
    try {
      const reply = this.answer(sock)
      reply.catch(() => {}) // awaited below; clamd may answer early (too long) while we still write
      const write = async (b: Uint8Array): Promise<void> => {
        if (sock.destroyed) return
        if (!sock.write(b)) await new Promise<void>(resolve => { sock.once('drain', resolve); sock.once('close', resolve) })
      }
      await write(Buffer.from('zINSTREAM\0'))
      for await (const chunk of content) {
        for (let off = 0; off < chunk.byteLength && !sock.destroyed; off += CHUNK) {
          const piece = chunk.subarray(off, off + CHUNK)
          const len = Buffer.alloc(4)
          len.writeUInt32BE(piece.byteLength)
          await write(len)
          await write(piece)
        }
        if (sock.destroyed) break
      }
      await write(Buffer.alloc(4))
      const r = await reply
      return verdictOf(r)
    } finally {
      signal?.removeEventListener('abort', onAbort)
      sock.destroy()
    }
  }
}

export function verdictOf (reply: string): ScanVerdict {
  const body = reply.replace(/^stream:\s*/, '')
  if (body === 'OK') return { verdict: 'clean' }
  const found = /^(.*) FOUND$/.exec(body)
  if (found !== null) return { verdict: 'infected', signature: found[1] }
  throw new Error(`clamd: ${reply || 'no answer'}`)
}
