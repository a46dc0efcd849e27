#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Service-backed suites read CAIRN_TEST_* variables; with CI=true a skipped service suite fails.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function find (dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...find(p))
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}

const filter = process.argv.slice(2)
const files = find('dist/test').filter(f => filter.length === 0 || filter.some(x => f.includes(x))).sort()
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)')
  process.exit(1)
}
// a test that hangs fails after 5 minutes instead of holding the run (the slowest take ~20 s)
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
