/** Helpers for the IPFS gateway and CAR tests: fixture CARs in, CAR answers parsed. */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CarReader } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import type { TestServer } from './server.js'

/** test/fixtures/gateway-conformance of the repository (this file runs from dist/test/helpers) */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'gateway-conformance')

export function fixture (name: string): Uint8Array {
  return readFileSync(join(FIXTURES, name))
}

/** POST /api/v0/dag/import with one CAR, as Kubo clients send it */
export async function importCarHttp (s: TestServer, auth: string, car: Uint8Array, query = ''): Promise<Response> {
  const fd = new FormData()
  fd.append('file', new Blob([car as BlobPart], { type: 'application/vnd.ipld.car' }), 'data.car')
  return await fetch(`${s.url}/api/v0/dag/import${query}`, { method: 'POST', headers: { authorization: auth }, body: fd })
}

export interface ParsedCar { roots: string[], blocks: Array<{ cid: string, bytes: Uint8Array }> }

export async function parseCar (bytes: Uint8Array): Promise<ParsedCar> {
  const r = await CarReader.fromBytes(bytes)
  const roots = (await r.getRoots()).map(c => c.toString())
  const blocks: ParsedCar['blocks'] = []
  for await (const b of r.blocks()) blocks.push({ cid: b.cid.toString(), bytes: new Uint8Array(b.bytes) })
  return { roots, blocks }
}

/** every block of a fixture CAR, by CID string */
export async function fixtureBlocks (name: string): Promise<Map<string, Uint8Array>> {
  const { blocks } = await parseCar(fixture(name))
  return new Map(blocks.map(b => [b.cid, b.bytes]))
}

export async function gw (s: TestServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ res: Response, body: Buffer }> {
  const res = await fetch(s.filesUrl + path, { method, headers, redirect: 'manual' })
  return { res, body: Buffer.from(await res.arrayBuffer()) }
}

export const str = (c: CID): string => c.toString()
