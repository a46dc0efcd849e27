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

/** What a presigned PUT gives a client: where to send the bytes, and the headers to send along. */
export interface PresignedPut {
  /** staging key of the object the client uploads (read it back with streamStaged) */
  key: string
  url: string
  /** headers the client must send exactly (they are part of the signature) */
  headers: Record<string, string>
}

/**
 * Optional capability of a blob store (the S3 adapter has it, the filesystem one does not):
 * URLs that let a client talk to the object store directly, without credentials, until
 * they expire. For dialects whose clients expect presigned uploads or direct downloads.
 *
 * - presignGet: a GET URL for a completed pack (clients may add a Range header). A pack is a
 *   CARv1 of one whole DAG, so the URL of a whole pack is a CAR export; a file's bytes are
 *   contiguous in it only for a single-block file.
 * - presignPut: a PUT URL for one new object in a staging area (not a pack): the dialect
 *   later reads it back with streamStaged, imports it, and deletes it with deleteStaged.
 *   Staged objects never completed into content are removed by sweepIncomplete.
 */
export interface BlobPresigner {
  presignGet: (key: string, opts: { expiresInSeconds: number, contentType?: string, contentDisposition?: string }) => Promise<string>
  presignPut: (opts: { expiresInSeconds: number, contentType?: string }) => Promise<PresignedPut>
  streamStaged: (key: string, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  deleteStaged: (key: string) => Promise<void>
  /**
   * A staged object uploaded in parts: createStagedMultipart starts it, presignPart signs one
   * UploadPart URL, completeStagedMultipart assembles the parts (by the ETags the client got)
   * into the staged object `key`, readable with streamStaged. Aborted parts are the store's to drop.
   */
  createStagedMultipart?: (opts: { contentType?: string }) => Promise<{ key: string, uploadId: string }>
  presignPart?: (key: string, uploadId: string, partNumber: number, expiresInSeconds: number) => Promise<string>
  completeStagedMultipart?: (key: string, uploadId: string, parts: Array<{ partNumber: number, etag: string }>) => Promise<void>
  abortStagedMultipart?: (key: string, uploadId: string) => Promise<void>
}

export interface CreatePackOptions {
  /** copy a pack from another store under this key (see createPack) */
  key?: string
  /**
   * a pack that is completed soon after it starts and must then be durable at once (one
   * part of a multipart upload, acknowledged only then): a store that makes writes durable
   * in the background while they arrive (the filesystem store) does so every this many bytes,
   * so that little is left to flush at completion
   */
  durableEvery?: number
}

export interface BlobStore {
  /** present when the store can hand out presigned URLs (see BlobPresigner) */
  readonly presigner?: BlobPresigner
  /**
   * start a new pack whose first `headerLength` bytes are filled in by `complete`. Its key
   * is new and random, unless `key` is given: copying a pack from another store under the
   * key the metadata knows it by (cairn migrate-store); a pack already there is replaced.
   */
  createPack: (headerLength: number, opts?: CreatePackOptions) => Promise<PackSink>
  /**
   * read exactly `length` bytes at `offset`; throws not_found when the blob is missing.
   * `into` (at least `length` bytes) is a buffer the store may read into and answer a view
   * of, saving an allocation (the filesystem store does); a store may ignore it.
   */
  read: (key: string, offset: number, length: number, signal?: AbortSignal, into?: Uint8Array) => Promise<Uint8Array>
  /** stream `[start, end)` of a blob (the whole blob by default) */
  stream: (key: string, range?: { start: number, end: number }, signal?: AbortSignal) => AsyncIterable<Uint8Array>
  delete: (key: string) => Promise<void>
  /** completed blobs */
  list: () => AsyncIterable<BlobInfo>
  /** remove leftovers of packs that were never completed and are older than `olderThanMs` */
  sweepIncomplete: (olderThanMs: number) => Promise<number>
  /** for a remote store: resolves when it answers (the health endpoint asks) */
  ping?: () => Promise<void>
  close: () => Promise<void>
}
