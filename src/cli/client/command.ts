/** What every client command shares: --json/--profile/--quiet, exit codes, the SDK client. */
import { Command, type CommanderError } from 'commander'
import { CairnClient } from '../../../packages/sdk/src/index.js'
import { EXIT, reportError } from './output.js'
import { resolveProfile, type Resolved } from './profiles.js'

export interface Common { json?: boolean, profile?: string, quiet?: boolean }

export interface Run {
  json: boolean
  quiet: boolean
  profile?: string
  /** aborted on Ctrl-C: every SDK call takes it */
  signal: AbortSignal
}

const wantsJson = (): boolean => process.argv.includes('--json')

/**
 * a client command: the common options, usage errors as exit 2 (JSON on stderr with --json),
 * and an action whose errors become one line and the exit code of their kind
 */
export function clientCommand (parent: Command, nameAndArgs: string, description: string): Command {
  return parent.command(nameAndArgs).description(description)
    .option('--json', 'print one JSON document on stdout (errors as JSON on stderr)')
    .option('--profile <name>', 'the profile to use (default: $CAIRN_PROFILE, else the current one, else "default")')
    .option('-q, --quiet', 'no progress bars or notes on stderr')
    .showHelpAfterError(wantsJson() ? false : '(run with --help for usage)')
    .configureOutput({
      outputError: (str, write) => {
        if (wantsJson()) write(JSON.stringify({ error: { code: 'usage', message: str.replace(/^error: /, '').trim(), exit_code: EXIT.usage } }) + '\n')
        else write(str)
      }
    })
    .exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') process.exit(0)
      process.exit(EXIT.usage)
    })
}

/** wraps an action: (args..., opts, command) -> fn(run, args..., opts) */
export function action<A extends unknown[], O extends Common> (fn: (run: Run, opts: O, ...args: A) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command
    const opts = cmd.opts<O>()
    const args = all.slice(0, -2) as A
    const ctl = new AbortController()
    const onInt = (): void => { ctl.abort(Object.assign(new Error('interrupted'), { name: 'AbortError' })) }
    process.once('SIGINT', onInt)
    try {
      await fn({ json: opts.json === true, quiet: opts.quiet === true, profile: opts.profile, signal: ctl.signal }, opts, ...args)
    } catch (err) {
      process.exitCode = reportError(err, opts.json === true)
    } finally {
      process.off('SIGINT', onInt)
    }
  }
}

/** the SDK client of the profile in use (the key required unless needKey is false) */
export async function clientOf (run: Run, o: { needKey?: boolean } = {}): Promise<{ client: CairnClient, r: Resolved }> {
  const r = await resolveProfile(run.profile, { needKey: o.needKey ?? true })
  const p = r.profile
  const client = new CairnClient({
    baseUrl: p.url,
    apiKey: p.apiKey,
    cloudKey: p.cloudKey,
    session: p.session === undefined ? undefined : { zelid: p.session.zelid, loginPhrase: p.session.loginPhrase, signature: p.session.signature },
    resumableThreshold: thresholdFromEnv()
  })
  return { client, r }
}

/** CAIRN_RESUMABLE_THRESHOLD: uploads above this many bytes go over tus (default 16 MiB) */
function thresholdFromEnv (): number | undefined {
  const v = process.env.CAIRN_RESUMABLE_THRESHOLD
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}
