/** Helpers of the web app's tests: a server whose files origin is where it says, and a PNG to thumbnail. */
import { createServer, type AddressInfo } from 'node:net'
import sharp from 'sharp'
import { startServer, type TestServer } from './server.js'

/** a free loopback port, so the files origin's public URL (in signed and share links) is where it listens */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as AddressInfo).port; srv.close(() => { resolve(p) }) })
  })
}

export async function pngBytes (): Promise<Buffer> {
  return await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 40, g: 120, b: 200 } } }).png().toBuffer()
}

/**
 * A server whose files origin listens where its public URL (CAIRN_FILES_ORIGIN, named by
 * share and signed links) says, with the Gateway API's account, call and upload limits off.
 */
export async function startWebServer (env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort()
  return await startServer({
    CAIRN_FILES_PORT: String(port),
    CAIRN_FILES_ORIGIN: `http://127.0.0.1:${port}`,
    CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0',
    CAIRN_GATEWAY_CALLS_PER_HOUR: '0',
    CAIRN_GATEWAY_UPLOADS_PER_HOUR: '0',
    ...env
  })
}
