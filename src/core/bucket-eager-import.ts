/**
 * Importing a multipart upload while its parts arrive, so that completing it does not mean
 * reading and importing the whole file again. Once part 1 is kept, an import starts that
 * reads each part from the part store as soon as that part is kept, in order. After the last
 * part it waits for completion before ending its source, so nothing is committed before
 * `complete`. At completion the tags of the parts it fed (each read from the metadata store
 * before the part was opened) are compared with the upload's parts now; on any difference (a
 * part sent again after it was fed, another profile, a failure) the eager import is dropped
 * and completion imports the parts from scratch, as it would without it. So the eager import
 * only ever saves time; it never decides what the file is.
 *
 * In-process only: with several nodes, a completion that reaches another node imports from
 * scratch there, and the abandoned eager import here is dropped by the next sweep.
 */
import type { Account } from './accounts.js'
import type { ImportProfile } from './content/profiles.js'
import type { Drive, Entry } from './drive.js'
import type { PartStore } from './ports/part-store.js'

export interface EagerSource {
  /** the tag of part n once it is kept (undefined while it is not) */
  partTag: (n: number) => Promise<string | undefined>
}

interface Running {
  profile: ImportProfile
  totalParts: number
  /** tags of the parts fed, by part number */
  fed: Map<number, string>
  /** resolves when every part is fed (or the import failed) */
  fedAll: Promise<void>
  /** lets the source end, so the import commits */
  release: () => void
  abort: AbortController
  /** the committed entry (after release) */
  result: Promise<Entry>
  failed: boolean
  /** wake the feeder: a part was kept */
  poke: () => void
  startedAt: number
}

/** open eager imports per process: each holds an importer and a pack being written */
const MAX_RUNNING = 8

export class EagerImports {
  private readonly running = new Map<string, Running>()

  constructor (private readonly drive: Drive, private readonly parts: PartStore) {}

  /** Start importing `uploadId` in the background (no-op when one runs or too many do). */
  start (uploadId: string, account: Account, spaceName: string, folderPath: string, fileName: string, totalParts: number, profile: ImportProfile, src: EagerSource): void {
    if (this.running.has(uploadId) || this.running.size >= MAX_RUNNING || totalParts < 2) return
    const abort = new AbortController()
    let wake: () => void = () => {}
    let kept = new Promise<void>(resolve => { wake = resolve })
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    let fedAllResolve: () => void = () => {}
    const fedAll = new Promise<void>(resolve => { fedAllResolve = resolve })
    const fed = new Map<number, string>()
    const parts = this.parts
    const r: Running = {
      profile,
      totalParts,
      fed,
      fedAll,
      release,
      abort,
      result: Promise.resolve(undefined as unknown as Entry),
      failed: false,
      poke: () => { const w = wake; kept = new Promise<void>(resolve => { wake = resolve }); w() },
      startedAt: Date.now()
    }
    const aborted = new Promise<never>((_resolve, reject) => {
      abort.signal.addEventListener('abort', () => { reject(new Error('eager import dropped')) }, { once: true })
    })
    aborted.catch(() => {})
    async function * content (): AsyncIterable<Uint8Array> {
      for (let n = 1; n <= totalParts; n++) {
        let tag: string | undefined
        for (;;) {
          const woken = kept // taken before the lookup, so a part kept during it still wakes us
          tag = await src.partTag(n)
          if (tag !== undefined) break
          await Promise.race([woken, aborted])
        }
        abort.signal.throwIfAborted()
        fed.set(n, tag)
        yield * parts.readPart(uploadId, n, abort.signal)
      }
      fedAllResolve()
      await Promise.race([released, aborted])
    }
    r.result = this.drive.putFiles(account, spaceName, (async function * () {
      yield { filename: fileName, mimetype: undefined, content: content() }
    })(), { folderPath, profile, budget: { remaining: Number.MAX_SAFE_INTEGER, maxFileBytes: Number.MAX_SAFE_INTEGER, seen: 0 }, signal: abort.signal })
      .then(([e]) => e)
    r.result.catch(() => { r.failed = true; fedAllResolve() })
    this.running.set(uploadId, r)
  }

  /** A part of `uploadId` was kept: let its import read on. */
  kept (uploadId: string): void { this.running.get(uploadId)?.poke() }

  /**
   * Finish the eager import of `uploadId` if it fed exactly the parts given (their tags in
   * order) with this profile: the committed entry. Undefined when there is none or it does
   * not match (it is dropped then) and the caller imports from scratch.
   */
  async finish (uploadId: string, tags: string[], profile: ImportProfile): Promise<Entry | undefined> {
    const r = this.running.get(uploadId)
    if (r === undefined) return undefined
    this.running.delete(uploadId)
    if (r.profile !== profile || r.totalParts !== tags.length) { r.abort.abort(); return undefined }
    await r.fedAll
    const same = !r.failed && tags.every((t, i) => r.fed.get(i + 1) === t)
    if (!same) { r.abort.abort(); return undefined }
    r.release()
    try {
      return await r.result
    } catch {
      return undefined
    }
  }

  /** Drop the eager import of an upload (deleted, abandoned, completed elsewhere). */
  drop (uploadId: string): void {
    const r = this.running.get(uploadId)
    if (r === undefined) return
    this.running.delete(uploadId)
    r.abort.abort()
  }

  ids (): string[] { return [...this.running.keys()] }

  close (): void { for (const id of this.ids()) this.drop(id) }
}
