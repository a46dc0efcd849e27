import type { BucketFile } from '../../../core/buckets.js'
import type { SessionMember, UploadSession } from '../../../core/upload-sessions.js'

const MB = 1024 * 1024

export function uploadInfoView (f: BucketFile): Record<string, unknown> {
  return {
    creatorId: f.creatorId,
    completed: f.completed,
    fileKey: f.fileKey,
    fileName: f.encryptedName,
    totalParts: f.totalParts,
    originalSizeInBytes: f.originalSizeInBytes,
    fileId: f.fileKey,
    uploadId: f.uploadId,
    encryptedName: f.encryptedName,
    status: f.status,
    size: f.size,
    partsReceived: f.partsReceived,
    cid: f.cid,
    tags: f.tags,
    createdAt: new Date(f.createdAt).toISOString(),
    completedAt: f.completedAt === null ? null : new Date(f.completedAt).toISOString()
  }
}

export function rulesView (s: UploadSession): Record<string, unknown> {
  return {
    expiry: new Date(s.expiresAt).toISOString(),
    maxFiles: s.maxFiles,
    maxUsers: s.maxUsers,
    maxTotalMegaBytes: Math.floor(s.maxTotalBytes / MB),
    passwordProtected: s.passwordProtected,
    whiteListAddresses: []
  }
}

export function memberView (m: SessionMember): Record<string, unknown> {
  return { id: m.id, role: m.role, name: m.name ?? pseudonym(m), address: m.address }
}

export function pseudonym (m: SessionMember): string {
  return m.name ?? `${m.role === 'Host' ? 'Host' : 'Guest'}-${m.id.slice(0, 6)}`
}

export function credentialsView (s: UploadSession, m: SessionMember, token: string): Record<string, unknown> {
  return {
    sessionId: s.id,
    expiresIn: Math.max(0, Math.floor((s.expiresAt - Date.now()) / 1000)),
    credentials: { token, id: m.id, pseudonym: pseudonym(m), role: m.role },
    rules: rulesView(s)
  }
}
