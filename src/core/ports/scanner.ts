/**
 * The scanner port: decides whether a file's bytes carry malware. FluidCloud files stay in
 * quarantine (scan_status pending) until a scan says clean; the scan runs as a job.
 *
 * Adapters: the built-in one (src/adapters/scan/builtin-scanner.ts: the EICAR test
 * signature and a SHA-256 denylist; the embedded default) and ClamAV's clamd
 * (src/adapters/scan/clamd-scanner.ts: INSTREAM over TCP or a unix socket).
 */
export interface ScanVerdict {
  /** infected: a signature matched (named in `signature`) */
  verdict: 'clean' | 'infected'
  signature?: string
}

export interface Scanner {
  /** short name for logs and health: 'builtin' or 'clamd' */
  readonly name: string
  /**
   * Read the whole stream and judge it. Throws when the scan itself fails (the scanner is
   * down, the stream too long for it): the caller retries, then records scan_status=error.
   */
  scan: (content: AsyncIterable<Uint8Array>, signal?: AbortSignal) => Promise<ScanVerdict>
  /** resolves when the scanner answers */
  ping?: () => Promise<void>
}
