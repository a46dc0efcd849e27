/**
 * Resume URLs of big (tus) uploads, kept in the config dir (`uploads.json`, 0600) so that
 * running the same `cairn put` again after an interruption continues where it stopped. An
 * upload is the same when server, key, path, size and modification time all are. Written
 * synchronously: the URL is on disk before the first byte is sent.
 */
import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { readPrivateSync, writePrivateSync } from './profiles.js'

interface Entry { url: string, path: string, size: number, savedAt: string }
const FILE = 'uploads.json'
/** the server forgets unfinished tus uploads after a day by default (CAIRN_TUS_EXPIRY_SECONDS) */
const MAX_AGE_MS = 7 * 86400_000

function load (): Record<string, Entry> {
  const text = readPrivateSync(FILE)
  if (text === undefined) return {}
  try { return JSON.parse(text) as Record<string, Entry> } catch { return {} }
}

export async function uploadKey (server: string, apiKey: string, path: string, folder = ''): Promise<{ key: string, size: number, path: string }> {
  const abs = resolve(path)
  const st = await stat(abs)
  // the key is hashed in: a resume URL is only offered back to the account that made it
  const key = createHash('sha256').update([server, createHash('sha256').update(apiKey).digest('hex'), abs, st.size, st.mtimeMs, folder].join('\n')).digest('hex')
  return { key, size: st.size, path: abs }
}

export function resumeUrlFor (key: string): string | undefined {
  return load()[key]?.url
}

export function saveResumeUrl (key: string, e: { url: string, path: string, size: number }): void {
  const all = load()
  const now = Date.now()
  for (const [k, v] of Object.entries(all)) if (now - Date.parse(v.savedAt) > MAX_AGE_MS) delete all[k]
  all[key] = { ...e, savedAt: new Date(now).toISOString() }
  writePrivateSync(FILE, JSON.stringify(all, null, 2) + '\n')
}

export function forgetResumeUrl (key: string): void {
  const all = load()
  if (all[key] === undefined) return
  delete all[key]
  writePrivateSync(FILE, JSON.stringify(all, null, 2) + '\n')
}
