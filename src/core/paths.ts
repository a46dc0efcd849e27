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

/**
 * A new name for a file or folder (rename): as upload names are kept (Unicode, NFC), but
 * refused rather than tidied: empty, '.' or '..', a '/' or '\\', control characters, longer
 * than `max` characters (255 for files, 200 for folders, as paths allow).
 */
export function entryName (input: unknown, max = MAX_NAME): string {
  if (typeof input !== 'string') throw invalid('name must be a string')
  const s = input.normalize('NFC')
  if (s.trim().length === 0) throw invalid('name must not be empty')
  if (s === '.' || s === '..') throw invalid('name may not be . or ..')
  if (s.includes('/') || s.includes('\\')) throw invalid('name may not contain / or \\')
  if (CONTROL.test(s)) throw invalid('name contains control characters')
  if ([...s].length > max) throw invalid(`name is longer than ${max} characters`)
  return s
}

/** A relative path inside an uploaded folder ("sub/dir/file.txt"): kept, but never escaping. */
export function relativeFilePath (sent: string | undefined, fallback: string): string {
  const segments = (sent ?? '').normalize('NFC').replace(/\\/g, '/').split('/').filter(s => s.length > 0)
  if (segments.length === 0) return fallback
  if (segments.length > MAX_DEPTH) throw invalid(`path is deeper than ${MAX_DEPTH} levels`)
  for (const s of segments) checkSegment(s, MAX_NAME)
  return segments.join('/')
}

/**
 * Strict paths for volumes and Fluxshare, where a path names one place and anything odd is
 * refused rather than tidied: not a string, empty segments ('//'), a leading '/' (absolute),
 * '.' or '..', NUL and other control characters, backslashes, separators or dots still
 * percent-encoded after the URL was decoded once (%2F, %5C, %2E: a double-encoded escape),
 * bidirectional-text controls (names that display differently from what they are), and
 * segments over 255 UTF-8 bytes or paths over 4096. Names are NFC-normalised, so a name
 * typed composed or decomposed is the same name. A trailing '/' is allowed. '' is the root.
 */
export const MAX_STRICT_SEGMENT_BYTES = 255
export const MAX_STRICT_PATH_BYTES = 4096
// eslint-disable-next-line no-control-regex
const STRICT_CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
const ENCODED = /%(2f|5c|2e|00)/i
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export function strictPath (input: unknown, what = 'path'): string[] {
  if (typeof input !== 'string') throw invalid(`${what} must be a string`)
  if (input === '') return []
  if (input.includes('\u0000')) throw invalid(`${what} contains a NUL character`)
  if (input.includes('\\')) throw invalid(`${what} contains a backslash`)
  if (input.startsWith('/')) throw invalid(`${what} must be relative (no leading /)`)
  if (input.includes('//')) throw invalid(`${what} contains an empty segment (//)`)
  if (LONE_SURROGATE.test(input)) throw invalid(`${what} is not valid Unicode`)
  const normal = input.normalize('NFC')
  if (Buffer.byteLength(normal) > MAX_STRICT_PATH_BYTES) throw invalid(`${what} is longer than ${MAX_STRICT_PATH_BYTES} bytes`)
  const segments = normal.split('/')
  if (segments[segments.length - 1] === '') segments.pop()
  if (segments.length > MAX_DEPTH) throw invalid(`${what} is deeper than ${MAX_DEPTH} levels`)
  for (const s of segments) strictName(s, what)
  return segments
}

/** One name (no '/'), by the same rules. */
export function strictName (input: unknown, what = 'name'): string {
  if (typeof input !== 'string' || input.length === 0) throw invalid(`${what} must be a non-empty string`)
  const s = input.normalize('NFC')
  if (s.includes('/')) throw invalid(`${what} may not contain /`)
  if (s === '.' || s === '..') throw invalid(`${what} may not be . or ..`)
  if (s.includes('\\')) throw invalid(`${what} contains a backslash`)
  if (STRICT_CONTROL.test(s)) throw invalid(`${what} contains control characters`)
  if (BIDI.test(s)) throw invalid(`${what} contains bidirectional-text control characters`)
  if (ENCODED.test(s)) throw invalid(`${what} contains a percent-encoded separator, dot or NUL`)
  if (Buffer.byteLength(s) > MAX_STRICT_SEGMENT_BYTES) throw invalid(`${what} is longer than ${MAX_STRICT_SEGMENT_BYTES} bytes`)
  return s
}
