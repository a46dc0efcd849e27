/** Files: put, get, ls, rm, pin, unpin, share, and the Pinning Service API's pins. */
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { CairnApiError, NotFoundError, type CairnClient, type FileRecord, type PinStatus } from '../../../packages/sdk/src/index.js'
import { fileFromPath, folderFromPath } from '../../../packages/sdk/src/node.js'
import { action, clientCommand, clientOf, type Common, type Run } from './command.js'
import { durationSeconds } from './duration.js'
import { bytes, CliError, emit, EXIT, note } from './output.js'
import { ProgressBar } from './progress.js'
import { forgetResumeUrl, resumeUrlFor, saveResumeUrl, uploadKey } from './resume.js'

const positiveInt = (v: string): number => {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a whole number from 1')
  return n
}

interface PutResult { path: string, type: 'file' | 'folder', cid: string | null, name: string, size: number, folder?: string, resumed?: boolean, files?: Array<{ path: string, cid: string, size: number }> }

export function fileCommands (cli: Command): void {
  clientCommand(cli, 'put <path...>', 'upload files and folders (a folder becomes one UnixFS folder with one CID, as `ipfs add -r`); prints the CIDs')
    .option('--name <name>', 'the name to list it under (one path only; with "-" the name of stdin\'s data)')
    .option('--cid-version <n>', 'folders: 1 (default, raw leaves as the other uploads) or 0 (Qm..., as a plain `ipfs add -r`)', v => {
      if (v !== '0' && v !== '1') throw new InvalidArgumentError('0 or 1')
      return Number(v) as 0 | 1
    })
    .option('--hidden', 'folders: include hidden files (names starting with "."), as `ipfs add -r --hidden`')
    .option('--no-resume', 'start big uploads afresh instead of resuming an interrupted one')
    .option('--folder <path>', 'put the files into this folder of the account (a/b, made if missing); a directory\'s files go in one by one, under <path>/<directory>/..., each with its own CID')
    .action(action(async (run, o: Common & { name?: string, cidVersion?: 0 | 1, hidden?: boolean, resume: boolean, folder?: string }, paths: string[]) => {
      if (o.name !== undefined && paths.length > 1) throw new CliError(EXIT.usage, 'invalid_argument', '--name works with one path only')
      const folder = o.folder === undefined ? undefined : o.folder.replace(/^\/+|\/+$/g, '')
      if (folder === '') throw new CliError(EXIT.usage, 'invalid_argument', '--folder needs a folder path such as docs or photos/2024 (without it files go to the top level)')
      if (folder !== undefined && o.cidVersion !== undefined) throw new CliError(EXIT.usage, 'invalid_argument', '--cid-version is for a directory uploaded as one UnixFS folder, not for --folder')
      const { client, r } = await clientOf(run)
      const results: PutResult[] = []
      // check every path first: nothing is sent when one is missing
      const kinds = await Promise.all(paths.map(async p => p === '-' ? 'stdin' : (await stat(p)).isDirectory() ? 'folder' : 'file'))
      for (const [i, p] of paths.entries()) {
        let out: PutResult
        if (kinds[i] === 'stdin') out = await putStdin(run, client, o.name, folder)
        else if (kinds[i] === 'folder') out = folder === undefined ? await putFolder(run, client, p, o) : await putIntoFolder(run, client, p, folder, o)
        else out = await putFile(run, client, p, { name: o.name, folder, resume: o.resume, server: r.profile.url, apiKey: r.profile.apiKey as string })
        results.push(out)
        if (!run.json && paths.length > 1) process.stdout.write(line(out) + '\n')
      }
      emit(run.json, { uploads: results }, () => paths.length > 1 ? '' : line(results[0]))
    }))

  clientCommand(cli, 'get <cid>', 'download a file (a folder comes as a tar) to a file, a directory, or stdout')
    .option('-o, --output <path>', 'where to write: a file, an existing directory, or "-" for stdout (default: stdout when it is not a terminal, else ./<name>)')
    .option('-f, --force', 'overwrite an existing file')
    .action(action(async (run, o: Common & { output?: string, force?: boolean }, cid: string) => {
      const { client } = await clientOf(run)
      const dl = await client.files.get(cid, { signal: run.signal })
      const isTar = dl.contentType?.startsWith('application/x-tar') === true
      let name = safeName(dl.filename ?? cid)
      if (isTar && !name.endsWith('.tar')) name += '.tar'
      let target: string | undefined = o.output
      if (target === undefined) target = process.stdout.isTTY === true ? name : '-'
      if (target === '-' && run.json) throw new CliError(EXIT.usage, 'invalid_argument', 'with --json stdout carries the JSON: pass -o <path>')
      if (target !== '-') {
        const st = await stat(target).catch(() => undefined)
        if (st?.isDirectory() === true) target = join(target, name)
        else if (st !== undefined && o.force !== true) throw new CliError(EXIT.usage, 'exists', `${target} exists: pass --force to overwrite it`)
      }
      const bar = ProgressBar.for(cid, run.quiet || target === '-' && process.stdout.isTTY === true)
      let loaded = 0
      const counted = Readable.fromWeb(dl.body as import('node:stream/web').ReadableStream<Uint8Array>).on('data', (c: Buffer) => { loaded += c.length; bar.update(loaded, dl.size) })
      if (target === '-') {
        await pipeline(counted, process.stdout as Writable, { end: false })
        bar.done()
        return
      }
      const tmp = `${target}.cairn-part`
      try {
        await pipeline(counted, createWriteStream(tmp), { signal: run.signal })
        await rename(tmp, target)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      } finally { bar.done() }
      emit(run.json, { cid, path: resolve(target), size: loaded, content_type: dl.contentType, folder_tar: isTar }, () => `${cid} -> ${target as string} (${bytes(loaded)}${isTar ? ', a folder as a tar' : ''})`)
    }))

  clientCommand(cli, 'ls', 'list the account\'s files, newest first (paged)')
    .option('--page <n>', 'page number', positiveInt, 1)
    .option('--page-size <n>', 'files per page (at most 500)', positiveInt, 50)
    .option('--all', 'every page')
    .option('--search <text>', 'part of a name (case-insensitive), or a whole CID')
    .option('--sort <field>', 'uploaded (default), size or name', v => {
      const m: Record<string, 'uploaded_at' | 'size' | 'original_filename'> = { uploaded: 'uploaded_at', uploaded_at: 'uploaded_at', size: 'size', name: 'original_filename', original_filename: 'original_filename' }
      if (m[v] === undefined) throw new InvalidArgumentError('uploaded, size or name')
      return m[v]
    })
    .option('--asc', 'ascending (default: descending)')
    .option('--pinned', 'pinned files only')
    .option('--unpinned', 'unpinned files only')
    .option('--folder <path>', 'one folder of the account: its subfolders and files ("/" the top level)')
    .action(action(async (run, o: Common & { page: number, pageSize: number, all?: boolean, search?: string, sort?: 'uploaded_at' | 'size' | 'original_filename', asc?: boolean, pinned?: boolean, unpinned?: boolean, folder?: string }) => {
      if (o.pinned === true && o.unpinned === true) throw new CliError(EXIT.usage, 'invalid_argument', '--pinned or --unpinned, not both')
      if (o.folder !== undefined) {
        if (o.search !== undefined || o.sort !== undefined || o.asc === true || o.pinned === true || o.unpinned === true) throw new CliError(EXIT.usage, 'invalid_argument', 'a folder is listed newest first, whole: --search, --sort, --asc, --pinned and --unpinned list the account\'s files without --folder')
        await listFolder(run, o.folder.replace(/^\/+|\/+$/g, ''), o)
        return
      }
      const { client } = await clientOf(run)
      const q = { pageSize: Math.min(o.pageSize, 500), search: o.search, sortBy: o.sort, sortOrder: o.asc === true ? 'asc' as const : o.sort === undefined ? undefined : 'desc' as const, pinned: o.pinned === true ? true : o.unpinned === true ? false : undefined, signal: run.signal }
      if (o.all === true) {
        const files: FileRecord[] = []
        for await (const f of client.files.iterate(q)) files.push(f)
        emit(run.json, { files, total: files.length }, () => table(files))
        return
      }
      const page = await client.files.list({ ...q, page: o.page })
      emit(run.json, page, () => table(page.files) + (page.meta.total_pages > 1 ? `\npage ${page.meta.page} of ${page.meta.total_pages} (${page.meta.total} files): --page N, or --all` : ''))
    }))

  clientCommand(cli, 'rm <cid...>', 'delete files (every entry of each CID); many at once run as a task, waited for')
    .action(action(async (run, _o: Common, cids: string[]) => {
      const { client } = await clientOf(run)
      let r = await client.files.deleteMany(cids, { signal: run.signal })
      let taskId: string | undefined
      if ('taskId' in r) {
        taskId = r.taskId
        note(run.json || run.quiet, `deleting ${cids.length} files as task ${taskId}…`)
        r = (await client.tasks.wait(taskId, { signal: run.signal })).result as { deleted: number, failed: Array<{ cid: string, reason: string }> }
      }
      const res = r as { deleted: number, failed: Array<{ cid: string, reason: string }> }
      emit(run.json, { deleted: res.deleted, failed: res.failed, task_id: taskId ?? null }, () => `deleted ${res.deleted} of ${new Set(cids).size}`)
      if (res.failed.length > 0) {
        // the result is on stdout; the failures are an error too (stderr, exit code)
        const notFound = res.failed.every(f => f.reason === 'File not found')
        throw new CliError(notFound ? EXIT.notFound : EXIT.error, notFound ? 'not_found' : 'partial', `not deleted: ${res.failed.map(f => `${f.cid} (${f.reason})`).join(', ')}`)
      }
    }))

  for (const verb of ['pin', 'unpin'] as const) {
    clientCommand(cli, `${verb} <cid...>`, verb === 'pin'
      ? 'pin files again so their content is kept (already pinned is fine)'
      : 'unpin files: they stay listed, but their content may be collected once nothing pins it')
      .action(action(async (run, _o: Common, cids: string[]) => {
        const { client } = await clientOf(run)
        const out: Array<{ cid: string, pinned: boolean, changed: boolean }> = []
        for (const cid of cids) {
          try {
            await client.files[verb](cid, { signal: run.signal })
            out.push({ cid, pinned: verb === 'pin', changed: true })
          } catch (err) {
            // 409: already as asked, which is what the user wants
            if (err instanceof CairnApiError && err.status === 409) out.push({ cid, pinned: verb === 'pin', changed: false })
            else throw err
          }
        }
        emit(run.json, { files: out }, () => out.map(f => `${f.cid} ${f.changed ? (f.pinned ? 'pinned' : 'unpinned') : `already ${f.pinned ? 'pinned' : 'unpinned'}`}`).join('\n'))
      }))
  }

  pinsCommands(cli)

  shareCommands(cli)

  clientCommand(cli, 'info <cid>', 'what a CID the account may read is: kind, type, size and DAG size')
    .action(action(async (run, _o: Common, cid: string) => {
      const { client } = await clientOf(run)
      const c = await client.files.content(cid, { signal: run.signal })
      emit(run.json, c, () => [
        `cid       ${c.cid}`,
        `name      ${c.name}`,
        `kind      ${c.kind}`,
        `type      ${c.content_type}`,
        `size      ${c.size === null ? '?' : `${bytes(c.size)} (${c.size} B)`}`,
        `dag size  ${c.dag_size === null ? '?' : `${bytes(c.dag_size)} (${c.dag_size} B)`}`
      ].join('\n'))
    }))
}

function shareCommands (cli: Command): void {
  const share = clientCommand(cli, 'share <target>', 'a share link to a file: revocable, and expiring with --expires (printed once); --gateway for its public IPFS gateway URL, --cloud for a FluidCloud raw link')
    .enablePositionalOptions()
    .option('--expires <duration>', 'the link stops working after this long, e.g. 12h, 7d (60s to 366d; default: until revoked)', durationSeconds)
    .option('--gateway', 'the public IPFS gateway URL of the CID instead (cannot be revoked)')
    .option('--filename <name>', 'with --gateway: the name the browser saves it as')
    .option('--download', 'with --gateway: ask browsers to download rather than show it')
    .option('--no-check', 'with --gateway: do not check that the gateway serves the link')
    .option('--cloud', 'the target is a FluidCloud file id: make a raw link with the profile\'s FluidCloud key')
    .option('--expires-in-days <days>', 'with --cloud: an expiring link (default: permanent)', positiveInt)
    .action(action(async (run, o: Common & { expires?: number, gateway?: boolean, filename?: string, download?: boolean, check: boolean, cloud?: boolean, expiresInDays?: number }, target: string) => {
      if (o.cloud === true && o.gateway === true) throw new CliError(EXIT.usage, 'invalid_argument', '--cloud or --gateway, not both')
      if (o.cloud === true) {
        if (o.expires !== undefined) throw new CliError(EXIT.usage, 'invalid_argument', 'with --cloud the expiry is --expires-in-days <n>')
        await cloudShare(run, target, o.expiresInDays); return
      }
      if (o.expiresInDays !== undefined) throw new CliError(EXIT.usage, 'invalid_argument', '--expires-in-days goes with --cloud; a share link takes --expires 7d')
      if (o.gateway === true) {
        if (o.expires !== undefined) throw new CliError(EXIT.usage, 'invalid_argument', 'a gateway link cannot expire: drop --gateway for a share link that does')
        await gatewayShare(run, target, o); return
      }
      if (o.filename !== undefined || o.download === true || !o.check) throw new CliError(EXIT.usage, 'invalid_argument', '--filename, --download and --no-check go with --gateway')
      const { client } = await clientOf(run)
      const link = await client.files.share(target, { expiresIn: o.expires, signal: run.signal })
      note(run.json || run.quiet, `share link ${link.id} to ${link.name}: ${link.expires_at === null ? 'works until revoked' : `expires ${link.expires_at}`} (\`cairn share revoke ${link.id}\`); the URL is shown this once`)
      emit(run.json, { kind: 'share', id: link.id, cid: link.cid, name: link.name, url: link.url, created_at: link.created_at, expires_at: link.expires_at }, () => link.url)
    }))

  clientCommand(share, 'ls', 'the account\'s live share links (their URLs are not shown again)')
    .option('--cid <cid>', 'the links of one file')
    .action(action(async (run, o: Common & { cid?: string }) => {
      const { client } = await clientOf(run)
      const links = await client.files.shares({ cid: o.cid, signal: run.signal })
      const rows = links.map(l => ({ id: l.id, cid: l.cid, name: l.name, created_at: l.created_at, expires_at: l.expires_at }))
      emit(run.json, { shares: rows }, () => rows.length === 0 ? '(no share links)' : rows.map(l => `${l.id}  ${l.cid}  ${l.expires_at === null ? 'until revoked       ' : `expires ${l.expires_at}`}  ${l.name}`).join('\n'))
    }))

  clientCommand(share, 'revoke <id...>', 'revoke share links: they stop working at once')
    .action(action(async (run, _o: Common, ids: string[]) => {
      const { client } = await clientOf(run)
      for (const id of ids) await client.files.revokeShare(id, { signal: run.signal })
      emit(run.json, { revoked: ids }, () => ids.map(id => `share link ${id} revoked`).join('\n'))
    }))
}

/** the CID's public URL on the IPFS gateway (files origin): anyone with the CID can fetch it while it is pinned */
async function gatewayShare (run: Run, cid: string, o: { filename?: string, download?: boolean, check: boolean }): Promise<void> {
  const { client, r } = await clientOf(run)
  // the account must hold it: a link to someone else's file is not ours to hand out
  const info = await client.files.info(cid, { signal: run.signal })
  const origin = r.profile.filesUrl ?? await client.files.gatewayOrigin({ signal: run.signal })
  if (origin === undefined) throw new CliError(EXIT.error, 'no_gateway', 'the server names no gateway: pass `cairn login --files-url <url>` (or set CAIRN_FILES_URL)')
  const u = new URL(`/ipfs/${info.cid}`, origin)
  u.searchParams.set('filename', o.filename ?? info.original_filename)
  if (o.download === true) u.searchParams.set('download', 'true')
  let served: boolean | null = null
  if (o.check) {
    const res = await fetch(u, { method: 'HEAD', signal: run.signal }).catch(() => undefined)
    served = res?.ok === true
    if (!served) {
      throw new CliError(EXIT.error, 'not_served', `the gateway does not serve ${u.toString()} (${res === undefined ? 'unreachable' : `HTTP ${res.status}`}): under CAIRN_GATEWAY_POLICY=signed links are signed by the operator (\`cairn gateway sign\`); a different public address goes in \`cairn login --files-url\``, { url: u.toString() })
    }
  }
  emit(run.json, { cid: info.cid, url: u.toString(), kind: 'gateway', public: true, checked: served }, () => u.toString())
}

/** one file, to the top level or into an account folder; big ones over tus, resumed when the same put is run again */
async function putFile (run: Run, client: CairnClient, path: string, o: { name?: string, folder?: string, resume: boolean, server: string, apiKey: string }): Promise<PutResult> {
  const blob = await fileFromPath(path)
  const name = o.name ?? blob.name
  const k = await uploadKey(o.server, o.apiKey, path, o.folder)
  const saved = o.resume ? resumeUrlFor(k.key) : undefined
  const bar = ProgressBar.for(o.folder === undefined ? name : `${o.folder}/${name}`, run.quiet)
  const up = async (resumeUrl?: string): Promise<FileRecord> => await client.files.upload(blob, {
    name,
    folder: o.folder,
    resumeUrl,
    onResumeUrl: url => { saveResumeUrl(k.key, { url, path: k.path, size: k.size }) },
    onProgress: p => { bar.update(p.loaded, p.total) },
    signal: run.signal
  })
  let f: FileRecord
  try {
    if (saved !== undefined) {
      note(run.json || run.quiet, `resuming the upload of ${path}`)
      f = await up(saved).catch(async (err: unknown) => {
        // the server forgot it (expired, or finished and swept): start over
        if (!(err instanceof NotFoundError)) throw err
        forgetResumeUrl(k.key)
        return await up()
      })
    } else {
      f = await up()
    }
  } finally { bar.done() }
  forgetResumeUrl(k.key)
  return { path, type: 'file', cid: f.cid, name: f.original_filename, size: f.size, ...(o.folder === undefined ? {} : { folder: o.folder }), ...(saved === undefined ? {} : { resumed: true }) }
}

async function putFolder (run: Run, client: CairnClient, path: string, o: { name?: string, cidVersion?: 0 | 1, hidden?: boolean }): Promise<PutResult> {
  const entries = await folderFromPath(path, { hidden: o.hidden })
  if (entries.length === 0) throw new CliError(EXIT.usage, 'empty_folder', `${path} has no files to upload${o.hidden === true ? '' : ' (hidden files are left out without --hidden)'}`)
  const name = o.name ?? (basename(resolve(path)) || 'folder')
  const bar = ProgressBar.for(`${name}/ (${entries.length} files)`, run.quiet)
  try {
    const f = await client.files.uploadFolder(entries, { name, cidVersion: o.cidVersion ?? 1, onProgress: p => { bar.update(p.loaded, p.total) }, signal: run.signal })
    return { path, type: 'folder', cid: f.cid, name: f.name, size: f.size, files: f.files }
  } finally { bar.done() }
}

async function putStdin (run: Run, client: CairnClient, name: string | undefined, folder: string | undefined): Promise<PutResult> {
  if (process.stdin.isTTY === true) throw new CliError(EXIT.usage, 'invalid_argument', '"-" reads the data from stdin: pipe something in')
  const bar = ProgressBar.for(name ?? 'stdin', run.quiet)
  try {
    const f = await client.files.upload(Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>, { name: name ?? 'stdin', folder, onProgress: p => { bar.update(p.loaded) }, signal: run.signal })
    return { path: '-', type: 'file', cid: f.cid, name: f.original_filename, size: f.size, ...(folder === undefined ? {} : { folder }) }
  } finally { bar.done() }
}

/** a directory's files one by one into <folder>/<directory name>/<their folders>, as the web app's folder upload does */
async function putIntoFolder (run: Run, client: CairnClient, path: string, folder: string, o: { name?: string, hidden?: boolean }): Promise<PutResult> {
  const entries = await folderFromPath(path, { hidden: o.hidden })
  if (entries.length === 0) throw new CliError(EXIT.usage, 'empty_folder', `${path} has no files to upload${o.hidden === true ? '' : ' (hidden files are left out without --hidden)'}`)
  const name = o.name ?? (basename(resolve(path)) || 'folder')
  const base = `${folder}/${name}`
  const files: NonNullable<PutResult['files']> = []
  for (const e of entries) {
    const dir = e.path.includes('/') ? `${base}/${e.path.slice(0, e.path.lastIndexOf('/'))}` : base
    const file = basename(e.path)
    const bar = ProgressBar.for(`${dir}/${file}`, run.quiet)
    try {
      const f = await client.files.upload(e.blob, { name: file, folder: dir, onProgress: p => { bar.update(p.loaded, p.total) }, signal: run.signal })
      files.push({ path: e.path, cid: f.cid, size: f.size })
    } finally { bar.done() }
  }
  return { path, type: 'folder', cid: null, name, size: files.reduce((n, f) => n + f.size, 0), folder: base, files }
}

function line (r: PutResult): string {
  if (r.cid === null) return (r.files ?? []).map(f => `${f.cid}  ${r.folder as string}/${f.path}  ${bytes(f.size)}`).join('\n')
  const where = r.folder === undefined ? '' : `${r.folder}/`
  return `${r.cid}  ${where}${r.name}${r.type === 'folder' ? '/' : ''}  ${bytes(r.size)}${r.type === 'folder' ? `  (${r.files?.length ?? 0} files)` : ''}`
}

async function listFolder (run: Run, path: string, o: { page: number, pageSize: number, all?: boolean }): Promise<void> {
  const { client } = await clientOf(run)
  const pageSize = Math.min(o.pageSize, 500)
  let page = await client.files.folder(path, { page: o.all === true ? 1 : o.page, pageSize, signal: run.signal })
  const folders = [...page.folders]
  const files = [...page.files]
  if (o.all === true) {
    while (page.meta.page < page.meta.total_pages) {
      page = await client.files.folder(path, { page: page.meta.page + 1, pageSize, signal: run.signal })
      folders.push(...page.folders)
      files.push(...page.files)
    }
  }
  const where = path === '' ? '/' : path
  const data = o.all === true ? { path, folders, files, total: folders.length + files.length } : { path, folders, files, meta: page.meta }
  emit(run.json, data, () => {
    if (folders.length === 0 && files.length === 0) return `(${where} is empty)`
    const rows = [...folders.map(f => `${'folder'.padEnd(59)}  ${''.padStart(10)}            ${f.created_at}  ${f.name}/`), ...(files.length === 0 ? [] : [table(files)])]
    return rows.join('\n') + (o.all !== true && page.meta.total_pages > 1 ? `\npage ${page.meta.page} of ${page.meta.total_pages} (${page.meta.total} entries): --page N, or --all` : '')
  })
}

function table (files: FileRecord[]): string {
  if (files.length === 0) return '(no files)'
  return files.map(f => `${f.cid}  ${bytes(f.size).padStart(10)}  ${f.pinned ? 'pinned  ' : 'unpinned'}  ${f.uploaded_at}  ${f.original_filename}`).join('\n')
}

/** a server-suggested file name made safe to write in the current directory */
function safeName (n: string): string {
  const s = basename(n.replace(/\\/g, '/')).replace(/[\x00-\x1f]/g, '_')
  return s === '' || s === '.' || s === '..' ? 'download' : s
}

async function cloudShare (run: Run, fileId: string, days: number | undefined): Promise<void> {
  const { client, r } = await clientOf(run, { needKey: false })
  if (r.profile.cloudKey === undefined) throw new CliError(EXIT.auth, 'no_cloud_key', 'FluidCloud links need a FluidCloud key in the profile: `cairn profiles set-cloud-key`')
  const f = await client.cloud.files.waitScanned(fileId, { signal: run.signal })
  if (f.scan_status !== 'clean') throw new CliError(EXIT.error, 'not_clean', `file ${fileId} is ${String(f.scan_status)}: only clean files can be shared`)
  const s = await client.cloud.shares.create({ file_id: fileId, expires_in_days: days }, { signal: run.signal })
  emit(run.json, { kind: 'cloud', id: s.id, file_id: fileId, url: s.url ?? null, expires_at: s.expires_at }, () => `${s.url ?? `(share ${s.id}: the URL was not returned)`}${s.expires_at === null ? '' : `\nexpires ${s.expires_at}`}`)
}

function pinsCommands (cli: Command): void {
  const pins = clientCommand(cli, 'pins', 'the IPFS Pinning Service API (/pins): pin any CID, fetched from the network when it is not stored here').enablePositionalOptions()
  const view = (p: PinStatus): Record<string, unknown> => ({ requestid: p.requestid, status: p.status, cid: p.pin.cid, name: p.pin.name ?? null, created: p.created })
  const text = (p: PinStatus): string => `${p.requestid}  ${p.status.padEnd(7)}  ${p.pin.cid}  ${p.pin.name ?? ''}`
  clientCommand(pins, 'add <cid>', 'ask the server to pin a CID')
    .option('--name <name>', 'a name for the pin')
    .option('--origin <multiaddr...>', 'where to fetch it from (multiaddrs of HTTP gateways)')
    .option('--wait', 'wait until it is pinned or failed')
    .action(action(async (run, o: Common & { name?: string, origin?: string[], wait?: boolean }, cid: string) => {
      const { client } = await clientOf(run)
      let p = await client.pins.add({ cid, name: o.name, origins: o.origin }, { signal: run.signal })
      if (o.wait === true) p = await client.pins.wait(p.requestid, { signal: run.signal })
      emit(run.json, view(p), () => text(p))
      if (p.status === 'failed') process.exitCode = EXIT.error
    }))
  clientCommand(pins, 'ls', 'the account\'s pins (all statuses)')
    .option('--status <list>', 'comma-separated: queued,pinning,pinned,failed', 'queued,pinning,pinned,failed')
    .option('--name <text>', 'names containing this (case-insensitive)')
    .option('--limit <n>', 'at most this many (1-1000)', positiveInt, 100)
    .action(action(async (run, o: Common & { status: string, name?: string, limit: number }) => {
      const { client } = await clientOf(run)
      const r = await client.pins.list({ status: o.status.split(',').map(s => s.trim()) as PinStatus['status'][], name: o.name, match: o.name === undefined ? undefined : 'ipartial', limit: o.limit, signal: run.signal })
      emit(run.json, { count: r.count, pins: r.results.map(view) }, () => r.results.length === 0 ? '(no pins)' : r.results.map(text).join('\n'))
    }))
  clientCommand(pins, 'rm <requestid...>', 'remove pins (by request id)')
    .action(action(async (run, _o: Common, ids: string[]) => {
      const { client } = await clientOf(run)
      for (const id of ids) await client.pins.delete(id, { signal: run.signal })
      emit(run.json, { removed: ids }, () => ids.map(id => `${id} removed`).join('\n'))
    }))
}
