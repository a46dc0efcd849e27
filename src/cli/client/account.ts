/** Accounts and profiles: login, register, logout, profiles, keys, status. */
import { hostname } from 'node:os'
import { InvalidArgumentError, type Command } from 'commander'
import { AuthError, CairnClient, type AccountStatus } from '../../../packages/sdk/src/index.js'
import { action, clientCommand, clientOf, type Common, type Run } from './command.js'
import { bytes, CliError, emit, EXIT, note } from './output.js'
import { configPath, loadConfig, maskKey, normaliseUrl, profileName, resolveProfile, saveConfig, type ConfigFile, type Profile } from './profiles.js'
import { durationSeconds } from './duration.js'
import { ask, interactive, secret, stdinLine } from './prompt.js'

async function saveProfile (config: ConfigFile, name: string, p: Profile): Promise<void> {
  config.profiles[name] = p
  config.current ??= name
  await saveConfig(config)
}

/** the server URL for a login: --url, CAIRN_URL, the profile's, or asked */
async function serverUrl (flag: string | undefined, saved: Profile | undefined): Promise<string> {
  const u = flag ?? (process.env.CAIRN_URL === '' ? undefined : process.env.CAIRN_URL) ?? saved?.url ?? (interactive() ? await ask('Server URL (e.g. https://cairn.example.com): ') : undefined)
  if (u === undefined || u === '') throw new CliError(EXIT.usage, 'missing_url', 'which server? pass --url <server> (or set CAIRN_URL)')
  return normaliseUrl(u)
}

function accountView (name: string, p: Profile, st?: AccountStatus): Record<string, unknown> {
  return { profile: name, url: p.url, email: st?.email ?? p.email ?? null, zelid: p.zelid ?? null, plan: st?.plan, key: maskKey(p.apiKey) ?? null, key_status: st?.key_status, key_expires_at: p.keyExpiresAt ?? null, session_key: p.passwordLogin === true, config: configPath() }
}

/** a key the server accepts, or exit 3 */
async function verifiedStatus (url: string, apiKey: string, signal: AbortSignal): Promise<AccountStatus> {
  try {
    return await new CairnClient({ baseUrl: url, apiKey }).keys.status({ signal })
  } catch (err) {
    if (err instanceof AuthError) throw new CliError(EXIT.auth, err.code, `the server refused this key (${err.message}); nothing was saved`)
    throw err
  }
}

export function accountCommands (cli: Command): void {
  clientCommand(cli, 'login', 'log in to a Cairn server with email and password (a session key that expires), an API key, or a wallet; saved in a profile')
    .option('--url <url>', 'the server, e.g. https://cairn.example.com')
    .option('--email <email>', 'log in with the account\'s email and password: the server hands out a session key that expires')
    .option('--password <password>', 'with --email (visible in shell history: prefer the prompt or --password-stdin)')
    .option('--password-stdin', 'with --email: read the password from stdin')
    .option('--expires <duration>', 'with --email: how long the session key lives, 60s to 7d (default: the server\'s, 12h)', durationSeconds)
    .option('--api-key <key>', 'the key (visible in shell history: prefer the prompt, --api-key-stdin or CAIRN_API_KEY)')
    .option('--api-key-stdin', 'read the key from stdin (also when stdin is not a terminal)')
    .option('--wallet <address>', 'log in with a wallet instead: sign the login phrase (Zelcore, or an 0x address); a key for this CLI is made')
    .option('--signature-stdin', 'with --wallet: read the signature from stdin')
    .option('--files-url <url>', 'the IPFS gateway (files origin) for `share --gateway` links, if not the one the server names')
    .action(action(async (run, o: Common & { url?: string, email?: string, password?: string, passwordStdin?: boolean, expires?: number, apiKey?: string, apiKeyStdin?: boolean, wallet?: string, signatureStdin?: boolean, filesUrl?: string }) => {
      const ways = [o.email !== undefined, o.wallet !== undefined, o.apiKey !== undefined || o.apiKeyStdin === true].filter(Boolean).length
      if (ways > 1) throw new CliError(EXIT.usage, 'invalid_argument', '--email, --wallet and --api-key are different ways to log in: pick one')
      if (o.email === undefined && (o.password !== undefined || o.passwordStdin === true || o.expires !== undefined)) throw new CliError(EXIT.usage, 'invalid_argument', '--password, --password-stdin and --expires go with --email')
      const config = await loadConfig()
      const name = profileName(o.profile, config)
      const saved = config.profiles[name]
      const url = await serverUrl(o.url, saved)
      const filesUrl = o.filesUrl === undefined ? saved?.filesUrl : normaliseUrl(o.filesUrl)
      if (o.wallet !== undefined) {
        const p = await walletLogin(run, url, o.wallet, o.signatureStdin === true)
        const profile: Profile = { ...p, filesUrl, cloudKey: saved?.cloudKey }
        await saveProfile(config, name, profile)
        emit(run.json, accountView(name, profile), () => `logged in to ${url} as ${o.wallet as string} (profile ${name}); key ${maskKey(profile.apiKey) as string} made for this CLI`)
        return
      }
      if (o.email !== undefined) {
        const password = o.password ?? (o.passwordStdin === true ? await stdinLine('the password') : await secret('password', {}))
        const s = await new CairnClient({ baseUrl: url }).keys.login(o.email, password, { name: `cairn-cli@${hostname()}`, expiresIn: o.expires, signal: run.signal }).catch((err: unknown) => {
          if (err instanceof AuthError) throw new CliError(EXIT.auth, err.code, `${err.message}; nothing was saved`)
          throw err
        })
        const profile: Profile = { url, apiKey: s.apiKey, email: s.email, keyId: s.keyId, keyExpiresAt: s.expiresAt, passwordLogin: true, filesUrl, cloudKey: saved?.cloudKey }
        await saveProfile(config, name, profile)
        emit(run.json, accountView(name, profile), () => `logged in to ${url} as ${s.email} (profile ${name}); session key ${maskKey(s.apiKey) as string} saved in ${configPath()}, expires ${s.expiresAt}\nFor scripts, a key that lasts: \`cairn keys create --name ci\``)
        return
      }
      const envKey = process.env.CAIRN_API_KEY === '' ? undefined : process.env.CAIRN_API_KEY
      const apiKey = await secret('API key', { flag: o.apiKey ?? envKey, fromStdin: o.apiKeyStdin })
      const st = await verifiedStatus(url, apiKey, run.signal)
      const profile: Profile = { url, apiKey, email: st.email, filesUrl, cloudKey: saved?.cloudKey }
      await saveProfile(config, name, profile)
      emit(run.json, accountView(name, profile, st), () => `logged in to ${url} as ${st.email} (${st.plan}, profile ${name}); key ${maskKey(apiKey) as string} saved in ${configPath()}`)
    }))

  clientCommand(cli, 'register', 'create an account on the server with an email and a password; its key is saved in a profile')
    .option('--url <url>', 'the server')
    .option('--email <email>', 'the account\'s email (asked if missing)')
    .option('--password <password>', 'visible in shell history: prefer the prompt or --password-stdin')
    .option('--password-stdin', 'read the password from stdin')
    .action(action(async (run, o: Common & { url?: string, email?: string, password?: string, passwordStdin?: boolean }) => {
      const config = await loadConfig()
      const name = profileName(o.profile, config)
      const saved = config.profiles[name]
      const url = await serverUrl(o.url, saved)
      const email = o.email ?? (interactive() ? await ask('Email: ') : undefined)
      if (email === undefined || email === '') throw new CliError(EXIT.usage, 'missing_email', 'pass --email <email>')
      let password = o.password
      if (password === undefined && o.passwordStdin !== true && interactive()) {
        password = await ask('Password (8+ characters, mixed): ', { hidden: true })
        if (await ask('Again: ', { hidden: true }) !== password) throw new CliError(EXIT.usage, 'password_mismatch', 'the passwords differ')
      }
      password ??= await stdinLine('the password')
      const r = await new CairnClient({ baseUrl: url }).keys.register(email, password, { signal: run.signal })
      const profile: Profile = { url, apiKey: r.apiKey, email: r.email, filesUrl: saved?.filesUrl, cloudKey: saved?.cloudKey }
      await saveProfile(config, name, profile)
      emit(run.json, { ...accountView(name, profile), created_at: r.createdAt }, () =>
        `registered ${r.email} on ${url} (profile ${name}); key ${maskKey(r.apiKey) as string} saved in ${configPath()}\nA lost key is replaced with \`cairn keys renew\` (a code is mailed to ${r.email}).`)
    }))

  clientCommand(cli, 'logout', 'forget a profile\'s credentials; a password login\'s session key is revoked on the server, a wallet login\'s session ended and its key revoked')
    .option('--keep-key', 'do not revoke the key on the server (a password login\'s session key, or the key a wallet login made)')
    .action(action(async (run, o: Common & { keepKey?: boolean }) => {
      const config = await loadConfig()
      const name = profileName(o.profile, config)
      const p = config.profiles[name]
      if (p === undefined) throw new CliError(EXIT.notFound, 'no_profile', `no profile "${name}"`)
      const done: string[] = []
      if (p.passwordLogin === true && p.apiKey !== undefined && o.keepKey !== true) {
        // POST /users/logout revokes the key it is sent with; an expired or already revoked key is gone anyway
        await new CairnClient({ baseUrl: p.url, apiKey: p.apiKey }).keys.logout({ signal: run.signal }).then(() => done.push('session key revoked'), (err: unknown) => {
          if (!(err instanceof AuthError)) note(run.json, `cairn: could not revoke the session key on the server (${(err as Error).message}); it expires at ${p.keyExpiresAt ?? '?'}`)
        })
      }
      if (p.session !== undefined) {
        const client = new CairnClient({ baseUrl: p.url, session: p.session })
        if (p.keyId !== undefined && o.keepKey !== true) await client.keys.revoke(p.keyId, { signal: run.signal }).then(() => done.push('key revoked'), () => {})
        await client.wallet.logout({ signal: run.signal }).then(() => done.push('session ended'), () => {})
      }
      delete config.profiles[name]
      if (config.current === name) delete config.current
      await saveConfig(config)
      emit(run.json, { profile: name, logged_out: true, server: done }, () => `logged out of ${p.url} (profile ${name} removed${done.length > 0 ? `; ${done.join(', ')}` : ''})`)
    }))

  const profiles = clientCommand(cli, 'profiles', 'list the saved profiles').enablePositionalOptions()
    .action(action(async (run) => {
      const config = await loadConfig()
      const current = profileName(run.profile, config)
      const rows = Object.entries(config.profiles).map(([n, p]) => ({ name: n, current: n === current, url: p.url, email: p.email ?? null, zelid: p.zelid ?? null, key: maskKey(p.apiKey) ?? null, cloud_key: maskKey(p.cloudKey) ?? null }))
      emit(run.json, { current, config: configPath(), profiles: rows }, () => rows.length === 0
        ? `no profiles yet: run \`cairn login\` (config: ${configPath()})`
        : rows.map(r => `${r.current ? '*' : ' '} ${r.name.padEnd(12)} ${r.url}  ${r.email ?? r.zelid ?? ''}  ${r.key ?? '(no key)'}`).join('\n'))
    }))
  clientCommand(profiles, 'use <name>', 'make a profile the current one')
    .action(action(async (run, _o: Common, name: string) => {
      const config = await loadConfig()
      if (config.profiles[name] === undefined) throw new CliError(EXIT.notFound, 'no_profile', `no profile "${name}": run \`cairn login --profile ${name}\``)
      config.current = name
      await saveConfig(config)
      emit(run.json, { current: name }, () => `now using profile ${name} (${config.profiles[name].url})`)
    }))
  clientCommand(profiles, 'set-cloud-key', 'save a FluidCloud key (fck_live_/fck_test_, read from stdin or asked) in the profile, for `share --cloud`')
    .action(action(async (run) => {
      const r = await resolveProfile(run.profile)
      const key = await secret('FluidCloud key', {})
      await new CairnClient({ baseUrl: r.profile.url, cloudKey: key }).cloud.quota({ signal: run.signal }).catch((err: unknown) => {
        if (err instanceof AuthError) throw new CliError(EXIT.auth, err.code, `the server refused this FluidCloud key (${err.message}); nothing was saved`)
        throw err
      })
      r.config.profiles[r.name] = { ...(r.config.profiles[r.name] ?? { url: r.profile.url }), cloudKey: key }
      await saveConfig(r.config)
      emit(run.json, { profile: r.name, cloud_key: maskKey(key) }, () => `FluidCloud key ${maskKey(key) as string} saved in profile ${r.name}`)
    }))

  keysCommands(cli)

  clientCommand(cli, 'status', 'the server\'s health, and the account\'s usage against its capacity')
    .action(action(async (run) => {
      const { client, r } = await clientOf(run, { needKey: false })
      const health = await client.health({ signal: run.signal })
      const server = { url: r.profile.url, ok: health.ok, status: health.status, metadata: health.metadata ?? null }
      if (r.profile.apiKey === undefined) {
        emit(run.json, { profile: r.name, server, account: null }, () => `server   ${server.url}  ${server.status}\naccount  not logged in: run \`cairn login\``)
        process.exitCode = EXIT.auth
        return
      }
      if (r.profile.keyExpiresAt !== undefined && Date.parse(r.profile.keyExpiresAt) <= Date.now()) {
        emit(run.json, { profile: r.name, server, account: null, key_expires_at: r.profile.keyExpiresAt }, () => `server   ${server.url}  ${server.status}\naccount  the session key expired at ${r.profile.keyExpiresAt as string}: run \`cairn login --email ${r.profile.email ?? '<email>'}\``)
        process.exitCode = EXIT.auth
        return
      }
      const st = await client.keys.status({ signal: run.signal })
      // share links against their cap (GET /users/usage); a server without it just leaves them out
      const usage = await client.keys.usage({ signal: run.signal }).catch((err: unknown) => {
        if (err instanceof AuthError) throw err
        return undefined
      })
      const pct = st.capacity_bytes > 0 ? st.total_size_bytes / st.capacity_bytes * 100 : 0
      const account = {
        email: st.email, plan: st.plan, file_count: st.file_count, used_bytes: st.total_size_bytes, capacity_bytes: st.capacity_bytes, used_percent: Number(pct.toFixed(2)),
        share_links: usage?.share_links ?? null, share_links_max: usage?.share_links_max ?? null,
        key: maskKey(r.profile.apiKey), key_status: st.key_status, key_expires_at: r.profile.keyExpiresAt ?? null, created_at: st.created_at
      }
      emit(run.json, { profile: r.name, server, account }, () => [
        `server   ${server.url}  ${server.status}${server.metadata === null ? '' : ` (${server.metadata})`}`,
        `account  ${st.email} (${st.plan}), key ${account.key as string} ${st.key_status}${account.key_expires_at === null ? '' : ` until ${account.key_expires_at}`}, profile ${r.name}`,
        `usage    ${bytes(st.total_size_bytes)} of ${bytes(st.capacity_bytes)} (${pct.toFixed(1)}%), ${st.file_count} file${st.file_count === 1 ? '' : 's'}`,
        ...(usage === undefined ? [] : [`shares   ${usage.share_links} of ${usage.share_links_max} share links`])
      ].join('\n'))
      if (!health.ok) process.exitCode = EXIT.error
    }))
}

async function walletLogin (run: Run, url: string, address: string, fromStdin: boolean): Promise<Profile> {
  const client = new CairnClient({ baseUrl: url })
  const session = await client.wallet.login(address, async phrase => {
    // on stderr even with --json: a script reads it there, signs it, and writes the signature to stdin
    process.stderr.write(`Sign this message with the wallet of ${address} (Zelcore: "Sign message"; an 0x address: personal_sign), then paste the signature:\n${phrase}\n`)
    return await secret('signature', { fromStdin })
  }, { signal: run.signal }).catch((err: unknown) => {
    if (err instanceof AuthError) throw new CliError(EXIT.auth, err.code, `the server refused the signature (${err.message})`)
    throw err
  })
  const key = await client.keys.create({ name: `cairn-cli@${hostname()}` }, { signal: run.signal })
  return { url, apiKey: key.key, zelid: session.zelid, keyId: key.id, session: { zelid: session.zelid, loginPhrase: session.loginPhrase, signature: session.signature, expireAt: session.expireAt } }
}

function keysCommands (cli: Command): void {
  const keys = clientCommand(cli, 'keys', 'API keys: show the profile\'s, list, create (for scripts) and revoke; renew a lost registration key by the emailed code')
    .enablePositionalOptions()
    .action(action(async (run) => { await showKey(run) }))
  clientCommand(keys, 'show', 'the profile\'s key (its prefix only) and whether the server accepts it')
    .action(action(async (run) => { await showKey(run) }))

  clientCommand(keys, 'renew', 'replace an email account\'s key: a 6-digit code is mailed, then exchanged for a new key (the old ak_ keys stop working)')
    .option('--email <email>', 'the account\'s email (default: the profile\'s)')
    .option('--code <code>', 'the code from the mail (without it, one is sent first)')
    .option('--code-stdin', 'read the code from stdin')
    .option('--url <url>', 'the server (default: the profile\'s)')
    .action(action(async (run, o: Common & { email?: string, code?: string, codeStdin?: boolean, url?: string }) => {
      const config = await loadConfig()
      const name = profileName(o.profile, config)
      const saved = config.profiles[name]
      const url = await serverUrl(o.url, saved)
      const email = o.email ?? saved?.email
      if (email === undefined) throw new CliError(EXIT.usage, 'missing_email', 'pass --email <email>')
      const anon = new CairnClient({ baseUrl: url })
      let code = o.code
      if (code === undefined && o.codeStdin !== true) {
        await anon.keys.renewChallenge(email, { signal: run.signal })
        if (!interactive()) {
          emit(run.json, { email, code_sent: true }, () => `a code was mailed to ${email} (if it has an account); run \`cairn keys renew --email ${email} --code <code>\``)
          return
        }
        note(run.json, `a code was mailed to ${email} (if it has an account); it is valid for 15 minutes`)
        code = await ask('Code: ')
      }
      code ??= await stdinLine('the code')
      const apiKey = await anon.keys.renew(email, code, { signal: run.signal })
      const profile: Profile = { ...saved, url, apiKey, email }
      delete profile.session; delete profile.keyId
      await saveProfile(config, name, profile)
      emit(run.json, { ...accountView(name, profile), renewed: true }, () => `new key ${maskKey(apiKey) as string} saved in profile ${name}; the account's previous ak_ keys no longer work`)
    }))

  /** keys list|create|revoke: with a wallet session over /id/apikeys, else with the profile's key over /api/v1/users/keys */
  const keysClient = async (run: Run): Promise<{ client: CairnClient, wallet: boolean }> => {
    const r = await resolveProfile(run.profile, { needKey: false })
    if (r.profile.session !== undefined) return { client: (await clientOf(run, { needKey: false })).client, wallet: true }
    return { client: (await clientOf(run)).client, wallet: false }
  }
  const sessionHint = (wallet: boolean) => (err: unknown): never => {
    if (wallet && err instanceof AuthError) throw new CliError(EXIT.auth, err.code, `the wallet session was refused (${err.message}): log in again with \`cairn login --wallet <address>\``)
    throw err
  }
  clientCommand(keys, 'list', 'the account\'s live keys')
    .action(action(async (run) => {
      const { client, wallet } = await keysClient(run)
      const list = await client.keys.list({ signal: run.signal }).catch(sessionHint(wallet))
      const rows = list.map(k => ({ id: k.id, name: k.name, prefix: k.prefix, created_at: iso(k.createdAt), expires_at: iso(k.expiresAt), last_used_at: iso(k.lastUsedAt), current: k.current ?? null }))
      emit(run.json, { keys: rows }, () => rows.length === 0 ? '(no keys)' : rows.map(k => `${k.id}  ${k.prefix}…  ${k.name ?? ''}${k.expires_at === null ? '' : `  expires ${k.expires_at}`}${k.current === true ? '  (this profile\'s key)' : ''}`).join('\n'))
    }))
  clientCommand(keys, 'create', 'make a key (for scripts and CI: one that lasts); the secret is printed this once')
    .option('--name <name>', 'a label (default "default")')
    .option('--expires <duration>', 'expires after this long, e.g. 30d or 12h (default: never)', durationSeconds)
    .option('--expires-in-days <days>', 'expires after this many days', v => { const n = Number(v); if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number'); return n })
    .action(action(async (run, o: Common & { name?: string, expires?: number, expiresInDays?: number }) => {
      if (o.expires !== undefined && o.expiresInDays !== undefined) throw new CliError(EXIT.usage, 'invalid_argument', '--expires or --expires-in-days, not both')
      const { client, wallet } = await keysClient(run)
      const expiresIn = o.expires ?? (o.expiresInDays === undefined ? undefined : Math.round(o.expiresInDays * 86400))
      const k = await client.keys.create({ name: o.name, expiresIn }, { signal: run.signal }).catch(sessionHint(wallet))
      emit(run.json, { id: k.id, name: k.name, prefix: k.prefix, zelid: k.zelid, expires_at: iso(k.expiresAt), api_key: k.key }, () => `key ${k.id}${k.name === null ? '' : ` (${k.name})`}${k.expiresAt === null ? '' : `, expires ${iso(k.expiresAt) as string}`}\nAPI key (shown once): ${k.key}`)
    }))
  clientCommand(keys, 'revoke <id>', 'revoke a key at once (not the profile\'s own: `cairn logout` does that)')
    .action(action(async (run, _o: Common, id: string) => {
      const { client, wallet } = await keysClient(run)
      if (!wallet) {
        // the key this profile works with: revoking it would leave the profile dead
        const own = (await client.keys.list({ signal: run.signal })).find(k => k.id === id && k.current === true)
        if (own !== undefined) throw new CliError(EXIT.usage, 'own_key', `key ${id} is the one this profile uses: \`cairn logout\` revokes a session key; to replace a long-lived one, log in with another key first`)
      }
      await client.keys.revoke(id, { signal: run.signal }).catch(sessionHint(wallet))
      emit(run.json, { id, revoked: true }, () => `key ${id} revoked`)
    }))
}

async function showKey (run: Run): Promise<void> {
  const r = await resolveProfile(run.profile, { needKey: true })
  const st = await new CairnClient({ baseUrl: r.profile.url, apiKey: r.profile.apiKey }).keys.status({ signal: run.signal })
  emit(run.json, accountView(r.name, r.profile, st), () => `${maskKey(r.profile.apiKey) as string}  ${st.key_status}  ${st.email}  (profile ${r.name}, ${r.profile.url})`)
}

const iso = (ms: number | null | undefined): string | null => ms === null || ms === undefined ? null : new Date(ms).toISOString()
