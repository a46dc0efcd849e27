/** tus-js-client (the official client) as a promise: the upload URL, and the CID Cairn answered. */
import * as tus from 'tus-js-client'

export interface TusResult { url: string, cid: string | undefined }

export interface TusRun {
  upload: tus.Upload
  done: Promise<TusResult>
}

export function tusUpload (data: Buffer, opts: {
  endpoint?: string
  uploadUrl?: string
  headers: Record<string, string>
  metadata?: Record<string, string>
  chunkSize?: number
  onProgress?: (sent: number, total: number) => void
}): TusRun {
  let cid: string | undefined
  let upload!: tus.Upload
  const done = new Promise<TusResult>((resolve, reject) => {
    upload = new tus.Upload(data, {
      endpoint: opts.endpoint,
      uploadUrl: opts.uploadUrl,
      headers: opts.headers,
      metadata: opts.metadata ?? {},
      // always a finite chunk: with none (Infinity) tus-js-client 4 in Node spins on a Buffer without sending
      chunkSize: opts.chunkSize ?? 8 * 1024 * 1024,
      retryDelays: null, // fail at once: the tests resume by hand
      storeFingerprintForResuming: false,
      onProgress: opts.onProgress ?? null,
      onAfterResponse: (_req, res) => {
        const c = res.getHeader('Cairn-CID')
        if (c !== undefined && c !== '') cid = c
      },
      onSuccess: () => { resolve({ url: upload.url ?? '', cid }) },
      onError: err => { reject(err) }
    })
    upload.start()
  })
  return { upload, done }
}
