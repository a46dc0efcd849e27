/** Cairn as real processes: `cairn serve` and CLI commands against one data dir. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js')

export function cli (dataDir: string, args: string[], env: Record<string, string> = {}): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, CAIRN_DATA_DIR: dataDir, ...env }, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

export interface ServerProcess { url: string, child: ChildProcess, stdout: () => string }

export async function serveProcess (dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...process.env, CAIRN_DATA_DIR: dataDir, CAIRN_PORT: '0', CAIRN_FILES_PORT: '0', CAIRN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start: ${out}`)) }, 20_000)
    const check = (): void => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    }
    child.stdout?.on('data', check)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`server exited ${String(code)}: ${out}`)) })
  })
  return { url, child, stdout: () => out }
}

export async function kill9 (p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  const exited = new Promise(resolve => p.child.once('exit', resolve))
  p.child.kill('SIGKILL')
  await exited
}

/** `cairn worker` against a data dir / database, running until killed */
export async function workerProcess (dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, 'worker'], {
    env: { ...process.env, CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`worker did not start: ${out}`)) }, 20_000)
    child.stdout?.on('data', () => { if (out.includes('worker running')) { clearTimeout(timer); resolve() } })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`worker exited ${String(code)}: ${out}`)) })
  })
  return { url: '', child, stdout: () => out }
}
