/** The job queue behaviour suite on the embedded queue over PostgreSQL (CAIRN_TEST_DATABASE_URL). */
import { openMetadataStore } from '../../src/adapters/metadata/open.js'
import { pgDatabases } from '../helpers/pg.js'
import { serviceOrSkip } from '../helpers/services.js'
import { jobQueueSuite } from './job-queue-suite.js'
import { dbHarness } from './db-job-queue-harness.js'

const adminUrl = serviceOrSkip('CAIRN_TEST_DATABASE_URL', 'PostgreSQL')
if (adminUrl !== undefined) {
  const pg = pgDatabases(adminUrl)
  jobQueueSuite('embedded (PostgreSQL)', async () => {
    const { url } = await pg.fresh()
    const store = await openMetadataStore({ dataDir: '/nonexistent', databaseUrl: url })
    return dbHarness(store, async () => { await pg.end() })
  })
}
