/**
 * Named profiles of the client commands, in the user's config directory:
 * `$CAIRN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/cairn`, else `~/.config/cairn` (macOS:
 * `~/Library/Application Support/cairn`, Windows: `%APPDATA%\cairn`). The file holds keys,
 * so it is written 0600 in a 0700 directory, atomically (temp file, then rename).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CliError, EXIT } from './output.js'

export interface WalletSessionInfo { zelid: string, loginPhrase: string, signature: string, expireAt?: number }

export interface Profile {
  /** the server's API origin */
  url: string
  /** an account key (`ak_...` or `cairn_...`) */
  apiKey?: string
  /** what the server said the account is, for display */
  email?: string
  zelid?: string
  /** the IPFS gateway (files origin) for share links, when discovery is not wanted */
  filesUrl?: string
  /** a FluidCloud key (`fck_...`) for `share --cloud` */
  cloudKey?: string
  /** a wallet session (login --wallet) for `keys list|create|revoke` */
  session?: WalletSessionInfo
  /** the id of the key this CLI made at a wallet login, or of a password login's session key (so logout can revoke it) */
  keyId?: string
  /** when the key expires (ISO 8601): a password login's session key */
  keyExpiresAt?: string
  /** the key is a session key from `login --email` (logout revokes it on the server) */
  passwordLogin?: boolean
}

export interface ConfigFile { current?: string, profiles: Record<string, Profile> }

export function configDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_CONFIG_DIR !== undefined && env.CAIRN_CONFIG_DIR !== '') return env.CAIRN_CONFIG_DIR
  if (env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '') return join(env.XDG_CONFIG_HOME, 'cairn')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'cairn')
  if (process.platform === 'win32' && env.APPDATA !== undefined) return join(env.APPDATA, 'cairn')
  return join(homedir(), '.config', 'cairn')
}

export const configPath = (): string => join(configDir(), 'config.json')

/** write a file in the config dir: 0700 dir, 0600 file, all or nothing */
export async function writePrivate (name: string, data: string): Promise<void> {
  const dir = configDir()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700).catch(() => {})
  const path = join(dir, name)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode: 0o600 })
  await chmod(tmp, 0o600).catch(() => {})
  await rename(tmp, path)
}

/** the same, synchronously: for state that must be on disk before the next step (a resume URL) */
export function writePrivateSync (name: string, data: string): void {
  const dir = configDir()
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, name)
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, data, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

export function readPrivateSync (name: string): string | undefined {
  try {
    return readFileSync(join(configDir(), name), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function readPrivate (name: string): Promise<string | undefined> {
  try {
    return await readFile(join(configDir(), name), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function loadConfig (): Promise<ConfigFile> {
  const text = await readPrivate('config.json')
  if (text === undefined) return { profiles: {} }
  try {
    const c = JSON.parse(text) as ConfigFile
    if (c === null || typeof c !== 'object' || c.profiles === null || typeof c.profiles !== 'object') throw new Error('no "profiles" object')
    return c
  } catch (err) {
    throw new CliError(EXIT.usage, 'bad_config', `${configPath()} is not a valid config file (${(err as Error).message}); fix or remove it`)
  }
}

export async function saveConfig (c: ConfigFile): Promise<void> {
  await writePrivate('config.json', JSON.stringify(c, null, 2) + '\n')
}

/** the profile name in use: --profile, else CAIRN_PROFILE, else the file's current one, else "default" */
export function profileName (flag: string | undefined, c: ConfigFile): string {
  const env = process.env.CAIRN_PROFILE === '' ? undefined : process.env.CAIRN_PROFILE
  const name = flag ?? env ?? c.current ?? 'default'
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CliError(EXIT.usage, 'bad_profile', `profile names are 1-64 letters, digits, ".", "_" or "-": ${JSON.stringify(name)}`)
  return name
}

export interface Resolved { name: string, profile: Profile, config: ConfigFile }

/**
 * the profile with the environment's overrides (CAIRN_URL, CAIRN_API_KEY); `needKey` makes a
 * missing URL or key an auth error that says how to log in
 */
export async function resolveProfile (flag: string | undefined, o: { needKey?: boolean } = {}): Promise<Resolved> {
  const config = await loadConfig()
  const name = profileName(flag, config)
  const saved = config.profiles[name]
  const url = (process.env.CAIRN_URL === '' ? undefined : process.env.CAIRN_URL) ?? saved?.url
  if (url === undefined || url === '') {
    throw new CliError(EXIT.auth, 'not_logged_in', `no server for profile "${name}": run \`cairn login --url <server>${name === 'default' ? '' : ` --profile ${name}`}\` (or set CAIRN_URL and CAIRN_API_KEY)`)
  }
  const profile: Profile = { ...saved, url: normaliseUrl(url) }
  if (process.env.CAIRN_API_KEY !== undefined && process.env.CAIRN_API_KEY !== '') {
    profile.apiKey = process.env.CAIRN_API_KEY
    delete profile.keyExpiresAt; delete profile.passwordLogin; delete profile.keyId
  }
  if (process.env.CAIRN_FILES_URL !== undefined && process.env.CAIRN_FILES_URL !== '') profile.filesUrl = normaliseUrl(process.env.CAIRN_FILES_URL)
  if (o.needKey === true && (profile.apiKey === undefined || profile.apiKey === '')) {
    throw new CliError(EXIT.auth, 'not_logged_in', `not logged in (profile "${name}"): run \`cairn login${name === 'default' ? '' : ` --profile ${name}`}\``)
  }
  if (o.needKey === true && profile.keyExpiresAt !== undefined && Date.parse(profile.keyExpiresAt) <= Date.now()) {
    // known without asking the server: say what to do rather than "Invalid API key"
    throw new CliError(EXIT.auth, 'session_expired', `the session key of profile "${name}" expired at ${profile.keyExpiresAt}: run \`cairn login --email ${profile.email ?? '<email>'}${name === 'default' ? '' : ` --profile ${name}`}\` (or make a long-lived key with \`cairn keys create\`)`)
  }
  return { name, profile, config }
}

export function normaliseUrl (u: string): string {
  let url: URL
  try { url = new URL(u) } catch { throw new CliError(EXIT.usage, 'bad_url', `not a URL: ${JSON.stringify(u)} (e.g. https://cairn.example.com)`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(EXIT.usage, 'bad_url', `the server URL must be http(s): ${u}`)
  return url.toString().replace(/\/+$/, '')
}

/** a key shown without its secret part: its first characters only */
export function maskKey (key: string | undefined): string | undefined {
  if (key === undefined) return undefined
  return key.length <= 10 ? '…' : `${key.slice(0, 8)}…`
}
