/** Sizes as people write them: "10GiB", "10 GB" (GB = GiB, as FluxDrive counts), "5120MB", "1048576". */
const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4
}

export function parseSize (input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input)
  const factor = m === null ? undefined : UNITS[m[2].toLowerCase()]
  if (m === null || factor === undefined) throw new Error(`not a size: "${input}" (use e.g. 1048576, 500MiB, 10GB)`)
  const n = Math.round(Number(m[1]) * factor)
  if (!Number.isSafeInteger(n)) throw new Error(`size too large: "${input}"`)
  return n
}
