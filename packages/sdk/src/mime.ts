/** a few common types by extension; the server sniffs the rest */
const TYPES: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', html: 'text/html', css: 'text/css', js: 'text/javascript', json: 'application/json',
  csv: 'text/csv', xml: 'application/xml', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  mp3: 'audio/mpeg', wav: 'audio/wav', mp4: 'video/mp4', webm: 'video/webm'
}
export function lookup (path: string): string {
  const m = /\.([A-Za-z0-9]+)$/.exec(path)
  return m === null ? '' : TYPES[m[1].toLowerCase()] ?? ''
}
