/**
 * The embedded scanner: finds the EICAR anti-malware test file (the 68-byte standard string,
 * anywhere in the stream, across chunk boundaries) and files whose SHA-256 is on a denylist.
 * It is no antivirus; it proves the quarantine path works without one. Use clamd for real scans.
 */
import { createHash } from 'node:crypto'
import type { Scanner, ScanVerdict } from '../../core/ports/scanner.js'

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
const EICAR_BYTES = Buffer.from(EICAR, 'latin1')

export class BuiltinScanner implements Scanner {
  readonly name = 'builtin'
  private readonly denylist: Set<string>

  /** `denylist`: lowercase hex SHA-256 digests of files to refuse */
  constructor (denylist: Iterable<string> = []) {
    this.denylist = new Set([...denylist].map(h => h.trim().toLowerCase()).filter(h => /^[0-9a-f]{64}$/.test(h)))
  }

  async scan (content: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<ScanVerdict> {
    const hash = createHash('sha256')
    let tail = Buffer.alloc(0)
    let found = false
    for await (const chunk of content) {
      signal?.throwIfAborted()
      hash.update(chunk)
      if (found) continue
      // keep the last 67 bytes so a signature split over two chunks is still seen
      const window = Buffer.concat([tail, chunk])
      if (window.includes(EICAR_BYTES)) found = true
      tail = window.subarray(Math.max(0, window.length - (EICAR_BYTES.length - 1)))
    }
    if (found) return { verdict: 'infected', signature: 'Eicar-Test-Signature' }
    const digest = hash.digest('hex')
    if (this.denylist.has(digest)) return { verdict: 'infected', signature: `Denylist.SHA256.${digest.slice(0, 16)}` }
    return { verdict: 'clean' }
  }
}
