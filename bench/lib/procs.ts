/**
 * Child processes of the benchmark (the Cairn server, nginx) and everything that must be
 * undone at the end: every child is killed and every temp dir removed, on success, on
 * failure, on Ctrl-C, and (synchronously, as a last resort) when the process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()

export function trackDir (dir: string): void { dirs.add(dir) }

export function trackChild (c: ChildProcess): ChildProcess {
  children.add(c)
  c.once('exit', () => { children.delete(c) })
  return c
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild (c: ChildProcess, graceMs = 5000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) { children.delete(c); return }
  const gone = new Promise<void>(resolve => { c.once('exit', () => { resolve() }) })
  c.kill('SIGTERM')
  const t = setTimeout(() => { c.kill('SIGKILL') }, graceMs)
  await gone
  clearTimeout(t)
  children.delete(c)
}

export async function cleanup (): Promise<void> {
  await Promise.allSettled([...children].map(stopChild))
  for (const d of [...dirs]) {
    await rm(d, { recursive: true, force: true }).catch(() => {})
    dirs.delete(d)
  }
}

function cleanupSync (): void {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
  for (const d of dirs) { try { rmSync(d, { recursive: true, force: true }) } catch {} }
}

let installed = false
/** Make sure children die and temp dirs go whatever way the benchmark ends. */
export function installCleanupHandlers (): void {
  if (installed) return
  installed = true
  process.once('exit', cleanupSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping servers and removing temp files\n`)
      cleanup().finally(() => process.exit(130))
    })
  }
}

/** Spawn and wait until a line of its stdout matches `ready`; returns the match. */
export async function spawnReady (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, ready: RegExp, timeoutMs?: number, name: string }): Promise<{ child: ChildProcess, match: RegExpMatchArray }> {
  const child = trackChild(spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { fail(new Error(`${opts.name} did not start within ${opts.timeoutMs ?? 20000} ms`)) }, opts.timeoutMs ?? 20000)
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-4000)
      const m = opts.ready.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stdout?.resume() // keep draining (log lines) so the child never blocks on a full pipe
        child.off('exit', onExit)
        resolve({ child, match: m })
      }
    }
    const onExit = (code: number | null): void => { fail(new Error(`${opts.name} exited (${code ?? 'signal'}) before it was ready\n${out}\n${err}`)) }
    function fail (e: Error): void {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(e)
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Run to completion, collecting stdout; rejects on a non-zero exit. */
export async function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<string> {
  const child = trackChild(spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  const code = await new Promise<number | null>(resolve => { child.once('exit', resolve) })
  // never print credentials (curl -u user:key) into logs
  const shown = args.map((a, i) => args[i - 1] === '-u' ? a.replace(/:.*/, ':***') : a)
  if (code !== 0) throw new Error(`${cmd} ${shown.join(' ')} exited ${code ?? 'by signal'}: ${err.trim()}\n${out.slice(-2000)}`)
  return out
}

export interface MemStatus { rssKiB: number, hwmKiB: number }

export function memStatus (pid: number): MemStatus {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN)
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') }
}

/** Reset a process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
export function resetPeak (pid: number): boolean {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true } catch { return false }
}

/**
 * Peak RSS of `pid` over a phase: VmRSS sampled every `everyMs`, and VmHWM (the kernel's own
 * peak, reset at the start when allowed) read at the end; the larger of the two is the peak.
 */
export function watchRss (pid: number, everyMs = 50): { stop: () => { peakKiB: number, sampledKiB: number, hwmKiB: number, hwmReset: boolean, samples: number } } {
  const hwmReset = resetPeak(pid)
  let sampled = 0
  let samples = 0
  const tick = (): void => {
    try { sampled = Math.max(sampled, memStatus(pid).rssKiB); samples++ } catch {}
  }
  tick()
  const t = setInterval(tick, everyMs)
  return {
    stop: () => {
      clearInterval(t)
      tick()
      let hwm = NaN
      try { hwm = memStatus(pid).hwmKiB } catch {}
      const peak = hwmReset && Number.isFinite(hwm) ? Math.max(hwm, sampled) : sampled
      return { peakKiB: peak, sampledKiB: sampled, hwmKiB: hwm, hwmReset, samples }
    }
  }
}

const CLK_TCK = 100 // Linux USER_HZ

/** CPU seconds (user + system) used so far by `pid`, and with `children` by its live child processes too. */
export function cpuSeconds (pid: number, withChildren = false): number {
  let ticks = 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from the 3rd on
    ticks += Number(f[11]) + Number(f[12]) // utime, stime
  } catch { return NaN }
  let secs = ticks / CLK_TCK
  if (withChildren) {
    let kids: string[] = []
    try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean) } catch {}
    for (const k of kids) secs += cpuSeconds(Number(k), true) || 0
  }
  return secs
}
