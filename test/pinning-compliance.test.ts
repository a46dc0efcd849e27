/**
 * The official IPFS Pinning Service API checker (@ipfs-shipyard/pinning-service-compliance)
 * against a real Cairn server on loopback. It must pass every check.
 *
 * The checker is not a devDependency: one of its dependencies downloads a Kubo binary in an
 * install script, which `npm ci` would run (and fail offline). The test installs it itself
 * from the npm registry, with --ignore-scripts, into a directory outside the repo (kept
 * between runs: $CAIRN_PINNING_COMPLIANCE_DIR or <tmp>/cairn-pinning-compliance-<version>),
 * and points its spec constant at the local copy of the spec
 * (test/fixtures/ipfs-pinning-service-v1.0.0.yaml) instead of a download. The checker
 * exits 0 even when checks fail, so the test reads its JSON report ({total, passed, failed,
 * success}) and its log.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer, type TestServer } from './helpers/server.js'

const VERSION = '1.8.1'
const PACKAGE = '@ipfs-shipyard/pinning-service-compliance'
/** the spec, kept in the repository (test/fixtures): the checker would otherwise download it */
const SPEC_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'ipfs-pinning-service-v1.0.0.yaml')
function findSpec (): string | undefined {
  return existsSync(SPEC_FILE) ? resolve(SPEC_FILE) : undefined
}

function run (cmd: string, args: string[], opts: { cwd: string, timeoutMs: number }): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (b: Buffer) => { output += b.toString() })
    child.stderr.on('data', (b: Buffer) => { output += b.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs)
    child.on('error', reject)
    child.on('close', code => { clearTimeout(timer); resolve({ code, output }) })
  })
}

/** The checker installed (once) outside the repo, its spec constant pointing at the local file. */
async function installChecker (spec: string): Promise<string> {
  const dir = process.env.CAIRN_PINNING_COMPLIANCE_DIR ?? join(tmpdir(), `cairn-pinning-compliance-${VERSION}`)
  const pkg = join(dir, 'node_modules', ...PACKAGE.split('/'))
  if (!existsSync(join(pkg, 'dist', 'src', 'index.js'))) {
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'cairn-pinning-compliance', private: true }))
    const r = await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', '--prefix', dir, `${PACKAGE}@${VERSION}`], { cwd: dir, timeoutMs: 600_000 })
    if (r.code !== 0) throw new Error(`npm install of the checker failed:\n${r.output.slice(-3000)}`)
  }
  const constants = join(pkg, 'dist', 'src', 'utils', 'constants.js')
  const src = await readFile(constants, 'utf8')
  const patched = src.replace(/const specLocation = [^;]*;/, `const specLocation = ${JSON.stringify(spec)};`)
  if (!patched.includes(JSON.stringify(spec))) throw new Error(`could not patch the spec location in ${constants}`)
  if (patched !== src) await writeFile(constants, patched)
  return pkg
}

describe('Pinning Service API: the official compliance checker', () => {
  let s: TestServer
  let pkg: string | undefined
  let skip: string | false = false
  before(async () => {
    const spec = findSpec()
    if (spec === undefined) throw new Error(`${SPEC_FILE} is missing from the repository`)
    pkg = await installChecker(spec)
    s = await startServer()
  })
  after(async () => { await s?.close() })

  test('passes every check (9/9)', { timeout: 900_000 }, async t => {
    if (skip !== false || pkg === undefined) { t.skip(skip === false ? 'no checker' : skip); return }
    const a = await s.account()
    const docs = join(pkg, 'dist', 'docs')
    await rm(docs, { recursive: true, force: true })
    const r = await run(process.execPath, [join(pkg, 'dist', 'src', 'index.js'), '-s', s.url, a.key], { cwd: pkg, timeoutMs: 600_000 })
    const reports = existsSync(docs) ? (await readdir(docs)).filter(f => f.endsWith('.json')) : []
    assert.equal(reports.length, 1, `the checker wrote no JSON report (exit ${String(r.code)}):\n${r.output.slice(-4000)}`)
    const report = JSON.parse(await readFile(join(docs, reports[0]), 'utf8')) as { total: number, passed: number, failed: number, success: boolean }
    const md = (await readdir(docs)).filter(f => f.endsWith('.md'))
    const detail = md.length > 0 ? (await readFile(join(docs, md[0]), 'utf8')).slice(0, 6000) : r.output.slice(-4000)
    assert.equal(report.failed, 0, `failed checks:\n${detail}`)
    assert.equal(report.passed, 9, JSON.stringify(report))
    assert.equal(report.success, true)
  })
})
