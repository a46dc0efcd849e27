/**
 * CAR in and out, named as Kubo's RPC names them: `dag/import` (multipart CAR files; one
 * NDJSON line per root, then the stats when asked) and `dag/export?arg=<cid>` (the DAG as a
 * CARv1 stream). Additive to FluxDrive: same credentials, rate limits and quota. Errors carry
 * FluxDrive's `error` and Kubo's `Message`/`Code`/`Type`, so either kind of client reads them.
 */
import type { FastifyInstance } from 'fastify'
import { type FluxdriveDeps, DRIVE_SPACE, principalOf } from '../context.js'
import { boolArg, requireHash } from '../args.js'
import { parseCid } from '../../../core/content/cids.js'
import { CairnError } from '../../../core/errors.js'
import { openMultipart } from '../../../http/multipart.js'
import { abortSignalOf } from '../../../http/abort-signal.js'
import { bodyStream } from '../../../http/body-stream.js'
import { contentDisposition } from '../../../http/responses.js'
import { kuboErrors } from './kubo.js'
import { stringArg } from '../args.js'

export function dagRoutes (app: FastifyInstance, { core, metrics }: FluxdriveDeps): void {
  app.post('/dag/import', {
    config: { rate: 'put' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: {
      summary: 'Import CAR files (multipart "file" parts): every block verified against its CID; each root becomes a file entry (pin-roots, default true)',
      description: 'Query: pin-roots (default true: the roots become entries of the account and count against its quota; a root whose DAG the CAR lacks is refused), stats (add a Stats line). Answer: NDJSON, one {"Root":{"Cid":{"/":cid},"PinErrorMsg":""}} line per root.',
      consumes: ['multipart/form-data']
    }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const pinRoots = stringArg(req, 'pin-roots') === undefined ? true : boolArg(req, 'pin-roots')
    const stats = boolArg(req, 'stats')
    const upload = await openMultipart(req)
    const budget = await core.drive.budgetFor(account)
    const signal = abortSignalOf(req)
    const lines: string[] = []
    let blockCount = 0
    let blockBytes = 0
    for await (const file of upload.files) {
      const out = await core.drive.importCar(account, DRIVE_SPACE, file.content, { pinRoots, budget, signal })
      for (const r of out.roots) lines.push(JSON.stringify({ Root: { Cid: { '/': r.cid }, PinErrorMsg: '' } }))
      blockCount += out.blockCount
      blockBytes += out.blockBytes
    }
    if (upload.count() === 0) throw new CairnError('invalid_argument', 'No file uploaded: send the CAR as a multipart "file" part')
    if (stats) lines.push(JSON.stringify({ Stats: { BlockCount: blockCount, BlockBytesCount: blockBytes } }))
    reply.header('content-type', 'application/json')
    reply.header('x-chunked-output', '1')
    return await reply.send(Buffer.from(lines.join('\n') + '\n', 'utf8'))
  })

  app.post('/dag/export', {
    config: { rate: 'read' } as Record<string, unknown>,
    errorHandler: kuboErrors,
    schema: { summary: 'The DAG under a CID the account holds, as a CARv1 stream (depth-first, each block once)' }
  }, async (req, reply) => {
    const { account } = principalOf(req)
    const arg = requireHash(req)
    const cid = parseCid(arg.replace(/^\/?ipfs\//, ''))
    await core.drive.readable(account.id, cid)
    const car = await core.gateway.exportCar(cid, abortSignalOf(req))
    reply.header('content-type', 'application/vnd.ipld.car')
    reply.header('x-stream-output', '1')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('content-disposition', contentDisposition('attachment', `${cid.toString()}.car`))
    return await reply.send(bodyStream(car, metrics))
  })
}
