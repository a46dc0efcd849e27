/**
 * The `encryptedName` convention of QuickSync's QS Share: the file name encrypted with
 * "AES256, using the session ID as the key". The Upload API's docs say no more (no mode, IV or
 * key derivation), so Cairn fixes the format that phrase means in the tools web clients use:
 * the passphrase form of CryptoJS, `CryptoJS.AES.encrypt(name, sessionId).toString()`, which is
 * OpenSSL's `enc` format:
 *
 *   base64( "Salted__" | salt (8 random bytes) | AES-256-CBC(PKCS#7-padded UTF-8 name) )
 *   key and IV = EVP_BytesToKey(MD5, passphrase = UTF-8 session id, salt): 32 + 16 bytes
 *
 * so `openssl enc -aes-256-cbc -md md5 -a -A -pass pass:<sessionId>` reads and writes it too.
 * The server never decrypts it: it stores the string and gives it back unchanged. (Anyone who
 * knows the session id can read the name: it hides names from bystanders, not from members.)
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const MAGIC = Buffer.from('Salted__', 'latin1')

/** OpenSSL's EVP_BytesToKey with MD5 and one iteration: 32 bytes of key, 16 of IV. */
function bytesToKey (passphrase: Buffer, salt: Buffer): { key: Buffer, iv: Buffer } {
  const out: Buffer[] = []
  let prev = Buffer.alloc(0)
  let have = 0
  while (have < 48) {
    prev = createHash('md5').update(Buffer.concat([prev, passphrase, salt])).digest()
    out.push(prev)
    have += prev.length
  }
  const all = Buffer.concat(out)
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) }
}

/** Encrypt a file name for `encryptedName` (base64). `salt` is for tests; leave it random. */
export function encryptName (name: string, sessionId: string, salt: Buffer = randomBytes(8)): string {
  if (salt.length !== 8) throw new Error('salt must be 8 bytes')
  const { key, iv } = bytesToKey(Buffer.from(sessionId, 'utf8'), salt)
  const c = createCipheriv('aes-256-cbc', key, iv)
  return Buffer.concat([MAGIC, salt, c.update(name, 'utf8'), c.final()]).toString('base64')
}

/** Decrypt an `encryptedName` made by encryptName, CryptoJS or OpenSSL with the same session id. */
export function decryptName (encrypted: string, sessionId: string): string {
  const raw = Buffer.from(encrypted.trim(), 'base64')
  if (raw.length < 32 || !raw.subarray(0, 8).equals(MAGIC) || (raw.length - 16) % 16 !== 0) {
    throw new Error('not an encryptedName (expected base64 of "Salted__", an 8-byte salt and AES blocks)')
  }
  const { key, iv } = bytesToKey(Buffer.from(sessionId, 'utf8'), raw.subarray(8, 16))
  const d = createDecipheriv('aes-256-cbc', key, iv)
  try {
    return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8')
  } catch {
    throw new Error('cannot decrypt: wrong session id, or not an encryptedName')
  }
}
