/**
 * The Kubo RPC calls that do not collide with FluxDrive's (add, block/get, block/stat, pin/add,
 * pin/rm, pin/ls, version, id), on /api/v0 with FluxDrive's credentials, rate limits and quota.
 * The calls both APIs share (cat, get, ls) stay FluxDrive's and answer Kubo's shape when the
 * request carries Kubo's arguments (see docs/kubo-rpc.md). Errors carry FluxDrive's `error`
 * and Kubo's `Message`/`Code`/`Type`.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import { arch, platform } from 'node:os'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { base58btc } from 'multiformats/bases/base58'
import type { CID } from 'multiformats/cid'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { boolArg, stringArg } from '../args.js'
import { parseCid } from '../../../core/content/cids.js'
import { CairnError, invalid, isCairnError, notFound } from '../../../core/errors.js'
import type { UploadSource } from '../../../core/drive.js'
import { PIN_SPACE } from '../../../core/pins.js'
import type { ImportProfile } from '../../../core/content/profiles.js'
import { metered } from '../../../core/limits.js'
import { openMultipart } from '../../../http/multipart.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { fluxdriveErrorHandler } from '../errors.js'

export const CAIRN_VERSION = '0.1.0'
const PIN_LS_MAX = 100_000

/** FluxDrive's error body with Kubo's fields added, so either kind of client reads it. */
export function kuboErrors (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const send = reply.send.bind(reply)
  reply.send = ((body: unknown) => {
    if (body !== null && typeof body === 'object' && 'error' in body) {
      const message = String((body as { error: unknown }).error)
      return send({ error: message, Message: message, Code: 0, Type: 'error' })
    }
    return send(body)
  }) as typeof reply.send
  fluxdriveErrorHandler(err, req, reply)
}

/** Every value of a query argument (Kubo repeats `arg` for several paths). */
function allArgs (req: FastifyRequest, name: string): string[] {
  const v = (req.query as Record<string, unknown> | undefined)?.[name]
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).map(String).filter(s => s !== '')
}

function cidArg (s: string): CID {
  return parseCid(s.replace(/^\/?ipfs\//, '').split('/')[0])
}

/**
 * Kubo's add options onto Cairn's two import profiles: cid-version 0 is unixfs-v0-2015
 * (dag-pb leaves, 256 KiB), 1 is unixfs-v1-2025 (raw leaves, 1 MiB). raw-leaves and chunker
 * are accepted when they say what the profile does; other layouts are refused, not faked.
 */
export function addProfile (req: FastifyRequest): ImportProfile {
  const version = stringArg(req, 'cid-version') ?? '0'
  if (version !== '0' && version !== '1') throw invalid('cid-version must be 0 or 1')
  const profile: ImportProfile = version === '1' ? 'unixfs-v1-2025' : 'unixfs-v0-2015'
  const rawLeaves = stringArg(req, 'raw-leaves')
  if (rawLeaves !== undefined && boolArg(req, 'raw-leaves') !== (profile === 'unixfs-v1-2025')) {
    throw invalid(`raw-leaves=${rawLeaves} is not supported with cid-version=${version}: Cairn imports CIDv0 with dag-pb leaves and CIDv1 with raw leaves`)
  }
  const chunker = stringArg(req, 'chunker')
  const size = profile === 'unixfs-v1-2025' ? 1048576 : 262144
  if (chunker !== undefined && chunker !== 'default' && chunker !== `size-${size}`) {
    throw invalid(`chunker ${chunker} is not supported with cid-version=${version}: use size-${size}`)
  }
  const hash = stringArg(req, 'hash')
  if (hash !== undefined && hash !== 'sha2-256') throw invalid('hash must be sha2-256')
  for (const flag of ['trickle', 'nocopy', 'inline']) if (stringArg(req, flag) !== undefined && boolArg(req, flag)) throw invalid(`${flag} is not supported`)
  return profile
}

/** A stable Ed25519 peer ID for `id` (Cairn speaks no libp2p; the key only names this service). */
function peerIdFor (seed: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), createHash('sha256').update(`cairn-peer-id:${seed}`).digest()])
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' })
  const pub = Buffer.from(jwk.x as string, 'base64url')
  const protobuf = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, 0x20]), pub]) // PublicKey{Type: Ed25519, Data}
  const multihash = Buffer.concat([Buffer.from([0x00, protobuf.length]), protobuf]) // identity
  return base58btc.encode(multihash).slice(1)
}

export function kuboRoutes (app: FastifyInstance, { core }: FluxdriveDeps): void {
  const peerId = peerIdFor(core.config.filesOrigin)

  app.post('/add', {
    config: { rate: 'put' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: {
      summary: 'Kubo add: multipart files (paths in their filenames make directories); NDJSON {Name,Hash,Size} per file and directory',
      description: 'Query: cid-version (0|1), raw-leaves, chunker (size-262144 for v0, size-1048576 for v1), wrap-with-directory, only-hash, pin (default true), quiet/quieter, hash (sha2-256). Files land in the account\'s FluxDrive file list.',
      consumes: ['multipart/form-data']
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const profile = addProfile(req)
    const wrap = boolArg(req, 'wrap-with-directory')
    const onlyHash = boolArg(req, 'only-hash')
    const pin = stringArg(req, 'pin') === undefined ? true : boolArg(req, 'pin')
    const quieter = boolArg(req, 'quieter')
    const signal = abortSignalOf(req)
    const upload = await openMultipart(req)
    const budget = await core.drive.budgetFor(account)
    const lines: Array<{ Name: string, Hash: string, Size: string }> = []

    // directory parts (application/x-directory) carry no bytes: the importer makes directories from paths
    const paths: string[] = []
    async function * files (): AsyncIterable<UploadSource> {
      for await (const f of upload.files) {
        let name = f.filename ?? ''
        try { name = decodeURIComponent(name) } catch {}
        name = name.replace(/^\/+/, '')
        if (f.mimetype === 'application/x-directory') { for await (const _ of f.content) { /* empty */ } continue }
        paths.push(name)
        yield { ...f, filename: name }
      }
    }

    // peek at the first file: a path with a directory, or wrap-with-directory, makes one directory import
    const it = files()[Symbol.asyncIterator]()
    const first = await it.next()
    if (first.done === true) throw new CairnError('invalid_argument', 'No file uploaded: send multipart/form-data with "file" parts')
    async function * all (): AsyncIterable<UploadSource> {
      yield first.value as UploadSource
      for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value
    }
    const asDirectory = wrap || (first.value as UploadSource).filename?.includes('/') === true

    if (onlyHash) {
      // import to learn the CIDs, then drop the pack: nothing is recorded
      if (asDirectory) {
        const r = await core.content.import((async function * () { for await (const f of all()) yield { path: f.filename ?? 'file', content: metered(f.content, budget) } })(), { profile, wrapWithDirectory: true, signal })
        await core.content.discard(r)
        for (const m of r.members) lines.push({ Name: m.path, Hash: m.cid.toString(), Size: String(m.dagSize) })
        if (wrap) lines.push({ Name: '', Hash: r.root.cid.toString(), Size: String(r.root.dagSize) })
      } else {
        for await (const f of all()) {
          const r = await core.content.import([{ content: metered(f.content, budget) }], { profile, wrapWithDirectory: false, signal })
          await core.content.discard(r)
          lines.push({ Name: f.filename ?? '', Hash: r.root.cid.toString(), Size: String(r.root.dagSize) })
        }
      }
    } else if (asDirectory) {
      const { entry, members } = await core.drive.putFolder(account, DRIVE_SPACE, all(), { name: wrap ? (first.value as UploadSource).filename?.split('/')[0] ?? 'folder' : (first.value as UploadSource).filename?.split('/')[0] ?? 'folder', profile, budget, signal })
      for (const m of members) lines.push({ Name: m.path, Hash: m.cid, Size: String(m.dagSize) })
      if (wrap) lines.push({ Name: '', Hash: entry.cid ?? '', Size: String(entry.size) })
      if (!pin) await core.drive.unpinEntries(account.id, [entry.id])
    } else {
      const entries = await core.drive.putFiles(account, DRIVE_SPACE, all(), { profile, budget, signal })
      for (const [i, e] of entries.entries()) {
        const cid = parseCid(e.cid ?? '')
        lines.push({ Name: paths[i] ?? e.name, Hash: e.cid ?? '', Size: String(await core.content.dagSize(cid) ?? e.size) })
      }
      if (!pin) await core.drive.unpinEntries(account.id, entries.map(e => e.id))
    }
    const out = quieter ? lines.slice(-1) : lines
    reply.header('content-type', 'application/json')
    reply.header('x-chunked-output', '1')
    return await reply.send(out.map(l => JSON.stringify(l)).join('\n') + '\n')
  })

  app.post('/block/get', {
    config: { rate: 'read' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'Kubo block/get: the raw bytes of one block of a DAG the account holds' }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const cid = cidArg(stringArg(req, 'arg') ?? '')
    await core.drive.blockReadable(account.id, cid)
    const bytes = await core.content.block(cid, abortSignalOf(req))
    reply.header('content-type', 'application/octet-stream')
    reply.header('x-content-type-options', 'nosniff')
    return await reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  })

  app.post('/block/stat', {
    config: { rate: 'read' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'Kubo block/stat: {Key, Size} of one block of a DAG the account holds' }
  }, async (req) => {
    const { account } = principalOf(req)
    const cid = cidArg(stringArg(req, 'arg') ?? '')
    await core.drive.blockReadable(account.id, cid)
    const bytes = await core.content.block(cid, abortSignalOf(req))
    return { Key: cid.toString(), Size: bytes.byteLength }
  })

  app.post('/pin/add', {
    config: { rate: 'put' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'Kubo pin/add: pin the account\'s files of a CID, or stored content by CID (an entry named by it); content not stored here is pinned through /pins' }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const args = allArgs(req, 'arg')
    if (args.length === 0) throw invalid('argument "ipfs-path" is required')
    const pinned: string[] = []
    for (const a of args) {
      const cid = cidArg(a)
      const held = await core.drive.entriesOf(account.id, DRIVE_SPACE, cid)
      if (held.length > 0) {
        if (held.some(e => !e.pinned)) {
          try {
            await core.drive.setPinned(account.id, DRIVE_SPACE, cid, true)
          } catch (err) {
            if (!(isCairnError(err) && err.code === 'conflict')) throw err
          }
        }
      } else if (!(await core.drive.referenceStored(account, DRIVE_SPACE, cid))) {
        throw notFound(`${cid.toString()} is not stored here: add it, or pin it through the Pinning Service API (/pins) to fetch it from the network`)
      }
      pinned.push(cid.toString())
    }
    if (boolArg(req, 'stream')) {
      reply.header('content-type', 'application/json')
      return await reply.send(pinned.map(c => JSON.stringify(c)).join('\n') + '\n')
    }
    return { Pins: pinned }
  })

  app.post('/pin/rm', {
    config: { rate: 'put' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'Kubo pin/rm: unpin the account\'s files of a CID (they stay listed; the content goes to the collector unless something else pins it)' }
  }, async (req) => {
    const { account } = principalOf(req)
    const args = allArgs(req, 'arg')
    if (args.length === 0) throw invalid('argument "ipfs-path" is required')
    const removed: string[] = []
    for (const a of args) {
      const cid = cidArg(a)
      try {
        await core.drive.setPinned(account.id, DRIVE_SPACE, cid, false)
      } catch (err) {
        if (isCairnError(err) && (err.code === 'conflict' || err.code === 'not_found')) throw invalid(`${cid.toString()}: not pinned or pinned indirectly`)
        throw err
      }
      removed.push(cid.toString())
    }
    return { Pins: removed }
  })

  app.post('/pin/ls', {
    config: { rate: 'read' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'Kubo pin/ls: the account\'s pinned files and /pins pins, all recursive' }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const type = stringArg(req, 'type') ?? 'all'
    if (!['all', 'recursive', 'direct', 'indirect'].includes(type)) throw invalid('type must be all, recursive, direct or indirect')
    const keys = new Map<string, string | undefined>()
    if (type === 'all' || type === 'recursive') {
      for (const c of await core.drive.pinnedCids(account.id, DRIVE_SPACE, PIN_LS_MAX)) keys.set(c, undefined)
      for (const p of await core.pins.pinnedCids(account.id)) if (!keys.has(p.cid) || keys.get(p.cid) === undefined) keys.set(p.cid, p.name)
      for (const c of await core.drive.pinnedCids(account.id, PIN_SPACE, PIN_LS_MAX)) if (!keys.has(c)) keys.set(c, undefined)
    }
    const args = allArgs(req, 'arg')
    let shown = [...keys]
    if (args.length > 0) {
      shown = []
      for (const a of args) {
        const cid = cidArg(a)
        const forms = new Set([cid.toString(), cid.toV1().toString(), ...(cid.version === 1 && cid.code === 0x70 ? [cid.toV0().toString()] : [])])
        const hit = [...keys].find(([k]) => forms.has(k))
        if (hit === undefined) throw invalid(`path '${a}' is not pinned`)
        shown.push([cid.toString(), hit[1]])
      }
    }
    const names = boolArg(req, 'names')
    if (boolArg(req, 'stream')) {
      reply.header('content-type', 'application/json')
      reply.header('x-chunked-output', '1')
      return await reply.send(shown.map(([c, n]) => JSON.stringify({ Cid: c, Type: 'recursive', ...(names ? { Name: n ?? '' } : {}) })).join('\n') + (shown.length > 0 ? '\n' : ''))
    }
    return { Keys: Object.fromEntries(shown.map(([c, n]) => [c, { Type: 'recursive', ...(names ? { Name: n ?? '' } : {}) }])) }
  })

  app.post('/version', { errorHandler: kuboErrors, schema: { summary: 'Kubo version: this server\'s' } }, async () => ({
    Version: `cairn-${CAIRN_VERSION}`, Commit: '', Repo: '', System: `${arch()}/${platform()}`, Golang: ''
  }))

  app.post('/id', { errorHandler: kuboErrors, schema: { summary: 'Kubo id: a stable peer ID naming this service, and its trustless gateway (the files origin) as an address' } }, async (req) => {
    const arg = stringArg(req, 'arg')
    if (arg !== undefined && arg !== peerId) throw notFound('Cairn knows no other peers')
    let address: string[] = []
    try {
      const u = new URL(core.config.filesOrigin)
      const host = u.hostname.replace(/^\[|\]$/g, '')
      const proto = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns'
      address = [`/${proto}/${host}/tcp/${u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80'}/${u.protocol === 'https:' ? 'https' : 'http'}/p2p/${peerId}`]
    } catch {}
    return { ID: peerId, PublicKey: '', Addresses: address, AgentVersion: `cairn/${CAIRN_VERSION}`, ProtocolVersion: '', Protocols: ['/ipfs/gateway'] }
  })
}
