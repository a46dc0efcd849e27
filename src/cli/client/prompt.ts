/** Reading secrets: a hidden prompt on a terminal, or a line from stdin for scripts. */
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { CliError, EXIT } from './output.js'

export const interactive = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true

/** ask on stderr; `hidden` echoes nothing (passwords, keys, signatures) */
export async function ask (question: string, o: { hidden?: boolean } = {}): Promise<string> {
  if (!interactive()) throw new CliError(EXIT.usage, 'no_terminal', `${question.replace(/:\s*$/, '')} is needed: no terminal to ask on (pass it on stdin or with a flag)`)
  let muted = false
  const out = new Writable({ write (chunk, _enc, cb) { if (!muted) process.stderr.write(chunk); cb() } })
  const rl = createInterface({ input: process.stdin, output: out, terminal: true })
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.question(question, answer => { resolve(answer.trim()) })
      muted = o.hidden === true
      rl.on('SIGINT', () => { reject(new CliError(EXIT.interrupted, 'interrupted', 'interrupted')) })
    })
  } finally {
    rl.close()
    if (o.hidden === true) process.stderr.write('\n')
  }
}

let stdinLines: string[] | undefined
/** the next non-empty line of stdin (all of stdin is read once, then handed out line by line) */
export async function stdinLine (what: string): Promise<string> {
  if (stdinLines === undefined) {
    const parts: Buffer[] = []
    for await (const chunk of process.stdin) parts.push(chunk as Buffer)
    stdinLines = Buffer.concat(parts).toString('utf8').split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  }
  const line = stdinLines.shift()
  if (line === undefined) throw new CliError(EXIT.usage, 'missing_input', `expected ${what} on stdin`)
  return line
}

/** a secret: the flag's value, else stdin when asked for or not a terminal, else a hidden prompt */
export async function secret (what: string, o: { flag?: string, fromStdin?: boolean }): Promise<string> {
  if (o.flag !== undefined && o.flag !== '') return o.flag
  if (o.fromStdin === true || !interactive()) return await stdinLine(what)
  const v = await ask(`${what[0].toUpperCase()}${what.slice(1)}: `, { hidden: true })
  if (v === '') throw new CliError(EXIT.usage, 'missing_input', `no ${what} given`)
  return v
}
