/**
 * The content fetcher port: the DAG under a CID from somewhere else (an upstream trustless
 * gateway, a pin's origin), as a CARv1 stream whose only root is that CID. The fetcher checks
 * every block against its CID as it goes (a wrong byte ends the stream with an error), and
 * the core's CAR import checks again before anything is recorded.
 * The HTTP adapter is src/adapters/trustless-fetcher.ts.
 */
import type { CID } from 'multiformats/cid'

export interface ContentFetcher {
  /** a CARv1 stream (root `cid`, each block once, depth-first) fetched from the gateway at `base` */
  car: (base: string, cid: CID, signal: AbortSignal, opts?: { followRedirects?: boolean }) => AsyncIterable<Uint8Array>
  /**
   * The http(s) base URL a pin origin names, or undefined when it names nothing this fetcher
   * can reach: a multiaddr ending in /http or /https (/ip4/1.2.3.4/tcp/8080/http,
   * /dns4/gw.example/tcp/443/https, optionally followed by /p2p/<id>) or an http(s) URL.
   */
  originUrl: (origin: string) => string | undefined
}
