/**
 * Schema migrations, written once with Kysely's schema builder so SQLite and PostgreSQL run
 * the same code. Kysely's migrator takes a lock, so nodes starting together migrate once.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'

const migrations: Record<string, Migration> = {
  '0001_core': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('meta')
        .addColumn('key', 'text', c => c.primaryKey())
        .addColumn('value', 'text', c => c.notNull())
        .execute()

      await db.schema.createTable('accounts')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('zelid', 'text', c => c.unique())
        .addColumn('email', 'text', c => c.unique())
        .addColumn('plan', 'text', c => c.notNull())
        .addColumn('capacity_bytes', 'bigint')
        .addColumn('active', 'integer', c => c.notNull().defaultTo(1))
        .addColumn('role', 'text', c => c.notNull().defaultTo('user'))
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('api_keys')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('prefix', 'text', c => c.notNull())
        .addColumn('key_hash', 'text', c => c.notNull().unique())
        .addColumn('scopes', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('api_keys_account').on('api_keys').column('account_id').execute()

      await db.schema.createTable('packs')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('blob_key', 'text', c => c.notNull().unique())
        .addColumn('root_cid', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('block_count', 'integer', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('blocks')
        .addColumn('mh', 'text', c => c.notNull())
        .addColumn('pack_id', 'text', c => c.notNull().references('packs.id').onDelete('cascade'))
        .addColumn('cid', 'text', c => c.notNull())
        .addColumn('offset', 'bigint', c => c.notNull())
        .addColumn('length', 'integer', c => c.notNull())
        .addPrimaryKeyConstraint('blocks_pk', ['mh', 'pack_id'])
        .execute()
      await db.schema.createIndex('blocks_pack').on('blocks').column('pack_id').execute()

      await db.schema.createTable('contents')
        .addColumn('cid', 'text', c => c.primaryKey())
        .addColumn('pack_id', 'text', c => c.notNull().references('packs.id'))
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('dag_size', 'bigint', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('released_at', 'bigint')
        .execute()
      await db.schema.createIndex('contents_released').on('contents').column('released_at').execute()

      await db.schema.createTable('content_members')
        .addColumn('root_cid', 'text', c => c.notNull().references('contents.cid').onDelete('cascade'))
        .addColumn('cid', 'text', c => c.notNull())
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('content_members_pk', ['root_cid', 'path'])
        .execute()
      await db.schema.createIndex('content_members_cid').on('content_members').column('cid').execute()

      await db.schema.createTable('spaces')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addUniqueConstraint('spaces_account_name', ['account_id', 'name'])
        .execute()

      await db.schema.createTable('entries')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('space_id', 'text', c => c.notNull().references('spaces.id').onDelete('cascade'))
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('parent_id', 'text', c => c.notNull().defaultTo('')) // '' is the space's top level
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('cid', 'text')
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('mimetype', 'text')
        .addColumn('thumbnail_cid', 'text')
        .addColumn('pinned', 'integer', c => c.notNull().defaultTo(1))
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()
      await db.schema.createIndex('entries_account_cid').on('entries').columns(['account_id', 'cid']).execute()
      await db.schema.createIndex('entries_space_parent').on('entries').columns(['space_id', 'parent_id', 'created_at']).execute()
      await db.schema.createIndex('entries_cid').on('entries').column('cid').execute()
      // folder names are unique per parent (file names are not)
      await db.schema.createIndex('entries_folder_name').on('entries').columns(['space_id', 'parent_id', 'name'])
        .unique().where(sql.ref('kind'), '=', 'folder').execute()
      await db.schema.createIndex('entries_thumbnail').on('entries').column('thumbnail_cid').execute()
    }
  },

  // A per-account usage counter, so quota checks do not scan the account's entries. It is
  // kept in the transactions that add and remove entries (src/core/drive.ts); here it is
  // backfilled with the same figure Drive.recomputeUsage gives: the sizes of the distinct
  // CIDs the account's entries name, each counted once.
  '0002_account_used_bytes': {
    async up (db: Kysely<any>) {
      await db.schema.alterTable('accounts')
        .addColumn('used_bytes', 'bigint', c => c.notNull().defaultTo(0))
        .execute()
      await sql`
        UPDATE accounts SET used_bytes = COALESCE((
          SELECT SUM(t.size) FROM (
            SELECT MAX(e.size) AS size FROM entries e
            WHERE e.account_id = accounts.id AND e.cid IS NOT NULL GROUP BY e.cid
          ) t
        ), 0)`.execute(db)
    }
  },

  // The IPFS Gateway dialect (/api/v1): password logins and emailed key-renewal codes on
  // accounts, and the durable job queue (src/adapters/jobs/db-job-queue.ts) its tasks run on.
  // Entries already carry `pinned`; from here on only pinned entries keep content alive.
  '0003_gateway': {
    async up (db: Kysely<any>) {
      await db.schema.alterTable('accounts').addColumn('password_hash', 'text').execute()

      await db.schema.createTable('renewal_codes')
        .addColumn('account_id', 'text', c => c.primaryKey().references('accounts.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .addColumn('attempts_left', 'integer', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('jobs')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.references('accounts.id').onDelete('cascade'))
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('payload', 'text', c => c.notNull())
        .addColumn('state', 'text', c => c.notNull())
        .addColumn('attempts', 'integer', c => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', c => c.notNull())
        .addColumn('backoff_ms', 'bigint', c => c.notNull())
        .addColumn('run_after', 'bigint', c => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .execute()
      // the worker's claim query: due PENDING jobs, and STARTED ones whose lease ran out
      await db.schema.createIndex('jobs_state_run_after').on('jobs').columns(['state', 'run_after']).execute()
      await db.schema.createIndex('jobs_account').on('jobs').columns(['account_id', 'created_at']).execute()
    }
  },

  // The FluidCloud partner API (src/dialects/fluidcloud): tenants with a live and a test
  // account each, scoped fck_ keys, spaces, a folder tree with Trash, files (an entry of a
  // drive space plus their scan state and client_key), upload tickets and raw share links.
  '0006_fluidcloud': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('cloud_tenants')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('live_account_id', 'text', c => c.notNull().unique().references('accounts.id').onDelete('cascade'))
        .addColumn('test_account_id', 'text', c => c.notNull().unique().references('accounts.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()
      await db.schema.createTable('cloud_keys')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('tenant_id', 'text', c => c.notNull().references('cloud_tenants.id').onDelete('cascade'))
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('env', 'text', c => c.notNull())
        .addColumn('label', 'text', c => c.notNull())
        .addColumn('prefix', 'text', c => c.notNull())
        .addColumn('key_hash', 'text', c => c.notNull().unique())
        .addColumn('scopes', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('cloud_keys_tenant').on('cloud_keys').columns(['tenant_id', 'created_at']).execute()
      await db.schema.createTable('cloud_spaces')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('drive_space_id', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('app', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('updated_at', 'bigint', c => c.notNull())
        .execute()
      await db.schema.createIndex('cloud_spaces_account').on('cloud_spaces').columns(['account_id', 'created_at', 'id']).execute()
      await db.schema.createTable('cloud_folders')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('space_id', 'text', c => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('updated_at', 'bigint', c => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('trashed_with', 'text')
        .execute()
      await db.schema.createIndex('cloud_folders_parent').on('cloud_folders').columns(['account_id', 'space_id', 'parent_id']).execute()
      await db.schema.createTable('cloud_files')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('entry_id', 'text', c => c.notNull())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('space_id', 'text', c => c.notNull())
        .addColumn('folder_id', 'text')
        .addColumn('client_key', 'text')
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('mime', 'text')
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('sha256', 'text')
        .addColumn('cid', 'text', c => c.notNull())
        .addColumn('scan_status', 'text', c => c.notNull())
        .addColumn('scan_detail', 'text')
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('source_app', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('updated_at', 'bigint', c => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('trashed_with', 'text')
        .execute()
      await db.schema.createIndex('cloud_files_list').on('cloud_files').columns(['account_id', 'created_at', 'id']).execute()
      await db.schema.createIndex('cloud_files_space').on('cloud_files').columns(['account_id', 'space_id', 'folder_id']).execute()
      await db.schema.createIndex('cloud_files_client_key').on('cloud_files').columns(['account_id', 'client_key']).unique().execute()
      await db.schema.createTable('cloud_uploads')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('space_id', 'text', c => c.notNull())
        .addColumn('folder_id', 'text')
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('mime', 'text')
        .addColumn('client_key', 'text')
        .addColumn('staging', 'text', c => c.notNull())
        .addColumn('staging_key', 'text', c => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .addColumn('completed_at', 'bigint')
        .execute()
      await db.schema.createIndex('cloud_uploads_expiry').on('cloud_uploads').columns(['expires_at']).execute()
      await db.schema.createTable('cloud_shares')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('file_id', 'text', c => c.notNull())
        .addColumn('token_hash', 'text', c => c.notNull().unique())
        .addColumn('permission', 'text', c => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('cloud_shares_account').on('cloud_shares').columns(['account_id', 'created_at', 'id']).execute()
      await db.schema.createIndex('cloud_shares_file').on('cloud_shares').columns(['file_id']).execute()
    }
  },

  // Wallet (ZelID) login: single-use login phrases, sessions (revocable, persisted), signatures
  // handed over with /id/providesign; and what the Flux dialect keeps beside the drive: app
  // names claimed by an account (a volume is a space of the owning account), Fluxshare share
  // tokens, and the volume root CID recorded with each backup archive.
  '0004_wallet': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('wallet_phrases')
        .addColumn('phrase', 'text', c => c.primaryKey())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute()
      await db.schema.createIndex('wallet_phrases_expires').on('wallet_phrases').column('expires_at').execute()

      await db.schema.createTable('wallet_sessions')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('zelid', 'text', c => c.notNull())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('login_phrase', 'text', c => c.notNull().unique())
        .addColumn('signature', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute()
      await db.schema.createIndex('wallet_sessions_zelid').on('wallet_sessions').column('zelid').execute()

      await db.schema.createTable('wallet_signatures')
        .addColumn('message', 'text', c => c.primaryKey())
        .addColumn('address', 'text', c => c.notNull())
        .addColumn('signature', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('flux_apps')
        .addColumn('name', 'text', c => c.primaryKey()) // lower-case app name
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('flux_shares')
        .addColumn('token', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addUniqueConstraint('flux_shares_account_path', ['account_id', 'path'])
        .execute()

      await db.schema.createTable('volume_backups')
        .addColumn('archive_cid', 'text', c => c.notNull())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('app', 'text', c => c.notNull())
        .addColumn('component', 'text', c => c.notNull())
        .addColumn('volume_root_cid', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('volume_backups_pk', ['account_id', 'archive_cid'])
        .execute()
    }
  },

  // Upload sessions (the /buckets dialect): a session of an account with its rules, the
  // members that joined it (each with a bearer token, stored hashed), multipart uploads in
  // its bucket and their parts (the part bytes are files under <data>/buckets).
  '0005_upload_sessions': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('upload_sessions')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('space_name', 'text', c => c.notNull())
        .addColumn('max_total_bytes', 'bigint', c => c.notNull())
        .addColumn('max_files', 'integer', c => c.notNull())
        .addColumn('max_users', 'integer', c => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute()
      await db.schema.createIndex('upload_sessions_account').on('upload_sessions').column('account_id').execute()
      await db.schema.createIndex('upload_sessions_expires').on('upload_sessions').column('expires_at').execute()

      await db.schema.createTable('session_members')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('session_id', 'text', c => c.notNull().references('upload_sessions.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', c => c.notNull().unique())
        .addColumn('role', 'text', c => c.notNull())
        .addColumn('name', 'text')
        .addColumn('address', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('left_at', 'bigint')
        .execute()
      await db.schema.createIndex('session_members_session').on('session_members').column('session_id').execute()

      await db.schema.createTable('bucket_uploads')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('file_key', 'text', c => c.notNull().unique())
        .addColumn('session_id', 'text', c => c.notNull().references('upload_sessions.id').onDelete('cascade'))
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('creator_id', 'text', c => c.notNull())
        .addColumn('total_parts', 'integer', c => c.notNull())
        .addColumn('encrypted_name', 'text')
        .addColumn('original_size', 'bigint')
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('tags', 'text')
        .addColumn('entry_id', 'text')
        .addColumn('cid', 'text')
        .addColumn('size', 'bigint')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('completed_at', 'bigint')
        .execute()
      await db.schema.createIndex('bucket_uploads_session').on('bucket_uploads').columns(['session_id', 'created_at']).execute()

      await db.schema.createTable('bucket_parts')
        .addColumn('upload_id', 'text', c => c.notNull().references('bucket_uploads.id').onDelete('cascade'))
        .addColumn('part_number', 'integer', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('tag', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('bucket_parts_pk', ['upload_id', 'part_number'])
        .execute()
    }
  },

  // The IPFS Pinning Service API (/pins): one row per pin request. The content a pinned pin
  // keeps alive is held by an entry of the account's `ipfs-pins` space (src/core/pins.ts),
  // so the collector and the usage counter need nothing new.
  '0007_pins': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('pins')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('cid', 'text', c => c.notNull())
        .addColumn('name', 'text')
        .addColumn('meta', 'text')
        .addColumn('origins', 'text', c => c.notNull())
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('updated_at', 'bigint', c => c.notNull())
        .execute()
      await db.schema.createIndex('pins_account_created').on('pins').columns(['account_id', 'created_at']).execute()
      await db.schema.createIndex('pins_account_cid').on('pins').columns(['account_id', 'cid']).execute()
    }
  },

  // Share links of the gateway's files (the web app's "share"): a random token, stored
  // hashed, opens one CID of the account on the files origin until it is revoked, expires,
  // or the account no longer has that file (src/core/share-links.ts).
  '0008_share_links': {
    async up (db: Kysely<any>) {
      await db.schema.createTable('share_links')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('account_id', 'text', c => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', c => c.notNull().unique())
        .addColumn('cid', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint')
        .execute()
      await db.schema.createIndex('share_links_account_created').on('share_links').columns(['account_id', 'created_at']).execute()
    }
  },
  '0009_session_keys': {
    async up (db: Kysely<any>) {
      // 1: a session key made by a password login (POST /api/v1/users/login), which has its own call budget
      await db.schema.alterTable('api_keys').addColumn('session', 'integer', c => c.notNull().defaultTo(0)).execute()
    }
  },
  '0010_part_packs': {
    async up (db: Kysely<any>) {
      // a multipart upload's part is a pack of its own, holding the part's UnixFS leaves; once
      // the upload completes, the file's pack (its parents) owns the part packs (packs.part_of)
      await db.schema.alterTable('packs').addColumn('part_of', 'text').execute()
      await db.schema.createIndex('packs_part_of').on('packs').column('part_of').execute()
      await db.schema.alterTable('bucket_parts').addColumn('pack_id', 'text').execute()
      // the part's leaves in order, CIDs joined by ',' (a leaf may repeat: the pack stores it once)
      await db.schema.alterTable('bucket_parts').addColumn('leaves', 'text').execute()
    }
  },
  '0011_tus_segments': {
    async up (db: Kysely<any>) {
      // a tus upload's bytes: packs of leaves (like /buckets parts), each covering
      // [start, start + size) of the upload, recorded in order once durable
      await db.schema.createTable('tus_segments')
        .addColumn('upload_id', 'text', c => c.notNull())
        .addColumn('start', 'bigint', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('pack_id', 'text', c => c.notNull())
        .addColumn('leaves', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('tus_segments_pk', ['upload_id', 'start'])
        .execute()
    }
  },
  '0012_cloud_files_entry': {
    async up (db: Kysely<any>) {
      // the gateway's policy asks, on every request, whether an entry is a FluidCloud file
      // (private: it does not make content public); without this it scanned cloud_files
      await db.schema.createIndex('cloud_files_entry').on('cloud_files').column('entry_id').execute()
    }
  }
}

/** the migrations in the order they run (tests check the recorded list against it) */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations).sort()

/** one migration's `up`, for tests that rebuild a database as an older release left it */
export async function runMigrationUp (db: Kysely<any>, name: string): Promise<void> {
  const m = migrations[name]
  if (m === undefined) throw new Error(`no migration ${name}`)
  await m.up(db)
}

class StaticProvider implements MigrationProvider {
  async getMigrations (): Promise<Record<string, Migration>> { return migrations }
}

export async function migrate (db: Kysely<any>): Promise<void> {
  // unordered: migrations are numbered by parallel branches, so a store may have run 0004
  // before 0003 lands; each migration is independent of the ones numbered after it
  const migrator = new Migrator({ db, provider: new StaticProvider(), allowUnorderedMigrations: true })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find(r => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`)
  }
}
