/**
 * Optional real services for tests. A suite that needs one reads its CAIRN_TEST_* variable;
 * when it is missing the suite is skipped with a clear reason, except under CI=true, where
 * a skipped service suite is a failure (CI installs and starts every service).
 */
import { test } from 'node:test'

export function serviceOrSkip (envVar: string, what: string): string | undefined {
  const v = process.env[envVar]
  if (v !== undefined && v !== '') return v
  if (process.env.CI === 'true') {
    test(`${what} is required in CI`, () => {
      throw new Error(`${envVar} is not set: CI must provide ${what}`)
    })
  } else {
    test(`${what} suite`, { skip: `SKIPPED: ${envVar} is not set, so the ${what} suite did not run` }, () => {})
    process.stderr.write(`note: ${what} suite skipped (${envVar} not set)\n`)
  }
  return undefined
}
