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
 *   2b. gateway GET /ipfs/<cid> of that file, whole and in 1 MiB ranges   vs  nginx serving it
 *   4. memory   peak RSS of the server process during a 5 GB upload   vs  300 MB (BENCH_LARGE=1)
 *   5. S3       upload and cat of the 1 GiB file with packs in S3     vs  steps 1 and 2 (filesystem)
 *               (when CAIRN_TEST_S3_ENDPOINT names an S3 server, e.g. Swift on loopback)
 *   6. nodes    small puts per second through two API nodes              vs  one node (same stores)
 *               (when CAIRN_TEST_DATABASE_URL names a PostgreSQL the nodes can share)
 *   7. parts    the same file in 16 MiB parts through /buckets and tus (curl; and the clients' libraries) vs one-shot /api/v0/put
 *
 * BENCH_STEPS=upload,cat,gateway,small,parts,s3,nodes runs only the steps named (all by
 * default); e.g. BENCH_STEPS=gateway uploads the file once with curl, then runs step 2b only.
 */
import { existsSync, statfsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { createAccount, serverEnv, startCairn, CLI_MAIN, type CairnServer, type Credentials } from './lib/cairn.js'
import { curlGet, curlPut, drainResponse, hashResponse, load, multipartHead, multipartTail, streamPut, type LoadResult } from './lib/client.js'
import { prngBytes, prngChunks, writeDataFile } from './lib/data.js'
import { importerOnly } from './lib/importer-only.js'
import { bucketsUpload, curlBucketsUpload, curlTusUpload, splitFile, tusUpload } from './lib/resumable.js'
import { NGINX, startNginx } from './lib/nginx.js'
import { cleanup, cpuSeconds, installCleanupHandlers, memStatus, trackDir, watchRss } from './lib/procs.js'
import { s3Bucket, s3Settings, swiftCpuSeconds } from './lib/s3.js'
import { nodesStep } from './lib/nodes-step.js'

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
  rangeBytes: Math.round(num('BENCH_RANGE_MIB', 1) * MiB),
  gatewayRuns: num('BENCH_GATEWAY_RUNS', 2),
  smallBytes: num('BENCH_SMALL_BYTES', 4096),
  smallPuts: num('BENCH_SMALL_PUTS', 2000),
  smallCats: num('BENCH_SMALL_CATS', 5000),
  concurrency: num('BENCH_CONCURRENCY', 4),
  smallMaxMs: num('BENCH_SMALL_MAX_SECONDS', 20) * 1000,
  tmp: env.BENCH_TMPDIR ?? tmpdir(),
  strict: env.BENCH_STRICT === '1',
  rssAbortBytes: num('BENCH_RSS_ABORT_MB', 8000) * MB,
  json: env.BENCH_JSON,
  s3: s3Settings(),
  pgAdminUrl: env.CAIRN_TEST_DATABASE_URL,
  steps: new Set((env.BENCH_STEPS ?? 'upload,cat,gateway,small,parts,s3,nodes').split(',').map(x => x.trim())),
  partBytes: Math.round(num('BENCH_PART_MIB', 16) * MiB),
  partConcurrency: num('BENCH_PART_CONCURRENCY', 1),
  partRuns: num('BENCH_PART_RUNS', 2)
}

const TARGET = { upload: 0.8, cat: 0.5, gateway: 0.5, parts: 0.8, putPerSecond: 150, catPerSecond: 1500, peakRssMB: 300 }

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

async function uploadStep (ctx: Ctx): Promise<{ cid: string, bestPut: number }> {
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
  return { cid, bestPut: best(put) }
}

async function catStep (ctx: Ctx, cid: string): Promise<number> {
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
  return best(cairn)
}

/**
 * Step 5: the same upload and cat with packs in an S3 bucket (a second server process on its
 * own data dir, with CAIRN_S3_* set), as a ratio of the filesystem figures of steps 1 and 2.
 * The Swift processes' CPU time is reported next to the server's: on loopback they share the
 * same two cores.
 */
async function s3Step (ctx: Ctx, cid: string, fsPut: number, fsCat: number): Promise<void> {
  const s3 = cfg.s3
  if (s3 === undefined) return
  step(`5. S3: the same ${f1(cfg.fileBytes / MiB)} MiB upload and cat with packs in S3 (${s3.endpoint}) vs the filesystem store (steps 1 and 2)`)
  const bucket = await s3Bucket(s3)
  let server: CairnServer | undefined
  try {
    const senv = serverEnv(join(ctx.root, 'cairn-s3'), { CAIRN_PUT_PER_SECOND: '1000000', CAIRN_READ_PER_SECOND: '1000000', ...bucket.env })
    const creds = await createAccount(senv, '0x' + 'c4'.repeat(20), 'PRO')
    server = await startCairn(senv)
    log(`   server pid ${server.pid} at ${server.url}, bucket ${bucket.bucket}`)
    const gib = cfg.fileBytes / (1024 * MiB)
    const put: number[] = []
    let peakKiB = 0
    for (let i = 0; i < cfg.uploadRuns; i++) {
      const w = watchRss(server.pid)
      const s0 = cpuSeconds(server.pid)
      const sw0 = swiftCpuSeconds()
      const u = await curlPut(server.url, creds.zelid, creds.key, ctx.file)
      const cpu = cpuSeconds(server.pid) - s0
      const swift = swiftCpuSeconds() - sw0
      peakKiB = Math.max(peakKiB, w.stop().peakKiB)
      if (u.hash !== cid) throw new Error(`Cairn on S3 answered ${u.hash}, on the filesystem ${cid}`)
      put.push(mbps(cfg.fileBytes, u.seconds))
      log(`   s3 put  ${f1(put[i])} MB/s (${f2(u.seconds)} s; server ${f2(cpu / gib)} CPU-s/GiB, S3 server ${f2(swift / gib)} CPU-s/GiB; server peak RSS ${f1(peakKiB / 1024)} MiB)`)
    }
    const catUrl = `${server.url}/api/v0/cat?hash=${cid}`
    const check = await hashResponse(catUrl, { method: 'POST', auth: creds.auth })
    if (check.bytes !== cfg.fileBytes || check.sha256 !== ctx.fileSha) throw new Error(`cat from S3 returned ${check.bytes} bytes with sha256 ${check.sha256}`)
    log('   cat from S3 returns the uploaded bytes (sha256 checked)')
    const cat: number[] = []
    for (let i = 0; i < cfg.catRuns; i++) {
      const w = watchRss(server.pid)
      const s0 = cpuSeconds(server.pid)
      const sw0 = swiftCpuSeconds()
      const c = await curlGet(catUrl, { post: true, user: creds.zelid, key: creds.key })
      const cpu = cpuSeconds(server.pid) - s0
      const swift = swiftCpuSeconds() - sw0
      peakKiB = Math.max(peakKiB, w.stop().peakKiB)
      if (c.downloaded !== cfg.fileBytes) throw new Error(`cat from S3 sent ${c.downloaded} bytes`)
      cat.push(mbps(c.downloaded, c.seconds))
      log(`   s3 cat  ${f1(cat[i])} MB/s (${f2(c.seconds)} s; server ${f2(cpu)} CPU-s, S3 server ${f2(swift)} CPU-s)`)
    }
    const upRatio = best(put) / fsPut
    const catRatio = best(cat) / fsCat
    log(`   => upload: S3 ${f1(best(put))} MB/s / filesystem ${f1(fsPut)} MB/s = ${f2(upRatio)}; cat: S3 ${f1(best(cat))} MB/s / filesystem ${f1(fsCat)} MB/s = ${f2(catRatio)} (server peak RSS ${f1(peakKiB / 1024)} MiB)`)
    figure({ name: `S3 upload ${sizeLabel()} / filesystem`, value: best(put), anchor: fsPut, unit: 'MB/s', ratio: upRatio, target: 'info', ok: undefined })
    figure({ name: `S3 cat ${sizeLabel()} / filesystem`, value: best(cat), anchor: fsCat, unit: 'MB/s', ratio: catRatio, target: 'info', ok: undefined })
    figure({ name: `server peak RSS, ${sizeLabel()} on S3`, value: peakKiB / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
  } finally {
    if (server !== undefined) await server.stop()
    await bucket.drop()
  }
}

/** the 1 MiB ranges of the file, in a fixed shuffled order (the same for both sides) */
function rangeOrder (): Array<{ start: number, end: number }> {
  const n = Math.ceil(cfg.fileBytes / cfg.rangeBytes)
  const out: Array<{ start: number, end: number }> = []
  for (let k = 0; k < n; k++) {
    const i = (k * 7919) % n // 7919 is prime: a permutation of 0..n-1 unless n is a multiple of it
    out.push({ start: i * cfg.rangeBytes, end: Math.min(cfg.fileBytes, (i + 1) * cfg.rangeBytes) })
  }
  return out
}

async function rangesMBps (base: string, path: string, ranges: Array<{ start: number, end: number }>): Promise<{ mbps: number, r: LoadResult }> {
  const r = await load(base, {
    count: ranges.length,
    concurrency: 1,
    maxMs: 600_000,
    make: i => ({
      method: 'GET',
      path,
      headers: { range: `bytes=${ranges[i].start}-${ranges[i].end - 1}` },
      check: (status, body) => status !== 206 ? `status ${status}` : body.byteLength !== ranges[i].end - ranges[i].start ? `${body.byteLength} bytes` : undefined
    })
  })
  if (r.failed > 0) throw new Error(`range requests to ${base}${path} failed: ${r.firstError ?? ''}`)
  return { mbps: mbps(ranges.reduce((n, x) => n + x.end - x.start, 0), r.seconds), r }
}

async function gatewayStep (ctx: Ctx, cid: string): Promise<void> {
  step(`2b. gateway: GET ${ctx.server.filesUrl}/ipfs/<cid> of the same ${f1(cfg.fileBytes / MiB)} MiB, whole (curl) and in ${f1(cfg.rangeBytes / MiB)} MiB ranges (one keep-alive client, shuffled order), vs nginx serving the file`)
  const url = `${ctx.server.filesUrl}/ipfs/${cid}`
  const check = await hashResponse(url, { method: 'GET' })
  if (check.bytes !== cfg.fileBytes || check.sha256 !== ctx.fileSha) throw new Error(`the gateway returned ${check.bytes} bytes with sha256 ${check.sha256}`)
  log('   the gateway returns the uploaded bytes (sha256 checked)')
  const nginx = await startNginx(join(ctx.root, 'nginx-gw'), join(ctx.root, 'data'))
  const ranges = rangeOrder()
  const whole = { cairn: [] as number[], nginx: [] as number[] }
  const ranged = { cairn: [] as number[], nginx: [] as number[] }
  try {
    for (let i = 0; i < cfg.gatewayRuns; i++) {
      const s0 = cpuSeconds(ctx.server.pid)
      const c = await curlGet(url)
      const cpu = cpuSeconds(ctx.server.pid) - s0
      if (c.downloaded !== cfg.fileBytes) throw new Error(`the gateway sent ${c.downloaded} bytes`)
      whole.cairn.push(mbps(c.downloaded, c.seconds))
      const n = await curlGet(`${nginx.url}/blob.bin`)
      whole.nginx.push(mbps(n.downloaded, n.seconds))
      log(`   whole:  gateway ${f1(whole.cairn[i])} MB/s (${f2(c.seconds)} s, server ${f2(cpu)} CPU-s)    nginx ${f1(whole.nginx[i])} MB/s (${f2(n.seconds)} s)`)

      const r0 = cpuSeconds(ctx.server.pid)
      const gr = await rangesMBps(ctx.server.filesUrl, `/ipfs/${cid}`, ranges)
      const rcpu = cpuSeconds(ctx.server.pid) - r0
      ranged.cairn.push(gr.mbps)
      const nr = await rangesMBps(nginx.url, '/blob.bin', ranges)
      ranged.nginx.push(nr.mbps)
      log(`   ranges: gateway ${f1(gr.mbps)} MB/s (${ranges.length} in ${f2(gr.r.seconds)} s, p50 ${f1(gr.r.p50ms)} ms, server ${f2(rcpu)} CPU-s)    nginx ${f1(nr.mbps)} MB/s (p50 ${f1(nr.r.p50ms)} ms)`)
    }
  } finally {
    await nginx.stop()
  }
  const wr = best(whole.cairn) / best(whole.nginx)
  const rr = best(ranged.cairn) / best(ranged.nginx)
  log(`   => whole  ${f1(best(whole.cairn))} / ${f1(best(whole.nginx))} MB/s = ${f2(wr)}  (target >= ${TARGET.gateway}: ${verdict(wr >= TARGET.gateway)})`)
  log(`   => ranges ${f1(best(ranged.cairn))} / ${f1(best(ranged.nginx))} MB/s = ${f2(rr)}  (target >= ${TARGET.gateway}: ${verdict(rr >= TARGET.gateway)}; best of ${cfg.gatewayRuns} each)`)
  figure({ name: `gateway ${sizeLabel()} / nginx`, value: best(whole.cairn), anchor: best(whole.nginx), unit: 'MB/s', ratio: wr, target: `>= ${TARGET.gateway}`, ok: wr >= TARGET.gateway })
  figure({ name: `gateway ${f1(cfg.rangeBytes / MiB)} MiB ranges / nginx`, value: best(ranged.cairn), anchor: best(ranged.nginx), unit: 'MB/s', ratio: rr, target: `>= ${TARGET.gateway}`, ok: rr >= TARGET.gateway })
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

async function twoNodesStep (root: string, adminUrl: string): Promise<void> {
  step(`6. nodes: ${cfg.smallBytes}-byte puts through two API nodes vs one (PostgreSQL and one blob dir shared; ${cfg.concurrency} clients in all, split between the nodes)`)
  const r = await nodesStep({ root, adminUrl, count: cfg.smallPuts, concurrency: cfg.concurrency, bytes: cfg.smallBytes, maxMs: cfg.smallMaxMs })
  log(`   one node   ${r.one.done} in ${f2(r.one.seconds)} s = ${f1(r.one.perSecond)}/s${r.one.failed > 0 ? ` (${r.one.failed} FAILED: ${r.one.firstError ?? ''})` : ''}`)
  log(`   two nodes  ${r.two.done} in ${f2(r.two.seconds)} s = ${f1(r.two.perSecond)}/s${r.two.failed > 0 ? ` (${r.two.failed} FAILED)` : ''}`)
  log(`   => two / one = ${f2(r.two.perSecond / r.one.perSecond)}  (${cpus().length} cores shared by both nodes, PostgreSQL and the client: no target)`)
  figure({ name: 'small put: two nodes / one node', value: r.two.perSecond, anchor: r.one.perSecond, unit: 'req/s', ratio: r.two.perSecond / r.one.perSecond, target: 'none', ok: undefined })
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
 * 7. The same file in parts through the Upload API (/buckets) and through tus, each as a
 * ratio of a one-shot /api/v0/put of the same bytes, interleaved in the same run. The
 * headline figures send the parts with curl, the client the put is measured with (part
 * files as `split -b 16M` makes them, one curl run per upload over one connection: the
 * docs' way); the clients' own libraries are measured too (a Node client for /buckets,
 * tus-js-client for tus), whose CPU shares the machine's two cores with the server.
 */
async function partsStep (ctx: Ctx): Promise<void> {
  const mib = cfg.partBytes / MiB
  const c = cfg.partConcurrency
  step(`7. parts: ${sizeLabel()} in ${f1(mib)} MiB parts through /buckets and tus vs one-shot /api/v0/put (curl); parts sent with curl (1 at a time, and ${Math.max(4, c)} at a time for /buckets) and with the clients' libraries`)
  const partsDir = join(dirname(ctx.file), 'parts')
  await mkdir(partsDir, { recursive: true })
  const partFiles = await splitFile(ctx.file, cfg.fileBytes, cfg.partBytes, partsDir)
  const kinds = ['put', 'buckets', 'buckets4', 'tus', 'bucketsNode', 'tusJs'] as const
  type Kind = typeof kinds[number]
  const label: Record<Kind, string> = { put: 'put', buckets: '/buckets', buckets4: `/buckets ${Math.max(4, c)}x`, tus: 'tus', bucketsNode: `/buckets node${c > 1 ? ` ${c}x` : ''}`, tusJs: 'tus-js-client' }
  const speed: Record<Kind, number[]> = { put: [], buckets: [], buckets4: [], tus: [], bucketsNode: [], tusJs: [] }
  const peak: Record<Kind, number> = { put: 0, buckets: 0, buckets4: 0, tus: 0, bucketsNode: 0, tusJs: 0 }
  const gib = cfg.fileBytes / (1024 * MiB)
  let cid = ''
  const same = (got: string, what: string): void => {
    if (cid === '') cid = got
    if (got !== cid) throw new Error(`${what} gave ${got}, expected ${cid}`)
  }
  const send = async (k: Kind): Promise<{ seconds: number, cid: string }> => {
    switch (k) {
      case 'put': { const u = await curlPut(ctx.server.url, ctx.creds.zelid, ctx.creds.key, ctx.file); return { seconds: u.seconds, cid: u.hash } }
      case 'buckets': return await curlBucketsUpload(ctx.server.url, ctx.creds.key, partFiles, cfg.fileBytes, 1)
      case 'buckets4': return await curlBucketsUpload(ctx.server.url, ctx.creds.key, partFiles, cfg.fileBytes, Math.max(4, c))
      case 'tus': return await curlTusUpload(ctx.server.url, ctx.creds.key, partFiles, cfg.fileBytes, cfg.partBytes)
      case 'bucketsNode': return await bucketsUpload(ctx.server.url, ctx.creds.key, ctx.file, cfg.fileBytes, cfg.partBytes, c)
      case 'tusJs': return await tusUpload(ctx.server.url, ctx.creds.key, ctx.file, cfg.fileBytes, cfg.partBytes)
    }
  }
  for (let i = 0; i < cfg.partRuns; i++) {
    const line: string[] = []
    for (const k of kinds) {
      const w = watchRss(ctx.server.pid)
      const c0 = cpuSeconds(ctx.server.pid)
      const r = await send(k)
      const cpu = cpuSeconds(ctx.server.pid) - c0
      peak[k] = Math.max(peak[k], w.stop().peakKiB)
      same(r.cid, label[k])
      speed[k].push(mbps(cfg.fileBytes, r.seconds))
      line.push(`${label[k]} ${f1(speed[k][i])} MB/s (${f2(cpu / gib)} CPU-s/GiB)`)
    }
    log(`   ${line.join('   ')}`)
  }
  const ratio = (k: Kind): number => best(speed[k]) / best(speed.put)
  log(`   => with curl: /buckets ${f2(ratio('buckets'))} (${f2(ratio('buckets4'))} with ${Math.max(4, c)} parts at a time) and tus ${f2(ratio('tus'))} of one-shot put (target >= ${TARGET.parts}: ${verdict(ratio('buckets') >= TARGET.parts)}, ${verdict(ratio('tus') >= TARGET.parts)}; best of ${cfg.partRuns} each)`)
  log(`      with the clients' libraries: /buckets (Node) ${f2(ratio('bucketsNode'))}, tus-js-client ${f2(ratio('tusJs'))}`)
  log(`      server peak RSS: ${kinds.map(k => `${label[k]} ${f1(peak[k] / 1024)} MiB`).join(', ')}`)
  figure({ name: `/buckets ${sizeLabel()} in ${f1(mib)} MiB parts (curl) / put`, value: best(speed.buckets), anchor: best(speed.put), unit: 'MB/s', ratio: ratio('buckets'), target: `>= ${TARGET.parts}`, ok: ratio('buckets') >= TARGET.parts })
  figure({ name: `/buckets ${sizeLabel()}, ${Math.max(4, c)} parts at a time (curl) / put`, value: best(speed.buckets4), anchor: best(speed.put), unit: 'MB/s', ratio: ratio('buckets4'), target: `>= ${TARGET.parts}`, ok: ratio('buckets4') >= TARGET.parts })
  figure({ name: `tus ${sizeLabel()} in ${f1(mib)} MiB PATCHes (curl) / put`, value: best(speed.tus), anchor: best(speed.put), unit: 'MB/s', ratio: ratio('tus'), target: `>= ${TARGET.parts}`, ok: ratio('tus') >= TARGET.parts })
  figure({ name: '/buckets (Node client) / put', value: best(speed.bucketsNode), anchor: best(speed.put), unit: 'MB/s', ratio: ratio('bucketsNode'), target: 'info', ok: undefined })
  figure({ name: 'tus (tus-js-client) / put', value: best(speed.tusJs), anchor: best(speed.put), unit: 'MB/s', ratio: ratio('tusJs'), target: 'info', ok: undefined })
  figure({ name: 'server peak RSS, /buckets upload', value: peak.buckets / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
  figure({ name: 'server peak RSS, tus upload', value: peak.tus / 1024, anchor: NaN, unit: 'MiB', ratio: NaN, target: 'info', ok: undefined })
  await rm(partsDir, { recursive: true, force: true })
}

// ---------- main ----------
function preflight (): void {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: build first (npm run bench builds)`)
  if (cfg.steps.has('cat') && !existsSync(NGINX)) throw new Error(`nginx not found at ${NGINX} (set BENCH_NGINX)`)
  // the data file, the Cairn pack of it, its part files (step 7), and with BENCH_LARGE the large pack, plus slack
  const need = cfg.fileBytes * (cfg.s3 === undefined ? 2 : 3) + (cfg.steps.has('parts') ? cfg.fileBytes : 0) + (cfg.large ? cfg.largeBytes : 0) + 512 * MiB
  const s = statfsSync(cfg.tmp)
  const free = s.bavail * s.bsize
  if (free < need) throw new Error(`${cfg.tmp} has ${f1(free / 1e9)} GB free, the benchmark needs ${f1(need / 1e9)} GB (set BENCH_TMPDIR)`)
}

function summary (): void {
  step(`summary (load average now ${loadavg().map(f2).join(' ')}; other work on the machine lowers every figure)`)
  for (const f of figures) {
    // informational figures show their anchor only when it is a measured one (the S3 ratios)
    const shown = f.ok !== undefined || f.unit === 'MB/s'
    const anchor = shown && Number.isFinite(f.anchor) ? ` vs ${f1(f.anchor)}` : ''
    const ratio = shown && Number.isFinite(f.ratio) ? `  ratio ${f2(f.ratio)}` : ''
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
      let cid: string | undefined
      let bestPut: number | undefined
      let bestCat: number | undefined
      if (has('upload')) ({ cid, bestPut } = await uploadStep(ctx))
      if (cid === undefined && (has('cat') || has('gateway'))) {
        const up = await curlPut(server.url, creds.zelid, creds.key, file)
        cid = up.hash
        log(`uploaded ${f1(cfg.fileBytes / MiB)} MiB in ${f2(up.seconds)} s as ${up.hash} (step 1 not run)`)
      }
      if (has('cat') && cid !== undefined) bestCat = await catStep(ctx, cid)
      if (has('gateway') && cid !== undefined) await gatewayStep(ctx, cid)
      if (has('small')) await smallStep(ctx)
      if (has('parts')) await partsStep(ctx)
      if (has('s3')) {
        if (cfg.s3 !== undefined && cid !== undefined && bestPut !== undefined && bestCat !== undefined) await s3Step(ctx, cid, bestPut, bestCat)
        else log('\n(step 5, S3: needs steps upload and cat, and CAIRN_TEST_S3_ENDPOINT with its key variables)')
      }
      if (has('nodes')) {
        if (cfg.pgAdminUrl !== undefined && cfg.pgAdminUrl !== '') await twoNodesStep(root, cfg.pgAdminUrl)
        else log('\n(step 6, two API nodes: set CAIRN_TEST_DATABASE_URL to a PostgreSQL that may create databases)')
      }
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
