/**
 * Fetching a URL a user names (restore from a remote archive, the size of one), without
 * letting them reach the server's own network: http(s) only, every address the name
 * resolves to is checked at connect time (so a DNS answer cannot change between check and
 * use), redirects followed by hand (at most 5, each checked again), and time limits.
 */
import http from 'node:http'
import https from 'node:https'
import { BlockList, isIP } from 'node:net'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { CairnError, invalid } from './errors.js'

const MAX_REDIRECTS = 5

const blocked = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  blocked.addSubnet(net, bits, 'ipv4')
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) {
  blocked.addSubnet(net, bits, 'ipv6')
}

export function isPrivateAddress (address: string): boolean {
  const v = isIP(address)
  if (v === 4) return blocked.check(address, 'ipv4')
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped !== null) return blocked.check(mapped[1], 'ipv4')
    return blocked.check(address, 'ipv6')
  }
  return true
}

export interface RemoteOptions { allowPrivate: boolean, timeoutMs: number, signal?: AbortSignal }

function checkedLookup (allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) { callback(err, '', 4); return }
      const list = addresses as unknown as LookupAddress[]
      const bad = list.find(a => !allowPrivate && isPrivateAddress(a.address))
      if (bad !== undefined || list.length === 0) {
        callback(Object.assign(new Error(`${hostname} resolves to a private or local address`), { code: 'EPRIVATE' }), '', 4)
        return
      }
      if ((options as { all?: boolean }).all === true) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list)
      else callback(null, list[0].address, list[0].family)
    })
  }
}

function parseRemote (url: string, allowPrivate: boolean): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw invalid('Invalid URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('Only http and https URLs are allowed')
  if (u.username !== '' || u.password !== '') throw invalid('URLs with credentials are not allowed')
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0 && !allowPrivate && isPrivateAddress(host)) throw new CairnError('forbidden', 'URL points to a private or local address')
  if (!allowPrivate && /^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(host)) throw new CairnError('forbidden', 'URL points to a private or local address')
  return u
}

/** One request with redirects followed by hand; the answer with its body unread. */
export async function remoteRequest (url: string, method: 'HEAD' | 'GET', opts: RemoteOptions): Promise<http.IncomingMessage> {
  let current = parseRemote(url, opts.allowPrivate)
  for (let hop = 0; ; hop++) {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const mod = current.protocol === 'https:' ? https : http
      const req = mod.request(current, { method, lookup: checkedLookup(opts.allowPrivate), signal: opts.signal, headers: { 'user-agent': 'cairn' } }, resolve)
      req.setTimeout(opts.timeoutMs, () => { req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })) })
      req.on('error', reject)
      req.end()
    }).catch(err => {
      const code = (err as { code?: string }).code
      if (code === 'EPRIVATE') throw new CairnError('forbidden', 'URL points to a private or local address')
      if (code === 'ABORT_ERR') throw new CairnError('aborted', 'Request aborted')
      throw new CairnError('unavailable', `Remote server unreachable: ${(err as Error).message}`)
    })
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume()
      if (hop >= MAX_REDIRECTS) throw new CairnError('unavailable', `More than ${MAX_REDIRECTS} redirects`)
      current = parseRemote(new URL(res.headers.location, current).toString(), opts.allowPrivate)
      continue
    }
    if (status < 200 || status >= 300) {
      res.resume()
      throw new CairnError(status === 404 ? 'not_found' : 'unavailable', `Remote server answered ${status}`)
    }
    return res
  }
}

/** The size a remote URL announces (HEAD, Content-Length). */
export async function remoteSize (url: string, opts: RemoteOptions): Promise<number> {
  const res = await remoteRequest(url, 'HEAD', opts)
  res.resume()
  const n = Number(res.headers['content-length'])
  if (!Number.isSafeInteger(n) || n < 0) throw new CairnError('unavailable', 'Remote server did not tell the size')
  return n
}
