/**
 * A real Cairn server as its own process (`node dist/src/cli/main.js serve`), exactly as an
 * operator starts it, with an account made by the operator CLI against the same data dir.
 */
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run, spawnReady, stopChild } from './procs.js'

/** dist/bench/lib -> dist/src/cli/main.js */
export const CLI_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js')

export interface CairnServer {
  url: string
  /** the files origin (the IPFS gateway) */
  filesUrl: string
  pid: number
  child: ChildProcess
  env: NodeJS.ProcessEnv
  stop: () => Promise<void>
}

export function serverEnv (dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CAIRN_DATA_DIR: dataDir,
    CAIRN_HOST: '127.0.0.1',
    CAIRN_PORT: '0',
    CAIRN_FILES_PORT: '0',
    CAIRN_GC_INTERVAL_SECONDS: '0',
    CAIRN_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...extra
  }
}

export async function startCairn (env: NodeJS.ProcessEnv): Promise<CairnServer> {
  const { child, match } = await spawnReady(process.execPath, [CLI_MAIN, 'serve'], {
    env, name: 'cairn serve', ready: /listening on (http:\/\/\S+)\n\s+files .*? on (http:\/\/[^\s,]+)/
  })
  if (child.pid === undefined) throw new Error('cairn serve has no pid')
  return { url: match[1], filesUrl: match[2], pid: child.pid, child, env, stop: async () => { await stopChild(child, 15_000) } }
}

export interface Credentials { zelid: string, key: string, auth: string }

/** `cairn account create --zelid <addr> --plan PRO --json`: prints the API key. */
export async function createAccount (env: NodeJS.ProcessEnv, zelid: string, plan = 'PRO'): Promise<Credentials> {
  const out = await run(process.execPath, [CLI_MAIN, 'account', 'create', '--zelid', zelid, '--plan', plan, '--json'], { env })
  const parsed = JSON.parse(out) as { api_key?: string }
  if (typeof parsed.api_key !== 'string') throw new Error(`account create printed no api_key: ${out}`)
  return { zelid, key: parsed.api_key, auth: 'Basic ' + Buffer.from(`${zelid}:${parsed.api_key}`).toString('base64') }
}
