/**
 * CARv1 output with @ipld/car's writer: a header naming the roots, then the blocks as a walk
 * yields them. The writer waits for the reader before taking the next block, so memory stays
 * at a block or two whatever the DAG size. A walk that fails (a block missing from the store)
 * fails the stream, so an HTTP answer is cut off rather than ending as if complete.
 */
import { CarWriter } from '@ipld/car/writer'
import type { CID } from 'multiformats/cid'
import type { Block } from './dag-walk.js'

export async function * carStream (roots: CID[], blocks: AsyncIterable<Block>): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create(roots)
  let failure: unknown
  const pump = (async () => {
    try {
      for await (const b of blocks) await writer.put(b)
    } catch (err) {
      failure = err
    } finally {
      await writer.close()
    }
  })()
  for await (const chunk of out) yield chunk
  await pump
  if (failure !== undefined) throw failure
}
