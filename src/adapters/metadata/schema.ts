/**
 * The metadata schema as Kysely sees it. One schema for SQLite and PostgreSQL: text ids,
 * integer (bigint) sizes and epoch-millisecond timestamps, 0/1 booleans, JSON kept as text.
 */
import type { Generated } from 'kysely'

export interface AccountsTable {
  id: string
  zelid: string | null
  email: string | null
  plan: string
  /** per-account override of the plan capacity, in bytes */
  capacity_bytes: number | null
  active: number
  role: string
  created_at: number
  /**
   * bytes the account's entries reference, each distinct CID counted once; kept in the same
   * transactions that add or remove entries (Drive), recomputable from entries
   */
  used_bytes: Generated<number>
  /** argon2id (PHC string) of the gateway password; null for accounts without one */
  password_hash: Generated<string | null>
}

/** One live key-renewal code per account (the latest challenge replaces the previous). */
export interface RenewalCodesTable {
  account_id: string
  /** SHA-256 of account id + code, hex */
  code_hash: string
  expires_at: number
  /** wrong guesses still allowed; the code is void at 0 */
  attempts_left: number
  created_at: number
}

/** Pin requests of the IPFS Pinning Service API (src/core/pins.ts). */
/** a share link of a gateway file (0008_share_links) */
export interface ShareLinksTable {
  id: string
  account_id: string
  /** SHA-256 hex of the token; the token itself is shown once */
  token_hash: string
  /** as the entry names it */
  cid: string
  name: string
  created_at: number
  /** null: until revoked */
  expires_at: number | null
}

export interface PinsTable {
  /** the spec's requestid */
  id: string
  account_id: string
  /** as the client gave it (normalised by CID.parse/toString) */
  cid: string
  name: string | null
  /** JSON object of strings, or null */
  meta: string | null
  /** JSON array of multiaddrs */
  origins: string
  /** queued | pinning | pinned | failed */
  status: string
  /** why a pin failed */
  reason: string | null
  created_at: number
  updated_at: number
}

/** The durable job queue's rows (src/adapters/jobs/db-job-queue.ts). */
export interface JobsTable {
  id: string
  account_id: string | null
  kind: string
  /** JSON */
  payload: string
  /** PENDING | STARTED | SUCCESS | FAILURE | REVOKED */
  state: string
  attempts: number
  max_attempts: number
  /** first retry delay; doubles with each further attempt */
  backoff_ms: number
  /** not claimed before this time (ms): the retry backoff */
  run_after: number
  /** the worker holding the job while STARTED, and until when; a lapsed lease is reclaimed */
  lease_owner: string | null
  lease_until: number | null
  /** JSON */
  result: string | null
  error: string | null
  created_at: number
  started_at: number | null
  completed_at: number | null
}

export interface ApiKeysTable {
  id: string
  account_id: string
  name: string
  /** first characters of the key, shown in listings */
  prefix: string
  /** SHA-256 of the whole key, hex */
  key_hash: string
  scopes: string
  created_at: number
  expires_at: number | null
  last_used_at: number | null
  revoked_at: number | null
  /** (0009) 1: a session key from a password login (its own call budget in the gateway) */
  session: number
}

export interface PacksTable {
  id: string
  /** key of the pack in the blob store */
  blob_key: string
  root_cid: string
  size: number
  block_count: number
  created_at: number
  /**
   * (0010) a pack holding one part's leaves of a multipart upload: null while the upload is
   * open, then the id of the file's pack (which holds its parents) once the file is stored
   */
  part_of: string | null
}

export interface BlocksTable {
  /** multihash of the block, hex: one block of bytes whatever codec names it */
  mh: string
  pack_id: string
  /** CID as written in the pack (its codec), string form */
  cid: string
  offset: number
  length: number
}

export interface ContentsTable {
  /** root CID of an imported DAG, string form */
  cid: string
  pack_id: string
  kind: string
  /** file bytes for a file; cumulative DAG bytes for a directory */
  size: number
  dag_size: number
  created_at: number
  /** when the last reference went away; null while referenced */
  released_at: number | null
}

export interface ContentMembersTable {
  root_cid: string
  cid: string
  path: string
  kind: string
  size: number
}

export interface SpacesTable {
  id: string
  account_id: string
  name: string
  created_at: number
}

export interface EntriesTable {
  id: string
  space_id: string
  account_id: string
  /** '' at the top level of the space */
  parent_id: string
  /** 'file' | 'directory' (a UnixFS directory) | 'folder' (an organising folder, no CID) */
  kind: string
  name: string
  cid: string | null
  size: number
  mimetype: string | null
  thumbnail_cid: string | null
  pinned: number
  created_at: number
}

/** a login phrase handed out by /id/loginphrase: single use, 15 minutes */
export interface WalletPhrasesTable {
  phrase: string
  created_at: number
  expires_at: number
  used_at: number | null
}

/** a wallet login: the zelidauth header names it by its login phrase */
export interface WalletSessionsTable {
  id: string
  /** the wallet address as signed (0x addresses lower-case) */
  zelid: string
  account_id: string
  login_phrase: string
  signature: string
  created_at: number
  expires_at: number
  revoked_at: number | null
}

/** a signature handed over with /id/providesign, readable for 15 minutes */
export interface WalletSignaturesTable {
  message: string
  address: string
  signature: string
  created_at: number
  expires_at: number
}

/** an app name (lower-case) and the account whose spaces hold its volumes */
export interface FluxAppsTable {
  name: string
  account_id: string
  created_at: number
}

/** a Fluxshare share: a path in the account's fluxshare space, readable with the token */
export interface FluxSharesTable {
  token: string
  account_id: string
  path: string
  created_at: number
}

/** a backup archive (by CID) and the root CID of the volume it was made from */
export interface VolumeBackupsTable {
  archive_cid: string
  account_id: string
  app: string
  component: string
  volume_root_cid: string
  created_at: number
}

/** An upload session (/buckets): rules, expiry, and the space that is its bucket. */
export interface UploadSessionsTable {
  id: string
  account_id: string
  /** the drive space holding the session's finished files */
  space_name: string
  max_total_bytes: number
  max_files: number
  max_users: number
  /** SHA-256 of the join password, hex; null when joining needs none */
  password_hash: string | null
  created_at: number
  expires_at: number
  deleted_at: number | null
}

export interface SessionMembersTable {
  id: string
  session_id: string
  /** SHA-256 of the member's bearer token, hex */
  token_hash: string
  /** 'Host' | 'Client' */
  role: string
  name: string | null
  address: string | null
  created_at: number
  left_at: number | null
}

export interface BucketUploadsTable {
  /** the uploadId */
  id: string
  /** the key (fileKey) clients name the file by, also its fileId */
  file_key: string
  session_id: string
  account_id: string
  /** the session member that started it */
  creator_id: string
  total_parts: number
  /** opaque to the server: stored and returned unchanged */
  encrypted_name: string | null
  original_size: number | null
  /** 'uploading' | 'completed' */
  status: string
  /** the part tags given at completion, JSON array */
  tags: string | null
  entry_id: string | null
  cid: string | null
  size: number | null
  created_at: number
  completed_at: number | null
}

export interface BucketPartsTable {
  upload_id: string
  part_number: number
  size: number
  /** the part's tag (its ETag), hex: see Buckets.putPart */
  tag: string
  created_at: number
  /** (0010) the part's pack (null: a part file of an upload begun before 0010) */
  pack_id: string | null
  /** (0010) the part's leaves in order, CIDs joined by ',' */
  leaves: string | null
}

export interface TusSegmentsTable {
  /** the tus upload's id */
  upload_id: string
  /** upload offset of the segment's first byte */
  start: number
  size: number
  /** the segment's pack of leaves (a part pack: packs.part_of) */
  pack_id: string
  /** the segment's leaves in order, CIDs joined by ',' */
  leaves: string
  created_at: number
}

export interface MetaTable {
  key: string
  value: string
}

export interface Database {
  accounts: AccountsTable
  api_keys: ApiKeysTable
  packs: PacksTable
  blocks: BlocksTable
  contents: ContentsTable
  content_members: ContentMembersTable
  spaces: SpacesTable
  entries: EntriesTable
  meta: MetaTable
  renewal_codes: RenewalCodesTable
  jobs: JobsTable
  wallet_phrases: WalletPhrasesTable
  wallet_sessions: WalletSessionsTable
  wallet_signatures: WalletSignaturesTable
  flux_apps: FluxAppsTable
  flux_shares: FluxSharesTable
  volume_backups: VolumeBackupsTable
  upload_sessions: UploadSessionsTable
  session_members: SessionMembersTable
  bucket_uploads: BucketUploadsTable
  bucket_parts: BucketPartsTable
  tus_segments: TusSegmentsTable
  pins: PinsTable
  share_links: ShareLinksTable
  cloud_tenants: CloudTenantsTable
  cloud_keys: CloudKeysTable
  cloud_spaces: CloudSpacesTable
  cloud_folders: CloudFoldersTable
  cloud_files: CloudFilesTable
  cloud_uploads: CloudUploadsTable
  cloud_shares: CloudSharesTable
  kysely_migration?: { name: string, timestamp: Generated<string> }
}

/** FluidCloud (0006_fluidcloud): a tenant is two accounts, its live and its test environment */
export interface CloudTenantsTable {
  id: string
  name: string
  live_account_id: string
  test_account_id: string
  created_at: number
}

export interface CloudKeysTable {
  id: string
  tenant_id: string
  /** the environment's account: live_account_id or test_account_id of the tenant */
  account_id: string
  env: string
  label: string
  prefix: string
  key_hash: string
  /** JSON array of scope names */
  scopes: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

export interface CloudSpacesTable {
  id: string
  account_id: string
  /** the drive space (spaces.id) holding this space's file entries */
  drive_space_id: string
  name: string
  app: string
  created_at: number
  updated_at: number
}

export interface CloudFoldersTable {
  id: string
  account_id: string
  space_id: string
  /** null at the space's root */
  parent_id: string | null
  name: string
  created_at: number
  updated_at: number
  /** set while in Trash */
  deleted_at: number | null
  /** the folder whose deletion put this one in Trash (restored with it); null if deleted itself */
  trashed_with: string | null
}

export interface CloudFilesTable {
  /** the file id (reserved when its upload starts) */
  id: string
  /** its entry (entries.id) in the space's drive space: holds the CID, keeps the content alive, counts in usage */
  entry_id: string
  account_id: string
  space_id: string
  folder_id: string | null
  client_key: string | null
  name: string
  mime: string | null
  size: number
  sha256: string | null
  cid: string
  /** pending | clean | infected | error */
  scan_status: string
  scan_detail: string | null
  /** draft | ready | quarantined */
  status: string
  source_app: string | null
  created_by: string | null
  created_at: number
  updated_at: number
  deleted_at: number | null
  trashed_with: string | null
}

export interface CloudUploadsTable {
  /** the file id the upload will become */
  id: string
  account_id: string
  space_id: string
  folder_id: string | null
  name: string
  size: number
  mime: string | null
  client_key: string | null
  /** 's3' (a presigned PUT to the bucket's staging area) or 'files' (a signed PUT on the files origin) */
  staging: string
  staging_key: string
  created_by: string | null
  created_at: number
  expires_at: number
  completed_at: number | null
}

export interface CloudSharesTable {
  id: string
  account_id: string
  file_id: string
  /** SHA-256 of the link's token; the token itself is shown once */
  token_hash: string
  /** 'download' (attachment) or 'view' (inline) */
  permission: string
  /** null: permanent */
  expires_at: number | null
  created_at: number
  revoked_at: number | null
}
