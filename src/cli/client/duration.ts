/** Durations on the command line: `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds). */
import { InvalidArgumentError } from 'commander'

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 }

/** seconds, for commander's option parsing (a bad value is a usage error, exit 2) */
export function durationSeconds (v: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/i.exec(v.trim())
  const n = m === null ? NaN : Number(m[1]) * UNIT[(m[2] === '' ? 's' : m[2]).toLowerCase()]
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('a duration such as 90m, 12h, 7d or 2w (a bare number is seconds)')
  return n
}
