/** The job queue behaviour suite on the embedded queue over SQLite. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMetadataStore } from '../../src/adapters/metadata/open.js'
import { jobQueueSuite } from './job-queue-suite.js'
import { dbHarness } from './db-job-queue-harness.js'

jobQueueSuite('embedded (SQLite)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-jobs-'))
  const store = await openMetadataStore({ dataDir: dir })
  return dbHarness(store, async () => { await rm(dir, { recursive: true, force: true }) })
})
