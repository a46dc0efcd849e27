/**
 * Passwords (the gateway's email logins): argon2id with OWASP's minimum parameters (19 MiB,
 * 2 passes), stored as a PHC string so parameters can be raised later without a migration.
 */
import { Algorithm, hash, verify } from '@node-rs/argon2'
import { invalid } from './errors.js'

const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 }
export const MIN_PASSWORD = 8
/** argon2 takes any length; a cap keeps one request from hashing megabytes */
export const MAX_PASSWORD = 256
const COMMON = new Set(['password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyuiop', 'qwerty123', 'iloveyou', '11111111', '00000000', 'abcdefgh', 'abc12345', 'letmein1', 'welcome1', 'changeme'])

/** Why a password is too weak, or undefined when it will do. */
export function passwordProblem (password: string, email?: string): string | undefined {
  const length = [...password].length
  if (length < MIN_PASSWORD) return `Password must be at least ${MIN_PASSWORD} characters long`
  if (length > MAX_PASSWORD) return `Password must be at most ${MAX_PASSWORD} characters long`
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter(re => re.test(password)).length
  if (classes < 2) return 'Password must mix at least two of: lowercase letters, uppercase letters, digits, symbols'
  if (COMMON.has(password.toLowerCase())) return 'Password is too common'
  const local = email?.split('@')[0]?.toLowerCase()
  if (local !== undefined && local.length >= 4 && password.toLowerCase().includes(local)) return 'Password must not contain the email address'
  return undefined
}

export async function hashPassword (password: string): Promise<string> {
  return await hash(password, OPTIONS)
}

export async function verifyPassword (phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password)
  } catch {
    return false
  }
}

export function checkPassword (password: unknown, email?: string): string {
  if (typeof password !== 'string' || password.length === 0) throw invalid('Missing required field: password')
  const problem = passwordProblem(password, email)
  if (problem !== undefined) throw invalid(problem)
  return password
}
