/**
 * Cairn's benchmark: every figure is measured against an anchor in the same run, on the same
 * bytes, on the same machine, and printed as a ratio. See bench/README.md.
 *
 *   npm run bench                  the 1 GiB steps and the small-request steps (2-3 minutes)
 *   BENCH_LARGE=1 npm run bench    also peak server RSS during a 5 GB upload and download
 *
 * Steps:
 *   1. upload   POST /api/v0/put of a 1 GiB file (curl -F file=@...)  vs  the importer alone
 *   2. cat      POST /api/v0/cat of that file (curl)                  vs  nginx serving it
 *   3. small    4 KiB put and cat requests per second                 vs  GET /healthz
 *   4. memory   peak RSS of the server process during a 5 GB upload   vs  300 MB (BENCH_LARGE=1)
 *   5. parts    the same file in 16 MiB parts through /buckets and tus vs one-shot /api/v0/put
 *
 * BENCH_STEPS=upload,cat,small,parts runs only the steps named (all by default).
 */
import { existsSync, statfsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createAccount, serverEnv, startCairn, CLI_MAIN, type CairnServer, type Credentials } from './lib/cairn.js'
import { curlGet, curlPut, drainResponse, hashResponse, load, multipartHead, multipartTail, streamPut, type LoadResult } from './lib/client.js'
import { prngBytes, prngChunks, writeDataFile } from './lib/data.js'
import { importerOnly } from './lib/importer-only.js'
import { bucketsUpload, tusUpload } from './lib/resumable.js'
import { NGINX, startNginx } from './lib/nginx.js'
import { cleanup, cpuSeconds, installCleanupHandlers, memStatus, trackDir, watchRss } from './lib/procs.js'

const env = process.env
function num (name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
  return n
}

const MB = 1e6
const MiB = 1024 * 1024
const cfg = {
  fileBytes: Math.round(num('BENCH_FILE_MIB', 1024) * MiB),
  large: env.BENCH_LARGE === '1',
  largeBytes: Math.round(num('BENCH_LARGE_BYTES', 5e9)),
  uploadRuns: num('BENCH_UPLOAD_RUNS', 2),
  catRuns: num('BENCH_CAT_RUNS', 3),
  smallBytes: num('BENCH_SMALL_BYTES', 4096),
  smallPuts: num('BENCH_SMALL_PUTS', 2000),
  smallCats: num('BENCH_SMALL_CATS', 5000),
  concurrency: num('BENCH_CONCURRENCY', 4),
  smallMaxMs: num('BENCH_SMALL_MAX_SECONDS', 20) * 1000,
  tmp: env.BENCH_TMPDIR ?? tmpdir(),
  strict: env.BENCH_STRICT === '1',
  rssAbortBytes: num('BENCH_RSS_ABORT_MB', 8000) * MB,
  json: env.BENCH_JSON,
  steps: new Set((env.BENCH_STEPS ?? 'upload,cat,small,parts').split(',').map(x => x.trim())),
  partBytes: Math.round(num('BENCH_PART_MIB', 16) * MiB),
  partConcurrency: num('BENCH_PART_CONCURRENCY', 1),
  partRuns: num('BENCH_PART_RUNS', 2)
}

const TARGET = { parts: 0.8, upload: 0.8, cat: 0.5, putPerSecond: 150, catPerSecond: 1500, peakRssMB: 300 }

// ---------- output ----------
const f1 = (n: number): string => n.toFixed(1)
const f2 = (n: number): string => n.toFixed(2)
const mbps = (bytes: number, s: number): number => bytes / s / MB
function log (line = ''): void { process.stdout.write(line + '\n') }
function step (title: string): void { log(`\n== ${title}`) }
function verdict (ok: boolean): string { return ok ? 'meets target' : 'BELOW TARGET' }

interface Figure { name: string, value: number, anchor: number, unit: string, ratio: number, target: string, ok: boolean | undefined }
const figures: Figure[] = []
const missed: string[] = []
function figure (f: Figure): void {
  figures.push(f)
  if (f.ok === false) missed.push(f.name)
}

function best (xs: number[]): number { return Math.max(...xs) }
function sizeLabel (): string { return cfg.fileBytes % (1024 * MiB) === 0 ? `${cfg.fileBytes / 1024 / MiB} GiB` : `${f1(cfg.fileBytes / MiB)} MiB` }

// ---------- steps ----------
interface Ctx { root: string, dataDir: string, file: string, fileSha: string, server: CairnServer, creds: Credentials }

async function uploadStep (ctx: Ctx): Promise<{ cid: string }> {
  step(`1. upload: POST /api/v0/put of ${f1(cfg.fileBytes / MiB)} MiB (curl -F file=@, loopback) vs the importer alone (unixfs-v0-2015, blocks discarded)`)
  const imp: number[] = []
  const put: number[] = []
  let cid = ''
  let peakKiB = 0
  // interleaved, so that noise from other work on the machine hits both sides alike
  const gib = cfg.fileBytes / (1024 * MiB)
  for (let i = 0; i < cfg.uploadRuns; i++) {
    const c0 = process.cpuUsage()
    const r = await importerOnly(ctx.file, { readBytes: MiB })
    const c = process.cpuUsage(c0)
    imp.push(mbps(r.bytes, r.seconds))
    if (cid !== '' && cid !== r.cid) throw new Error(`importer gave ${r.cid}, then ${cid}`)
    cid = r.cid
    log(`   importer alone      ${f1(imp[i])} MB/s  (${f2(r.seconds)} s, ${f2((c.user + c.system) / 1e6 / gib)} CPU-s/GiB; ${r.blocks} blocks, ${r.cid})`)

    const w = watchRss(ctx.server.pid)
    const s0 = cpuSeconds(ctx.server.pid)
    const u = await curlPut(ctx.server.url, ctx.creds.zelid, ctx.creds.key, ctx.file)
    const cpu = cpuSeconds(ctx.server.pid) - s0
    const mem = w.stop()
    peakKiB = Math.max(peakKiB, mem.peakKiB)
    if (u.hash !== cid) throw new Error(`Cairn answered ${u.hash}, the importer ${cid}: not the same DAG`)
    put.push(mbps(cfg.fileBytes, u.seconds))
    log(`   cairn put           ${f1(put[i])} MB/s  (${f2(u.seconds)} s incl. fsync and commit, ${f2(cpu / gib)} server CPU-s/GiB; server peak RSS ${f1(mem.peakKiB / 1024)} MiB)`)
  }
  // for reference: the same importer fed 64 KiB pieces, the size of the socket reads a server sees
  const small = await importerOnly(ctx.file, { readBytes: 64 * 1024 })
  const smallMBps = mbps(small.bytes, small.seconds)
  log(`   importer alone, fed 64 KiB pieces: ${f1(smallMBps)} MB/s (reference only)`)

  const ratio = best(put) / best(imp)
  log(`   => cairn put ${f1(best(put))} MB/s / importer ${f1(best(imp))} MB/s = ${f2(ratio)}  (target >= ${TARGET.upload}: ${verdict(ratio >= TARGET.upload)}; best of ${cfg.uploadRuns} each)`)
  log(`      vs the importer fed 64 KiB pieces: ${f2(best(put) / smallMBps)}`)
  figure({ name: `upload ${sizeLabel()} / importer alone`, value: best(put), anchor: best(imp), unit: 'MB/s', ratio, target: `>= ${TARGET.upload}`, ok: ratio >= TARGET.upload })
  figure({ name: `server peak RSS, ${sizeLabel()} upload`, value: peakKiB / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
  return { cid }
}

async function catStep (ctx: Ctx, cid: string): Promise<void> {
  step(`2. cat: POST /api/v0/cat of the same ${f1(cfg.fileBytes / MiB)} MiB vs nginx serving the file (curl -o /dev/null, loopback)`)
  const catUrl = `${ctx.server.url}/api/v0/cat?hash=${cid}`
  // correctness first (not timed): the bytes that come back are the bytes that went in
  const check = await hashResponse(catUrl, { method: 'POST', auth: ctx.creds.auth })
  if (check.bytes !== cfg.fileBytes || check.sha256 !== ctx.fileSha) throw new Error(`cat returned ${check.bytes} bytes with sha256 ${check.sha256}; expected ${cfg.fileBytes}, ${ctx.fileSha}`)
  log('   cat returns the uploaded bytes (sha256 checked)')

  const nginx = await startNginx(join(ctx.root, 'nginx'), join(ctx.root, 'data'))
  const nginxUrl = `${nginx.url}/blob.bin`
  const nginxPid = nginx.child.pid ?? NaN
  const cairn: number[] = []
  const ngx: number[] = []
  let peakKiB = 0
  try {
    for (let i = 0; i < cfg.catRuns; i++) {
      const w = watchRss(ctx.server.pid)
      const s0 = cpuSeconds(ctx.server.pid)
      const c = await curlGet(catUrl, { post: true, user: ctx.creds.zelid, key: ctx.creds.key })
      const cpu = cpuSeconds(ctx.server.pid) - s0
      peakKiB = Math.max(peakKiB, w.stop().peakKiB)
      if (c.downloaded !== cfg.fileBytes) throw new Error(`cat sent ${c.downloaded} bytes`)
      cairn.push(mbps(c.downloaded, c.seconds))
      const n0 = cpuSeconds(nginxPid, true)
      const n = await curlGet(nginxUrl)
      const ncpu = cpuSeconds(nginxPid, true) - n0
      if (n.downloaded !== cfg.fileBytes) throw new Error(`nginx sent ${n.downloaded} bytes`)
      ngx.push(mbps(n.downloaded, n.seconds))
      log(`   cairn cat ${f1(cairn[i])} MB/s (${f2(c.seconds)} s, server ${f2(cpu)} CPU-s)    nginx ${f1(ngx[i])} MB/s (${f2(n.seconds)} s, nginx ${f2(ncpu)} CPU-s)`)
    }
  } finally {
    await nginx.stop()
  }
  const ratio = best(cairn) / best(ngx)
  log(`   => cairn ${f1(best(cairn))} MB/s / nginx ${f1(best(ngx))} MB/s = ${f2(ratio)}  (target >= ${TARGET.cat}: ${verdict(ratio >= TARGET.cat)}; best of ${cfg.catRuns} each; server peak RSS ${f1(peakKiB / 1024)} MiB)`)
  figure({ name: `cat ${sizeLabel()} / nginx`, value: best(cairn), anchor: best(ngx), unit: 'MB/s', ratio, target: `>= ${TARGET.cat}`, ok: ratio >= TARGET.cat })
  figure({ name: `server peak RSS, ${sizeLabel()} cat`, value: peakKiB / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
}

type Measured = LoadResult & { serverCpuMs: number }
async function measured (pid: number, run: () => Promise<LoadResult>): Promise<Measured> {
  const c0 = cpuSeconds(pid)
  const r = await run()
  return { ...r, serverCpuMs: (cpuSeconds(pid) - c0) * 1000 / Math.max(1, r.done) }
}

function describe (r: Measured): string {
  return `${r.done} in ${f2(r.seconds)} s = ${f1(r.perSecond)}/s (p50 ${f1(r.p50ms)} ms, p99 ${f1(r.p99ms)} ms; server ${f2(r.serverCpuMs)} CPU-ms/request${r.failed > 0 ? `; ${r.failed} FAILED: ${r.firstError ?? ''}` : ''})`
}

async function smallStep (ctx: Ctx): Promise<void> {
  const c = cfg.concurrency
  step(`3. small files: ${cfg.smallBytes}-byte put and cat, ${c} concurrent keep-alive clients, vs GET /healthz (same count, same clients)`)
  const base = ctx.server.url
  const boundary = '----cairnbenchsmall'
  const head = multipartHead(boundary, 'small.bin')
  const tail = multipartTail(boundary)
  const cids: string[] = []

  const pid = ctx.server.pid
  const put = await measured(pid, async () => await load(base, {
    count: cfg.smallPuts,
    concurrency: c,
    maxMs: cfg.smallMaxMs,
    make: i => ({
      method: 'POST',
      path: '/api/v0/put',
      headers: { authorization: ctx.creds.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      // every file distinct, so each put imports, writes a pack and commits (no dedup shortcut)
      body: Buffer.concat([head, prngBytes(cfg.smallBytes, `small-${i}`), tail]),
      check: (status, body) => {
        if (status !== 200) return `put: status ${status}: ${body.toString().slice(0, 200)}`
        const hash = (JSON.parse(body.toString()) as { hash?: string }).hash
        if (typeof hash !== 'string') return 'put: no hash'
        cids.push(hash)
        return undefined
      }
    })
  }))
  log(`   put      ${describe(put)}`)
  if (put.failed > 0 || cids.length === 0) throw new Error(`small puts failed: ${put.firstError ?? 'none stored'}`)
  const health = { method: 'GET', path: '/healthz' }
  const hp = await measured(pid, async () => await load(base, { count: put.done, concurrency: c, maxMs: cfg.smallMaxMs, make: () => health }))
  log(`   healthz  ${describe(hp)}`)

  const cat = await measured(pid, async () => await load(base, {
    count: cfg.smallCats,
    concurrency: c,
    maxMs: cfg.smallMaxMs,
    make: i => ({
      method: 'POST',
      path: `/api/v0/cat?hash=${cids[i % cids.length]}`,
      headers: { authorization: ctx.creds.auth },
      check: (status, body) => status !== 200 ? `cat: status ${status}: ${body.toString().slice(0, 200)}` : body.byteLength !== cfg.smallBytes ? `cat: ${body.byteLength} bytes` : undefined
    })
  }))
  log(`   cat      ${describe(cat)}`)
  if (cat.failed > 0) throw new Error(`small cats failed: ${cat.firstError ?? ''}`)
  const hc = await measured(pid, async () => await load(base, { count: cat.done, concurrency: c, maxMs: cfg.smallMaxMs, make: () => health }))
  log(`   healthz  ${describe(hc)}`)

  const putOk = put.perSecond > TARGET.putPerSecond
  const catOk = cat.perSecond > TARGET.catPerSecond
  log(`   => put ${f1(put.perSecond)}/s / healthz ${f1(hp.perSecond)}/s = ${f2(put.perSecond / hp.perSecond)}  (${f2(put.perSecond / TARGET.putPerSecond)}x the default put limit of ${TARGET.putPerSecond}/s, target well above: ${verdict(putOk)})`)
  log(`   => cat ${f1(cat.perSecond)}/s / healthz ${f1(hc.perSecond)}/s = ${f2(cat.perSecond / hc.perSecond)}  (${f2(cat.perSecond / TARGET.catPerSecond)}x the default read limit of ${TARGET.catPerSecond}/s, target well above: ${verdict(catOk)})`)
  figure({ name: `small put (${cfg.smallBytes} B) / healthz`, value: put.perSecond, anchor: hp.perSecond, unit: 'req/s', ratio: put.perSecond / hp.perSecond, target: `> ${TARGET.putPerSecond}/s`, ok: putOk })
  figure({ name: `small cat (${cfg.smallBytes} B) / healthz`, value: cat.perSecond, anchor: hc.perSecond, unit: 'req/s', ratio: cat.perSecond / hc.perSecond, target: `> ${TARGET.catPerSecond}/s`, ok: catOk })
}

async function largeStep (ctx: Ctx): Promise<void> {
  const n = cfg.largeBytes
  step(`4. memory: peak RSS of the server process (pid ${ctx.server.pid}) during a ${f1(n / 1e9)} GB upload and download (data generated on the fly, never held)`)
  const before = memStatus(ctx.server.pid)
  log(`   server RSS before: ${f1(before.rssKiB / 1024)} MiB`)
  const w = watchRss(ctx.server.pid)
  const t0 = performance.now()
  const r = await streamPut(ctx.server.url, ctx.creds.auth, 'large.bin', n, prngChunks(n, 'large'))
  const seconds = (performance.now() - t0) / 1000
  const up = w.stop()
  if (r.status !== 200) throw new Error(`large put answered ${r.status}: ${r.body.slice(0, 500)}`)
  const ans = JSON.parse(r.body) as { hash: string, size: number }
  if (Number(ans.size) !== n) throw new Error(`large put stored ${ans.size} bytes, sent ${n}`)
  log(`   put  ${f1(mbps(n, seconds))} MB/s (${f1(seconds)} s, ${ans.hash}); peak RSS ${f1(up.peakKiB / 1024)} MiB (VmHWM ${up.hwmReset ? 'reset before, ' : 'not resettable, '}${f1(up.hwmKiB / 1024)} MiB; max sampled VmRSS ${f1(up.sampledKiB / 1024)} MiB over ${up.samples} samples)`)

  // the machine is shared: stop the download if the server's memory runs away
  const w2 = watchRss(ctx.server.pid)
  const ac = new AbortController()
  const guard = setInterval(() => {
    try { if (memStatus(ctx.server.pid).rssKiB * 1024 > cfg.rssAbortBytes) ac.abort() } catch {}
  }, 100)
  const t1 = performance.now()
  let got = 0
  try {
    got = await drainResponse(`${ctx.server.url}/api/v0/cat?hash=${ans.hash}`, { method: 'POST', auth: ctx.creds.auth, signal: ac.signal })
  } catch (err) {
    if (!ac.signal.aborted) throw err
  } finally {
    clearInterval(guard)
  }
  const s2 = (performance.now() - t1) / 1000
  const down = w2.stop()
  if (ac.signal.aborted) {
    log(`   cat  STOPPED: server RSS passed ${f1(cfg.rssAbortBytes / MB)} MB (BENCH_RSS_ABORT_MB) after ${f1(s2)} s; peak RSS ${f1(down.peakKiB / 1024)} MiB`)
  } else {
    if (got !== n) throw new Error(`large cat sent ${got} bytes, expected ${n}`)
    log(`   cat  ${f1(mbps(n, s2))} MB/s (${f1(s2)} s); peak RSS ${f1(down.peakKiB / 1024)} MiB`)
  }

  const peakMB = up.peakKiB * 1024 / MB
  const ok = peakMB < TARGET.peakRssMB
  log(`   => peak RSS during the upload ${f1(peakMB)} MB (target < ${TARGET.peakRssMB} MB: ${verdict(ok)})`)
  figure({ name: `server peak RSS, ${f1(n / 1e9)} GB upload`, value: peakMB, anchor: TARGET.peakRssMB, unit: 'MB', ratio: peakMB / TARGET.peakRssMB, target: `< ${TARGET.peakRssMB} MB`, ok })
  figure({ name: `server peak RSS, ${f1(n / 1e9)} GB cat${ac.signal.aborted ? ' (stopped)' : ''}`, value: down.peakKiB * 1024 / MB, anchor: TARGET.peakRssMB, unit: 'MB', ratio: down.peakKiB * 1024 / MB / TARGET.peakRssMB, target: 'info', ok: undefined })
}

/**
 * 5. The same file in parts through the Upload API (/buckets) and through tus, each as a
 * ratio of a one-shot /api/v0/put of the same bytes, interleaved in the same run.
 */
async function partsStep (ctx: Ctx): Promise<void> {
  const mib = cfg.partBytes / MiB
  step(`5. parts: ${sizeLabel()} in ${f1(mib)} MiB parts through /buckets (${cfg.partConcurrency} part(s) at a time) and tus (tus-js-client) vs one-shot /api/v0/put (curl)`)
  const put: number[] = []
  const buckets: number[] = []
  const tus: number[] = []
  const peak = { put: 0, buckets: 0, tus: 0 }
  let cid = ''
  const same = (got: string, what: string): void => {
    if (cid === '') cid = got
    if (got !== cid) throw new Error(`${what} gave ${got}, expected ${cid}`)
  }
  for (let i = 0; i < cfg.partRuns; i++) {
    let w = watchRss(ctx.server.pid)
    const u = await curlPut(ctx.server.url, ctx.creds.zelid, ctx.creds.key, ctx.file)
    peak.put = Math.max(peak.put, w.stop().peakKiB)
    same(u.hash, 'put')
    put.push(mbps(cfg.fileBytes, u.seconds))

    w = watchRss(ctx.server.pid)
    const b = await bucketsUpload(ctx.server.url, ctx.creds.key, ctx.file, cfg.fileBytes, cfg.partBytes, cfg.partConcurrency)
    peak.buckets = Math.max(peak.buckets, w.stop().peakKiB)
    same(b.cid, '/buckets')
    buckets.push(mbps(cfg.fileBytes, b.seconds))

    w = watchRss(ctx.server.pid)
    const t = await tusUpload(ctx.server.url, ctx.creds.key, ctx.file, cfg.fileBytes, cfg.partBytes)
    peak.tus = Math.max(peak.tus, w.stop().peakKiB)
    same(t.cid, 'tus')
    tus.push(mbps(cfg.fileBytes, t.seconds))
    log(`   put ${f1(put[i])} MB/s (${f2(u.seconds)} s)   /buckets ${f1(buckets[i])} MB/s (${f2(b.seconds)} s, of which complete ${f2(b.completeSeconds)} s)   tus ${f1(tus[i])} MB/s (${f2(t.seconds)} s)`)
  }
  const rb = best(buckets) / best(put)
  const rt = best(tus) / best(put)
  log(`   => /buckets ${f2(rb)} and tus ${f2(rt)} of one-shot put (target >= ${TARGET.parts}: ${verdict(rb >= TARGET.parts)}, ${verdict(rt >= TARGET.parts)}; best of ${cfg.partRuns} each)`)
  log(`      server peak RSS: put ${f1(peak.put / 1024)} MiB, /buckets ${f1(peak.buckets / 1024)} MiB, tus ${f1(peak.tus / 1024)} MiB`)
  figure({ name: `/buckets ${sizeLabel()} in ${f1(mib)} MiB parts / put`, value: best(buckets), anchor: best(put), unit: 'MB/s', ratio: rb, target: `>= ${TARGET.parts}`, ok: rb >= TARGET.parts })
  figure({ name: `tus ${sizeLabel()} in ${f1(mib)} MiB parts / put`, value: best(tus), anchor: best(put), unit: 'MB/s', ratio: rt, target: `>= ${TARGET.parts}`, ok: rt >= TARGET.parts })
  figure({ name: 'server peak RSS, /buckets upload', value: peak.buckets / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
  figure({ name: 'server peak RSS, tus upload', value: peak.tus / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
}

// ---------- main ----------
function preflight (): void {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: build first (npm run bench builds)`)
  if (cfg.steps.has('cat') && !existsSync(NGINX)) throw new Error(`nginx not found at ${NGINX} (set BENCH_NGINX)`)
  // the data file, the Cairn pack of it, and with BENCH_LARGE the large pack, plus slack
  const need = cfg.fileBytes * 2 + (cfg.large ? cfg.largeBytes : 0) + 512 * MiB
  const s = statfsSync(cfg.tmp)
  const free = s.bavail * s.bsize
  if (free < need) throw new Error(`${cfg.tmp} has ${f1(free / 1e9)} GB free, the benchmark needs ${f1(need / 1e9)} GB (set BENCH_TMPDIR)`)
}

function summary (): void {
  step(`summary (load average now ${loadavg().map(f2).join(' ')}; other work on the machine lowers every figure)`)
  for (const f of figures) {
    const info = f.ok === undefined
    const anchor = !info && Number.isFinite(f.anchor) ? ` vs ${f1(f.anchor)}` : ''
    const ratio = !info && Number.isFinite(f.ratio) ? `  ratio ${f2(f.ratio)}` : ''
    const ok = f.ok === undefined ? '' : f.ok ? '  ok' : '  BELOW TARGET'
    log(`   ${f.name.padEnd(40)} ${f1(f.value)}${anchor} ${f.unit}${ratio}  (${f.target})${ok}`)
  }
  if (!cfg.large) log('   (peak RSS during a 5 GB upload: run with BENCH_LARGE=1)')
}

async function main (): Promise<void> {
  installCleanupHandlers()
  preflight()
  log(`Cairn benchmark, ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, ${f1(totalmem() / 1024 ** 3)} GiB; load average ${loadavg().map(f2).join(' ')}`)
  const root = await mkdtemp(join(cfg.tmp, 'cairn-bench-'))
  trackDir(root)
  try {
    await mkdir(join(root, 'data'))
    const file = join(root, 'data', 'blob.bin')
    const dataDir = join(root, 'cairn')
    log(`temp dir ${root}; writing ${f1(cfg.fileBytes / MiB)} MiB of pseudo-random data`)
    const fileSha = await writeDataFile(file, cfg.fileBytes, 'file')

    const senv = serverEnv(dataDir, { CAIRN_PUT_PER_SECOND: '1000000', CAIRN_READ_PER_SECOND: '1000000' })
    const creds = await createAccount(senv, '0x' + 'b3'.repeat(20), 'PRO')
    const server = await startCairn(senv)
    log(`server pid ${server.pid} at ${server.url} (data ${dataDir}, log level ${senv.CAIRN_LOG_LEVEL ?? ''}; RSS at start ${f1(memStatus(server.pid).rssKiB / 1024)} MiB)`)
    const ctx: Ctx = { root, dataDir, file, fileSha, server, creds }
    try {
      const has = (s: string): boolean => cfg.steps.has(s)
      if (has('upload') || has('cat')) {
        const { cid } = await uploadStep(ctx)
        if (has('cat')) await catStep(ctx, cid)
      }
      if (has('small')) await smallStep(ctx)
      if (has('parts')) await partsStep(ctx)
      if (cfg.large) {
        await rm(file, { force: true }) // disk space for the large pack
        // a fresh server process on the same data dir, so the peak is that of this upload alone
        await ctx.server.stop()
        ctx.server = await startCairn(senv)
        log(`\nrestarted the server for step 4: pid ${ctx.server.pid}, RSS at start ${f1(memStatus(ctx.server.pid).rssKiB / 1024)} MiB`)
        await largeStep(ctx)
      }
    } finally {
      await ctx.server.stop()
    }
    summary()
    if (cfg.json !== undefined && cfg.json !== '') {
      await writeFile(cfg.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, loadavg: loadavg(), figures }, null, 2) + '\n')
      log(`   figures written to ${cfg.json}`)
    }
  } finally {
    await cleanup()
  }
  if (cfg.strict && missed.length > 0) {
    log(`\nBENCH_STRICT=1: below target: ${missed.join('; ')}`)
    process.exitCode = 1
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}\n`)
  await cleanup()
  process.exit(1)
})
