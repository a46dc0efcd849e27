/**
 * Fetching DAGs from trustless HTTP gateways (the IPFS Trustless Gateway specification):
 * first the whole DAG as `?format=car`, else block by block as `?format=raw`. Either way the
 * answer is re-framed as a CARv1 whose only root is the requested CID, and every block is
 * verified against its CID on the way (a tampered answer fails at its first wrong block).
 *
 * Origins are user input: unless `allowPrivate`, addresses on loopback, private, link-local
 * and similar networks are refused (resolved names too), so a pin cannot make the server
 * probe its own network.
 */
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CID } from 'multiformats/cid'
import { isIdentity, linksOf, verifyBlock } from '../core/content/blocks.js'
import { encodeBlockFrameHead, encodeCarHeaderRoots } from '../core/content/car-frame.js'
import { CairnError } from '../core/errors.js'
import type { ContentFetcher } from '../core/ports/content-fetcher.js'

/** the bitswap limit: no IPFS peer could serve a larger block */
const MAX_BLOCK_BYTES = 2 * 1024 * 1024

const privateNets = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) privateNets.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) privateNets.addSubnet(net, bits, 'ipv6')

export function isPrivate (address: string): boolean {
  // an IPv4-mapped IPv6 address is checked as the IPv4 address it carries
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return privateNets.check(mapped[1], 'ipv4')
  return privateNets.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

export class TrustlessFetcher implements ContentFetcher {
  constructor (private readonly opts: { allowPrivate: boolean, userAgent?: string }) {}

  originUrl (origin: string): string | undefined {
    if (/^https?:\/\//i.test(origin)) {
      try { return new URL(origin).origin } catch { return undefined }
    }
    const parts = origin.split('/')
    if (parts[0] !== '') return undefined
    const [, proto, host, tcp, port, ...rest] = parts
    if (tcp !== 'tcp' || !/^\d{1,5}$/.test(port ?? '')) return undefined
    let scheme: string | undefined
    const tail = rest[0] === 'p2p' ? [] : rest.slice(0, rest.indexOf('p2p') === -1 ? rest.length : rest.indexOf('p2p'))
    if (tail.join('/') === 'http') scheme = 'http'
    else if (tail.join('/') === 'https' || tail.join('/') === 'tls/http') scheme = 'https'
    if (scheme === undefined) return undefined
    if (proto === 'ip4' && isIP(host) === 4) return `${scheme}://${host}:${port}`
    if (proto === 'ip6' && isIP(host) === 6) return `${scheme}://[${host}]:${port}`
    if (['dns', 'dns4', 'dns6'].includes(proto) && /^[A-Za-z0-9.-]{1,253}$/.test(host)) return `${scheme}://${host}:${port}`
    return undefined
  }

  /** Refuse private networks for user-given origins (configured upstreams are trusted). */
  async checkOrigin (base: string): Promise<void> {
    if (this.opts.allowPrivate) return
    const host = new URL(base).hostname.replace(/^\[|\]$/g, '')
    const addrs = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map(a => a.address)
    for (const a of addrs) {
      if (isPrivate(a)) throw new CairnError('forbidden', `origin ${host} is on a private network`)
    }
  }

  /** `followRedirects: false` for user-given origins: a redirect could lead past checkOrigin */
  async * car (base: string, cid: CID, signal: AbortSignal, opts: { followRedirects?: boolean } = {}): AsyncGenerator<Uint8Array> {
    const redirect = opts.followRedirects === false ? 'error' : 'follow'
    const url = `${base.replace(/\/+$/, '')}/ipfs/${cid.toString()}`
    const res = await fetch(`${url}?format=car&dag-scope=all&car-dups=n`, {
      headers: { accept: 'application/vnd.ipld.car;version=1;order=dfs;dups=n', 'user-agent': this.opts.userAgent ?? 'cairn' },
      signal,
      redirect
    })
    if (res.ok && res.body !== null && /application\/vnd\.ipld\.car/i.test(res.headers.get('content-type') ?? '')) {
      yield * reframeCar(cid, res.body as unknown as AsyncIterable<Uint8Array>)
      return
    }
    await res.body?.cancel().catch(() => {})
    if (res.status === 404 || res.status === 410) throw new CairnError('not_found', `${base}: ${cid.toString()} not found (${res.status})`)
    yield * this.rawWalk(base, cid, signal, redirect)
  }

  /** Block by block (`?format=raw`), depth-first, each verified before its links are followed. */
  private async * rawWalk (base: string, root: CID, signal: AbortSignal, redirect: 'error' | 'follow'): AsyncGenerator<Uint8Array> {
    yield encodeCarHeaderRoots([root])
    const seen = new Set<string>()
    const stack: CID[] = [root]
    while (stack.length > 0) {
      const cid = stack.pop() as CID
      const key = cid.multihash.bytes.toString()
      if (seen.has(key) || isIdentity(cid)) continue
      seen.add(key)
      const res = await fetch(`${base.replace(/\/+$/, '')}/ipfs/${cid.toString()}?format=raw`, {
        headers: { accept: 'application/vnd.ipld.raw', 'user-agent': this.opts.userAgent ?? 'cairn' },
        signal,
        redirect
      })
      if (!res.ok) {
        await res.body?.cancel().catch(() => {})
        throw new CairnError(res.status === 404 ? 'not_found' : 'unavailable', `${base}: block ${cid.toString()} answered ${res.status}`)
      }
      const bytes = new Uint8Array(await res.arrayBuffer())
      if (bytes.byteLength > MAX_BLOCK_BYTES) throw new CairnError('invalid_argument', `${base}: block ${cid.toString()} is larger than 2 MiB`)
      await verifyBlock(cid, bytes)
      yield encodeBlockFrameHead(cid, bytes.byteLength)
      yield bytes
      const links = linksOf(cid, bytes)
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i])
    }
  }
}

/** The blocks of an upstream CAR under a header naming only `root`, each verified. */
async function * reframeCar (root: CID, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let reader: CarBlockIterator
  try {
    reader = await CarBlockIterator.fromIterable(body)
  } catch (err) {
    throw new CairnError('invalid_argument', `not a CAR: ${(err as Error).message}`)
  }
  const roots = await reader.getRoots()
  if (!roots.some(r => r.multihash.bytes.toString() === root.multihash.bytes.toString())) {
    throw new CairnError('invalid_argument', `the CAR's roots do not include ${root.toString()}`)
  }
  yield encodeCarHeaderRoots([root])
  for await (const block of reader) {
    const cid = CID.asCID(block.cid) ?? CID.decode(block.cid.bytes)
    if (block.bytes.byteLength > MAX_BLOCK_BYTES) throw new CairnError('invalid_argument', `block ${cid.toString()} is larger than 2 MiB`)
    await verifyBlock(cid, block.bytes)
    yield encodeBlockFrameHead(cid, block.bytes.byteLength)
    yield block.bytes
  }
}
