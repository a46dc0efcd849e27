/**
 * The operator CLI. It opens the same store as the server (CAIRN_DATA_DIR /
 * CAIRN_DATABASE_URL) and works while the server runs (SQLite WAL, or PostgreSQL).
 */
import { Command, InvalidArgumentError } from 'commander'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { openCore, type Core } from '../core/core.js'
import { CairnError, isCairnError } from '../core/errors.js'
import { JOB_STATES, type Job, type JobState } from '../core/ports/job-queue.js'
import type { FsckProblem } from '../core/fsck.js'
import { parseSize } from '../core/units.js'
import { accountView, keyView } from '../core/operator-views.js'
import { serve } from './serve.js'
import { migrateStoreCommand } from './migrate-store.js'
import { decryptName, encryptName } from '../client/encrypted-name.js'
import { parseScopes } from '../core/cloud/tenants.js'
import { worker } from './worker.js'
import { clientCommands } from './client/index.js'
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { parseGatewayCid, MAX_SIGNED_TTL_SECONDS } from '../core/gateway.js'

function size (v: string): number {
  try { return parseSize(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}
function bool (v: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true
  if (/^(false|0|no)$/i.test(v)) return false
  throw new InvalidArgumentError('expected true or false')
}
function when (v: string): number {
  const t = Date.parse(v)
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected a date, e.g. 2027-01-31 or 2027-01-31T12:00:00Z')
  return t
}

function print (data: unknown, json: boolean, text: () => string): void {
  process.stdout.write((json ? JSON.stringify(data, null, 2) : text()) + '\n')
}

async function withCore<T> (config: Config, fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await openCore(config)
  try { return await fn(core) } finally { await core.close() }
}

export function program (config: () => Config): Command {
  const cli = new Command('cairn').description('Cairn: content-addressed file storage').showHelpAfterError()

  cli.command('serve').description('run the HTTP server (and, unless CAIRN_SERVE_WORKER=false, the worker duties)').action(async () => { await serve(config()) })
  cli.command('worker').description('run the background duties (GC, leftover sweeps, jobs) without an HTTP API').action(async () => { await worker(config()) })

  const account = cli.command('account').description('manage accounts')
  account.command('create').description('create an account, with a first API key')
    .option('--plan <plan>', 'STARTER, STANDARD, ELITE or PRO', 'STARTER')
    .option('--zelid <address>', 'the FluxID (ZelID) the account signs in with')
    .option('--email <email>', 'contact email')
    .option('--capacity <size>', 'capacity override, e.g. 20GB', size)
    .option('--inactive', 'create with the subscription inactive')
    .option('--json', 'print JSON')
    .action(async (o: { plan: string, zelid?: string, email?: string, capacity?: number, inactive?: boolean, json?: boolean }) => {
      await withCore(config(), async core => {
        const a = await core.accounts.create({ plan: o.plan, zelid: o.zelid, email: o.email, capacityBytes: o.capacity, active: o.inactive !== true })
        const { key, info } = await core.accounts.createKey(a.id, { name: 'default' })
        print({ ...accountView(a), api_key: key, key_id: info.id }, o.json === true, () =>
          `account ${a.id} (${a.plan}${a.zelid === null ? '' : `, zelid ${a.zelid}`})\nAPI key (shown once): ${key}`)
      })
    })
  account.command('update <account_id>').description('change plan, capacity or subscription state')
    .option('--active <bool>', 'subscription active: true or false', bool)
    .option('--plan <plan>', 'STARTER, STANDARD, ELITE or PRO')
    .option('--capacity <size>', 'capacity override, e.g. 20GB; "plan" drops the override', v => v === 'plan' ? 'plan' : size(v))
    .option('--json', 'print JSON')
    .action(async (id: string, o: { active?: boolean, plan?: string, capacity?: number | 'plan', json?: boolean }) => {
      await withCore(config(), async core => {
        const a = await core.accounts.update(id, { active: o.active, plan: o.plan, capacityBytes: o.capacity === 'plan' ? null : o.capacity })
        print(accountView(a), o.json === true, () => `account ${a.id}: ${a.plan}, ${a.capacityBytes} bytes, ${a.active ? 'active' : 'inactive'}`)
      })
    })
  account.command('list').description('list accounts').option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withCore(config(), async core => {
        const rows = await core.accounts.list()
        const out = await Promise.all(rows.map(async a => ({ ...accountView(a), storage_used: await core.drive.usage(a.id) })))
        print(out, o.json === true, () => out.map(a => `${String(a.account_id)}  ${String(a.plan).padEnd(8)} ${a.active === true ? 'active  ' : 'inactive'} ${String(a.zelid ?? '-')}  used ${a.storage_used}/${String(a.capacity_bytes)}`).join('\n') || '(no accounts)')
      })
    })

  const key = cli.command('key').description('manage API keys')
  key.command('create <account_id>').description('create an API key (printed once)')
    .option('--name <name>', 'a label for the key', 'cli')
    .option('--expires <date>', 'expiry date', when)
    .option('--json', 'print JSON')
    .action(async (accountId: string, o: { name: string, expires?: number, json?: boolean }) => {
      await withCore(config(), async core => {
        const { key: secret, info } = await core.accounts.createKey(accountId, { name: o.name, expiresAt: o.expires ?? null })
        print({ ...keyView(info), api_key: secret }, o.json === true, () => `key ${info.id} (${info.name})\nAPI key (shown once): ${secret}`)
      })
    })
  key.command('list [account_id]').description('list keys (never their secrets)').option('--json', 'print JSON')
    .action(async (accountId: string | undefined, o: { json?: boolean }) => {
      await withCore(config(), async core => {
        const rows = (await core.accounts.listKeys(accountId)).map(keyView)
        print(rows, o.json === true, () => rows.map(k => `${String(k.key_id)}  ${String(k.prefix)}…  ${String(k.name)}  account ${String(k.account_id)}${k.revoked === true ? '  REVOKED' : ''}`).join('\n') || '(no keys)')
      })
    })
  key.command('revoke <key_id>').description('revoke a key at once').option('--json', 'print JSON')
    .action(async (keyId: string, o: { json?: boolean }) => {
      await withCore(config(), async core => {
        await core.accounts.revokeKey(keyId)
        print({ key_id: keyId, revoked: true }, o.json === true, () => `key ${keyId} revoked`)
      })
    })

  const cloud = cli.command('cloud').description('FluidCloud partner API: tenants and their fck_ keys (never made through the API)')
  const tenant = cloud.command('tenant').description('manage FluidCloud tenants')
  tenant.command('create').description('create a tenant: a live and a separate test environment')
    .requiredOption('--name <name>', 'the tenant\'s name')
    .option('--plan <plan>', 'STARTER, STANDARD, ELITE or PRO', 'ELITE')
    .option('--email <email>', 'contact email')
    .option('--capacity <size>', 'storage pool override per environment, e.g. 200GB', size)
    .option('--json', 'print JSON')
    .action(async (o: { name: string, plan: string, email?: string, capacity?: number, json?: boolean }) => {
      await withCore(config(), async core => {
        const t = await core.cloudTenants.create({ name: o.name, plan: o.plan, email: o.email, capacityBytes: o.capacity })
        const view = { tenant_id: t.id, name: t.name, live_account_id: t.liveAccountId, test_account_id: t.testAccountId }
        print(view, o.json === true, () => `tenant ${t.id} (${t.name})\nlive account ${t.liveAccountId}, test account ${t.testAccountId}`)
      })
    })
  tenant.command('list').description('list tenants').option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withCore(config(), async core => {
        const rows = (await core.cloudTenants.list()).map(t => ({ tenant_id: t.id, name: t.name, live_account_id: t.liveAccountId, test_account_id: t.testAccountId }))
        print(rows, o.json === true, () => rows.map(t => `${t.tenant_id}  ${t.name}`).join('\n') || '(no tenants)')
      })
    })
  const ckey = cloud.command('key').description('manage FluidCloud API keys')
  ckey.command('create').description('create a key (printed once)')
    .requiredOption('--tenant <tenant_id>', 'the tenant')
    .option('--scopes <list>', 'comma-separated: spaces:read,spaces:write,folders:read,folders:write,files:read,files:write,shares:read,shares:write,quota:read, or "all"', 'all')
    .option('--test', 'a fck_test_ key for the tenant\'s test environment')
    .option('--label <label>', 'a label for the key', 'cli')
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string, scopes: string, test?: boolean, label: string, json?: boolean }) => {
      await withCore(config(), async core => {
        const { key: secret, info } = await core.cloudTenants.createKey(o.tenant, { env: o.test === true ? 'test' : 'live', scopes: parseScopes(o.scopes), label: o.label })
        print({ key_id: info.id, tenant_id: info.tenantId, environment: info.env, label: info.label, scopes: info.scopes, api_key: secret }, o.json === true,
          () => `key ${info.id} (${info.env}, ${info.scopes.join(' ')})\nAPI key (shown once): ${secret}`)
      })
    })
  ckey.command('list').description('list keys (never their secrets)').option('--tenant <tenant_id>', 'only this tenant\'s').option('--json', 'print JSON')
    .action(async (o: { tenant?: string, json?: boolean }) => {
      await withCore(config(), async core => {
        const rows = (await core.cloudTenants.listKeys(o.tenant)).map(k => ({ key_id: k.id, tenant_id: k.tenantId, environment: k.env, label: k.label, prefix: k.prefix, scopes: k.scopes, revoked: k.revokedAt !== null }))
        print(rows, o.json === true, () => rows.map(k => `${k.key_id}  ${k.prefix}…  ${k.environment}  ${k.label}  ${k.scopes.join(',')}${k.revoked ? '  REVOKED' : ''}`).join('\n') || '(no keys)')
      })
    })
  ckey.command('revoke <key_id>').description('revoke a key at once').option('--json', 'print JSON')
    .action(async (keyId: string, o: { json?: boolean }) => {
      await withCore(config(), async core => {
        await core.cloudTenants.revokeKey(keyId)
        print({ key_id: keyId, revoked: true }, o.json === true, () => `key ${keyId} revoked`)
      })
    })

  cli.command('fsck').description('re-hash every stored block and report mismatches or missing blocks; check every account\'s usage counter against its entries')
    .option('--repair-usage', 'set each account counter that fsck finds wrong (usage_mismatch) to the figure recomputed from its entries')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean, repairUsage?: boolean }) => {
      const { report, repaired } = await withCore(config(), async core => {
        const report = await core.fsck()
        const repaired: Array<{ account: string, before: number, after: number }> = []
        if (o.repairUsage === true) {
          for (const p of report.problems) {
            if (p.problem === 'usage_mismatch' && p.account !== undefined) repaired.push({ account: p.account, ...await core.drive.repairUsage(p.account) })
          }
        }
        return { report, repaired }
      })
      const where = (p: FsckProblem): string => p.account !== undefined ? `account ${p.account}` : `pack ${p.pack ?? '?'}${p.cid === undefined ? '' : ` block ${p.cid}`}`
      print(o.repairUsage === true ? { ...report, repaired } : report, o.json === true, () => [
        `checked ${report.packs} packs, ${report.blocks} blocks, ${report.bytes} bytes, ${report.accounts} accounts' usage`,
        ...report.problems.map(p => `PROBLEM ${p.problem} ${where(p)}${p.detail === undefined ? '' : `: ${p.detail}`}`),
        ...repaired.map(r => `REPAIRED usage of account ${r.account}: ${r.before} -> ${r.after} bytes`),
        report.problems.length === 0 ? 'OK' : `${report.problems.length} problem(s)${repaired.length > 0 ? `, ${repaired.length} repaired` : ''}`
      ].join('\n'))
      if (report.problems.length > repaired.length) process.exitCode = 1
    })

  cli.command('gc').description('free unreferenced content now (after its grace period)')
    .option('--grace <seconds>', 'override the grace period for this run', v => { const n = Number(v); if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('seconds'); return n })
    .option('--json', 'print JSON')
    .action(async (o: { grace?: number, json?: boolean }) => {
      const c = config()
      const report = await withCore(o.grace === undefined ? c : { ...c, gcGraceSeconds: o.grace }, async core => await core.gc())
      print(report, o.json === true, () => `freed ${report.contentsFreed} contents, ${report.packsDeleted} packs, ${report.bytesFreed} bytes`)
    })

  migrateStoreCommand(cli, config)
  clientCommands(cli) // login, put, get, ls, ...: a client of a server over HTTP (docs/cli.md)

  const jobs = cli.command('jobs').description('the job queue: tasks and mail (dead jobs are the FAILURE ones)')
  const jobLine = (j: Job): string => `${j.id}  ${j.state.padEnd(8)} ${j.kind}  attempts ${j.attempts}/${j.maxAttempts}  ${new Date(j.createdAt).toISOString()}${j.error === null ? '' : `  ${j.error}`}`
  jobs.command('list').description('jobs, newest first')
    .option('--state <state>', `one of ${JOB_STATES.join(', ')} (FAILURE: the dead jobs)`, v => {
      if (!(JOB_STATES as readonly string[]).includes(v.toUpperCase())) throw new InvalidArgumentError(`one of ${JOB_STATES.join(', ')}`)
      return v.toUpperCase() as JobState
    })
    .option('--kind <kind>', 'e.g. files.delete_bulk, account.renewal_code')
    .option('--account <account_id>', 'one account\'s jobs')
    .option('--limit <n>', 'at most this many (1-1000)', v => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a count'); return n }, 100)
    .option('--json', 'print JSON')
    .action(async (o: { state?: JobState, kind?: string, account?: string, limit: number, json?: boolean }) => {
      const list = await withCore(config(), async core => await core.jobs.list({ state: o.state, kind: o.kind, accountId: o.account, limit: o.limit }))
      // payloads may carry what the job needs (addresses, CIDs): shown with --json only
      print(list, o.json === true, () => list.length === 0 ? 'no jobs' : list.map(jobLine).join('\n'))
    })
  for (const [verb, what] of [['retry', 'run a FAILURE or REVOKED job again from its first attempt'], ['cancel', 'revoke a job that has not finished']] as const) {
    jobs.command(`${verb} <job_id>`).description(what).option('--json', 'print JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const job = await withCore(config(), async core => {
          const before = await core.jobs.get(id)
          if (before === undefined) throw new CairnError('not_found', `job ${id} not found`)
          const after = verb === 'retry' ? await core.jobs.retry(id) : await core.jobs.cancel(id)
          if (after === undefined || (verb === 'cancel' && after.state !== 'REVOKED')) throw new CairnError('conflict', `job ${id} is ${before.state}: nothing to ${verb}`)
          return after
        })
        print(job, o.json === true, () => jobLine(job))
      })
  }

  const car = cli.command('car').description('CAR files in and out (every imported block is verified against its CID)')
  car.command('import <file>').description('import a CAR into an account: one pack of its own; each root becomes a file entry named by its CID')
    .requiredOption('--account <id>', 'the account that will hold the roots')
    .option('--space <name>', 'the space the root entries go into', 'fluxdrive')
    .option('--no-pin-roots', 'store the blocks only: no entries, nothing counted, collected after the grace period')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { account: string, space: string, pinRoots: boolean, json?: boolean }) => {
      await withCore(config(), async core => {
        const account = await core.accounts.get(o.account)
        const budget = await core.drive.budgetFor(account)
        const out = await core.drive.importCar(account, o.space, createReadStream(file), { pinRoots: o.pinRoots, budget })
        print(out, o.json === true, () => [
          ...out.roots.map(r => `root ${r.cid} (${r.kind}, ${r.size} bytes${r.missing === undefined ? '' : `, incomplete: ${r.missing} missing`})`),
          `${out.blockCount} blocks, ${out.blockBytes} bytes; ${out.entries.length} new entr${out.entries.length === 1 ? 'y' : 'ies'}`
        ].join('\n'))
      })
    })
  car.command('export <cid>').description('write the DAG under a stored CID to stdout as a CARv1 (depth-first, each block once)')
    .action(async (cidArg: string) => {
      if (process.stdout.isTTY) throw new CairnError('invalid_argument', 'refusing to write a CAR to a terminal: redirect it, e.g. cairn car export <cid> > out.car')
      await withCore(config(), async core => {
        const stream = await core.gateway.exportCar(parseGatewayCid(cidArg.replace(/^\/?ipfs\//, '')))
        await pipeline(Readable.from(stream), process.stdout)
      })
    })

  const gateway = cli.command('gateway').description('the IPFS gateway on the files origin')
  gateway.command('sign <cid>').description('a signed, expiring URL of the files origin that serves <cid> and every path below it (needed when CAIRN_GATEWAY_POLICY=signed)')
    .option('--ttl <seconds>', `how long the URL works (1 to ${MAX_SIGNED_TTL_SECONDS})`, v => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('seconds'); return n }, 3600)
    .option('--json', 'print JSON')
    .action(async (cidArg: string, o: { ttl: number, json?: boolean }) => {
      await withCore(config(), async core => {
        const signed = await core.gateway.sign(parseGatewayCid(cidArg.replace(/^\/?ipfs\//, '')), o.ttl)
        print({ ...signed, expires_at: new Date(signed.exp * 1000).toISOString() }, o.json === true, () => signed.url)
      })
    })

  const buckets = cli.command('buckets').description('helpers for Upload API (/buckets) clients')
  buckets.command('encrypt-name <name>').description('encrypt a file name for encryptedName: AES-256 keyed by the session id (QS Share; see docs/upload-sessions.md)')
    .requiredOption('--session <sessionId>', 'the upload session id')
    .action((name: string, o: { session: string }) => { process.stdout.write(encryptName(name, o.session) + '\n') })
  buckets.command('decrypt-name <encryptedName>').description('decrypt an encryptedName with the session id')
    .requiredOption('--session <sessionId>', 'the upload session id')
    .action((enc: string, o: { session: string }) => {
      try {
        process.stdout.write(decryptName(enc, o.session) + '\n')
      } catch (err) {
        process.stderr.write(`cairn: ${(err as Error).message}\n`)
        process.exitCode = 2
      }
    })
  return cli
}

let loaded: Config | undefined
const getConfig = (): Config => { loaded ??= loadConfig(); return loaded }

program(getConfig).parseAsync(process.argv).catch((err: unknown) => {
  if (isCairnError(err) || err instanceof ConfigError) {
    process.stderr.write(`cairn: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`cairn: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
