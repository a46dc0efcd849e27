/** FluidCloud's resource shapes (ISO-8601 UTC timestamps, ids as opaque strings). */
import type { FileRow, FolderRow, ShareRow, SpaceRow, UploadRow } from '../../core/cloud/cloud.js'

export function iso (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export const spaceView = (tenantId: string, s: SpaceRow): Record<string, unknown> => ({
  id: s.id, tenant_id: tenantId, name: s.name, app: s.app, created_at: iso(s.created_at), updated_at: iso(s.updated_at)
})

export const folderView = (tenantId: string, f: FolderRow): Record<string, unknown> => ({
  id: f.id, tenant_id: tenantId, space_id: f.space_id, parent_id: f.parent_id, name: f.name,
  created_at: iso(f.created_at), updated_at: iso(f.updated_at), deleted_at: iso(f.deleted_at)
})

export const fileView = (tenantId: string, f: FileRow): Record<string, unknown> => ({
  id: f.id,
  tenant_id: tenantId,
  space_id: f.space_id,
  folder_id: f.folder_id,
  source_app: f.source_app,
  client_key: f.client_key,
  original_name: f.name,
  name: f.name,
  mime: f.mime,
  size: Number(f.size),
  sha256: f.sha256,
  scan_status: f.scan_status,
  status: f.status,
  created_by: f.created_by,
  cid: f.cid,
  created_at: iso(f.created_at),
  updated_at: iso(f.updated_at),
  deleted_at: iso(f.deleted_at)
})

export const shareView = (tenantId: string, s: ShareRow, url?: string): Record<string, unknown> => ({
  id: s.id,
  tenant_id: tenantId,
  file_id: s.file_id,
  kind: s.expires_at === null ? 'permanent' : 'expiring',
  permission: s.permission,
  expires_at: iso(s.expires_at),
  created_at: iso(s.created_at),
  revoked_at: iso(s.revoked_at),
  ...(url !== undefined ? { url } : {})
})

export const uploadView = (u: UploadRow, url: string | undefined, headers: Record<string, string>, multipart?: { partSize: number, parts: Array<{ part_number: number, url: string }> }): Record<string, unknown> => ({
  file_id: u.id,
  key: u.staging_key,
  mode: multipart === undefined ? 'single' : 'multipart',
  method: 'PUT',
  ...(multipart === undefined ? { upload_url: url } : { part_size: multipart.partSize, parts: multipart.parts }),
  headers,
  size: Number(u.size),
  expires_at: iso(u.expires_at)
})
