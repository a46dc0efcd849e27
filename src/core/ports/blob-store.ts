/**
 * The blob store port: where pack bytes live. The core decides what a pack holds (a CARv1
 * of one whole DAG); a blob store only keeps opaque, immutable objects.
 *
 * A pack is written once, front to back, with a reserved header region that is filled in
 * when the pack is completed (the root CID is known only at the end of an import).
 */
export interface PackSink {
  /** key the pack will have once completed */
  readonly key: string
  /** bytes written so far, including the reserved header */
  readonly size: number
  /**
   * Append bytes (several parts are written as one); resolves to the offset of the first,
   * once all of them are written (a short write is completed or fails the append). The
   * caller may reuse or overwrite the parts as soon as the promise settles (ingest reuses
   * its chunk buffers), so an adapter that keeps bytes beyond that (buffering for a
   * multipart upload, say) must copy them.
   */
  append: (...parts: Uint8Array[]) => Promise<number>
  /** fill the reserved header, make the pack durable and visible under `key` */
  complete: (header: Uint8Array) => Promise<void>
  /** drop everything written; safe to call more than once or after a failure */
  abort: () => Promise<void>
}

export interface BlobInfo {
  key: string
  size: number
  modifiedAt: number
}

export interface BlobStore {
  /** start a new pack whose first `headerLength` bytes are filled in by `complete` */
  createPack: (headerLength: number) => Promise<PackSink>
  /** read exactly `length` bytes at `offset`; throws not_found when the blob is missing */
  read: (key: string, offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>
  /** stream `[start, end)` of a blob (the whole blob by default) */
  stream: (key: string, range?: { start: number, end: number }, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  delete: (key: string) => Promise<void>
  /** completed blobs */
  list: () => AsyncIterable<BlobInfo>
  /** remove leftovers of packs that were never completed and are older than `olderThanMs` */
  sweepIncomplete: (olderThanMs: number) => Promise<number>
  close: () => Promise<void>
}
