/**
 * Folder paths and file names as users send them. Rules (FluxDrive's): '/'-separated; leading,
 * trailing and doubled slashes ignored; at most 32 levels and 200 characters per segment;
 * '.' and '..' refused; no control characters. Names are Unicode, NFC-normalised.
 */
import { invalid } from './errors.js'

export const MAX_DEPTH = 32
export const MAX_SEGMENT = 200
export const MAX_NAME = 255

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

export function parseFolderPath (input: string | undefined): string[] {
  if (input === undefined) return []
  const segments = input.normalize('NFC').split('/').filter(s => s.length > 0)
  if (segments.length > MAX_DEPTH) throw invalid(`path is deeper than ${MAX_DEPTH} levels`)
  for (const s of segments) checkSegment(s, MAX_SEGMENT)
  return segments
}

function checkSegment (s: string, max: number): void {
  if (s === '.' || s === '..') throw invalid(`path segment "${s}" is not allowed`)
  if ([...s].length > max) throw invalid(`path segment is longer than ${max} characters`)
  if (CONTROL.test(s)) throw invalid('path contains control characters')
  if (s.includes('\\')) throw invalid('path contains a backslash')
}

/** A file's display name: the last segment of what the client sent, or a fallback. */
export function fileName (sent: string | undefined, fallback: string): string {
  const base = (sent ?? '').normalize('NFC').split(/[\\/]/).filter(Boolean).pop() ?? ''
  if (base === '' || base === '.' || base === '..') return fallback
  if (CONTROL.test(base)) throw invalid('file name contains control characters')
  if ([...base].length > MAX_NAME) throw invalid(`file name is longer than ${MAX_NAME} characters`)
  return base
}

/** A relative path inside an uploaded folder ("sub/dir/file.txt"): kept, but never escaping. */
export function relativeFilePath (sent: string | undefined, fallback: string): string {
  const segments = (sent ?? '').normalize('NFC').replace(/\\/g, '/').split('/').filter(s => s.length > 0)
  if (segments.length === 0) return fallback
  if (segments.length > MAX_DEPTH) throw invalid(`path is deeper than ${MAX_DEPTH} levels`)
  for (const s of segments) checkSegment(s, MAX_NAME)
  return segments.join('/')
}
