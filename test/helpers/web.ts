/** Helpers of the web app's tests: a free port for the files origin, and a PNG to thumbnail. */
import { createServer, type AddressInfo } from 'node:net'
import sharp from 'sharp'

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
