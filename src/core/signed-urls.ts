/**
 * Temporary signed URLs served by Cairn itself: `<path>?expires=<unix seconds>&signature=<hmac>`
 * where the HMAC-SHA256 covers the path and the expiry. The key is CAIRN_URL_SIGNING_SECRET,
 * or one made on first start and kept in the metadata store, so every node sharing the store
 * signs and verifies alike and URLs survive restarts. (With an S3 blob store a later change can
 * answer a real S3 presigned URL instead.)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Db } from '../adapters/metadata/open.js'

const META_KEY = 'url_signing_secret'

export class UrlSigner {
  private secret: Promise<Buffer> | undefined

  constructor (private readonly db: Db, private readonly configured: string | undefined) {}

  private async key (): Promise<Buffer> {
    this.secret ??= (async () => {
      if (this.configured !== undefined) return Buffer.from(this.configured, 'utf8')
      await this.db.insertInto('meta').values({ key: META_KEY, value: randomBytes(32).toString('base64') })
        .onConflict(oc => oc.column('key').doNothing()).execute()
      const r = await this.db.selectFrom('meta').select('value').where('key', '=', META_KEY).executeTakeFirstOrThrow()
      return Buffer.from(r.value, 'base64')
    })()
    try {
      return await this.secret
    } catch (err) {
      this.secret = undefined
      throw err
    }
  }

  private async mac (path: string, expires: number): Promise<Buffer> {
    return createHmac('sha256', await this.key()).update(`${path}\n${expires}`).digest()
  }

  /** The query string that makes `path` valid for `ttlSeconds`. */
  async sign (path: string, ttlSeconds: number, now = Date.now()): Promise<{ query: string, expiresAt: number }> {
    const expires = Math.floor(now / 1000) + ttlSeconds
    const sig = (await this.mac(path, expires)).toString('base64url')
    return { query: `expires=${expires}&signature=${sig}`, expiresAt: expires * 1000 }
  }

  /** 'ok', 'expired' or 'invalid' for a path and the expires/signature it came with. */
  async verify (path: string, expires: unknown, signature: unknown, now = Date.now()): Promise<'ok' | 'expired' | 'invalid'> {
    if (typeof expires !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(expires)) return 'invalid'
    const want = await this.mac(path, Number(expires))
    const got = Buffer.from(signature, 'base64url')
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid'
    return Number(expires) * 1000 < now ? 'expired' : 'ok'
  }
}
