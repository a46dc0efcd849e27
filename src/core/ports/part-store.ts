/**
 * The part store port: the bytes of multipart uploads' parts while an upload is open
 * (/buckets). A part is written as it streams and becomes visible only when complete, so a
 * part re-sent replaces the earlier one whole or not at all. With S3, a later adapter can
 * keep parts as objects; today they are files in the data dir.
 */
export interface PartWrite {
  /** bytes written */
  size: number
  /** SHA-256 of the bytes, hex */
  sha256: string
}

export interface PartStore {
  /**
   * Stream `source` into part `partNumber` of `uploadId`. Once the whole part is written and
   * flushed, `decide` is called: its `keep()` replaces any earlier copy with the new one
   * (atomically); if `decide` throws, or `source` throws before, the new bytes are dropped and
   * the earlier copy stays.
   */
  writePart: (uploadId: string, partNumber: number, source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined,
    decide: (w: PartWrite & { keep: () => Promise<void> }) => Promise<void>) => Promise<PartWrite>
  /** the bytes of one complete part */
  readPart: (uploadId: string, partNumber: number, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  /** drop every part of an upload (no error if there are none) */
  dropUpload: (uploadId: string) => Promise<void>
  /** upload ids that have parts on disk (for sweeping leftovers) */
  listUploads: () => Promise<string[]>
}
