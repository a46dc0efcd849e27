/**
 * Opening a user-given URL for FluidCloud's `POST /uploads/import-url`. The URL is user input:
 * only http(s), no credentials in it, at most 5 redirects (each checked again), and unless
 * `allowPrivate` every address the host resolves to must be public (loopback, private,
 * link-local, ... refused as src/adapters/trustless-fetcher.ts does). The check runs in the
 * socket's own DNS lookup, so the address checked is the address connected to (no rebinding
 * between a check and the connection).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import { CairnError, invalid } from '../core/errors.js'
import { isPrivate } from './trustless-fetcher.js'

export interface OpenedUrl { filename: string, mimetype: string | undefined, size?: number, content: AsyncIterable<Uint8Array> }

const MAX_REDIRECTS = 5
const HEADERS_TIMEOUT_MS = 30_000

export async function openPublicUrl (raw: string, opts: { allowPrivate: boolean, signal?: AbortSignal }): Promise<OpenedUrl> {
  let url = parseUrl(raw)
  for (let hop = 0; ; hop++) {
    const res = await get(url, opts)
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume()
      if (hop >= MAX_REDIRECTS) throw invalid(`the URL redirected more than ${MAX_REDIRECTS} times`)
      url = parseUrl(new URL(res.headers.location, url).href)
      continue
    }
    if (status < 200 || status >= 300) {
      res.resume()
      throw invalid(`the URL answered HTTP ${status}, not the file`)
    }
    const length = res.headers['content-length']
    const type = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    const last = decodeURIComponent(url.pathname.split('/').pop() ?? '').trim()
    return {
      filename: last === '' || /[/\\\0]/.test(last) || last === '.' || last === '..' ? 'file' : last.slice(0, 255),
      mimetype: /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : undefined,
      size: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
      content: res
    }
  }
}

function parseUrl (raw: string): URL {
  let u: URL
  try { u = new URL(raw) } catch { throw invalid('url must be an absolute http(s) URL') }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('url must be an http or https URL')
  if (u.username !== '' || u.password !== '') throw invalid('url may not carry credentials')
  return u
}

function refused (host: string): CairnError {
  return invalid(`the URL's host ${host} is on a loopback or private network; only public addresses are fetched`)
}

async function get (url: URL, opts: { allowPrivate: boolean, signal?: AbortSignal }): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!opts.allowPrivate && isIP(host) !== 0 && isPrivate(host)) throw refused(host)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      signal: opts.signal,
      headers: { 'user-agent': 'cairn-import/1', accept: '*/*' },
      // every address the name resolves to is checked, at connect time
      lookup: (hostname: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
        dnsLookup(hostname, { ...options, all: true }, (err, addrs) => {
          if (err !== null) { cb(err, ''); return }
          if (!opts.allowPrivate && addrs.some(a => isPrivate(a.address))) { cb(refused(hostname), ''); return }
          if ((options as { all?: boolean }).all === true) cb(null, addrs)
          else cb(null, addrs[0].address, addrs[0].family)
        })
      }
    }, resolve)
    req.setTimeout(HEADERS_TIMEOUT_MS, () => { req.destroy(invalid('the URL did not answer in time')) })
    req.on('error', err => {
      if (err instanceof CairnError) reject(err)
      else if (opts.signal?.aborted === true) reject(err)
      else reject(invalid(`the URL could not be fetched: ${(err as NodeJS.ErrnoException).code ?? err.message}`))
    })
    req.end()
  })
}
