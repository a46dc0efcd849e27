/**
 * The HTML listing of a UnixFS directory without index.html: one row per entry (name, size
 * as its link records it, CID), streamed as the directory is read, so a HAMT of a million
 * entries starts at once and never sits in memory. Every name is HTML-escaped and
 * percent-encoded in its link; the page has no script and its CSP allows none.
 */
import type { UnixFSDirectoryEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'

/** bump when the page changes: directory ETags carry it, so caches drop old listings */
export const LISTING_VERSION = 'cairn-1'

export const LISTING_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function humanSize (n: bigint): string {
  const v = Number(n)
  if (v < 1024) return `${v} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let x = v / 1024
  let i = 0
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++ }
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`
}

export async function * directoryListing (opts: {
  /** the directory's path as requested, ending in / (still percent-encoded) */
  requestPath: string
  cid: CID
  entries: AsyncIterable<UnixFSDirectoryEntry>
  /** a query string to carry on every link (a signed URL's exp and sig), '' for none */
  linkQuery: string
  isRoot: boolean
}): AsyncGenerator<string> {
  const title = escapeHtml(safeDecode(opts.requestPath))
  yield '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${title}</title><style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}` +
    'td,th{padding:.3em .6em;border-bottom:1px solid #eee;text-align:left}td.size{text-align:right;white-space:nowrap}' +
    'td.cid{font-family:monospace;font-size:.85em;color:#666}a{color:#0b57d0;text-decoration:none}</style></head><body>\n' +
    `<h1>Index of ${title}</h1>\n<p class="cid">${escapeHtml(opts.cid.toString())}</p>\n<table><thead><tr><th>Name</th><th>Size</th><th>CID</th></tr></thead><tbody>\n`
  if (!opts.isRoot) yield `<tr><td><a href="../${opts.linkQuery}">..</a></td><td></td><td></td></tr>\n`
  let rows: string[] = []
  for await (const e of opts.entries) {
    const href = `./${encodeURIComponent(e.name)}${opts.linkQuery}`
    rows.push(`<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}</a></td><td class="size">${humanSize(e.size)}</td>` +
      // a signed URL covers its root only: a child's own /ipfs/<cid> link would not be signed
      (opts.linkQuery === '' ? `<td class="cid"><a href="/ipfs/${e.cid.toString()}">${e.cid.toString()}</a></td></tr>\n` : `<td class="cid">${e.cid.toString()}</td></tr>\n`))
    if (rows.length >= 256) { yield rows.join(''); rows = [] }
  }
  if (rows.length > 0) yield rows.join('')
  yield '</tbody></table>\n</body></html>\n'
}

function safeDecode (s: string): string {
  try { return decodeURIComponent(s) } catch { return s }
}
