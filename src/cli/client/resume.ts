/**
 * Resume URLs of big (tus) uploads, kept in the config dir (`uploads.json`, 0600) so that
 * running the same `cairn put` again after an interruption continues where it stopped. An
 * upload is the same when server, key, path, size and modification time all are.
 */
import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { readPrivate, writePrivate } from './profiles.js'

interface Entry { url: string, path: string, size: number, savedAt: string }
const FILE = 'uploads.json'
/** the server forgets unfinished tus uploads after a day by default (CAIRN_TUS_EXPIRY_SECONDS) */
const MAX_AGE_MS = 7 * 86400_000

async function load (): Promise<Record<string, Entry>> {
  const text = await readPrivate(FILE)
  if (text === undefined) return {}
  try { return JSON.parse(text) as Record<string, Entry> } catch { return {} }
}

export async function uploadKey (server: string, apiKey: string, path: string): Promise<{ key: string, size: number, path: string }> {
  const abs = resolve(path)
  const st = await stat(abs)
  // the key is hashed in: a resume URL is only offered back to the account that made it
  const key = createHash('sha256').update([server, createHash('sha256').update(apiKey).digest('hex'), abs, st.size, st.mtimeMs].join('\n')).digest('hex')
  return { key, size: st.size, path: abs }
}

export async function resumeUrlFor (key: string): Promise<string | undefined> {
  return (await load())[key]?.url
}

export async function saveResumeUrl (key: string, e: { url: string, path: string, size: number }): Promise<void> {
  const all = await load()
  const now = Date.now()
  for (const [k, v] of Object.entries(all)) if (now - Date.parse(v.savedAt) > MAX_AGE_MS) delete all[k]
  all[key] = { ...e, savedAt: new Date(now).toISOString() }
  await writePrivate(FILE, JSON.stringify(all, null, 2) + '\n')
}

export async function forgetResumeUrl (key: string): Promise<void> {
  const all = await load()
  if (all[key] === undefined) return
  delete all[key]
  await writePrivate(FILE, JSON.stringify(all, null, 2) + '\n')
}
