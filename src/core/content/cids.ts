import { CID } from 'multiformats/cid'
import * as dagPb from '@ipld/dag-pb'
import { invalid } from '../errors.js'

/** Parse a user-supplied CID string, or throw invalid_argument. */
export function parseCid (s: string): CID {
  try {
    if (s.length === 0 || s.length > 512) throw new Error('length')
    return CID.parse(s)
  } catch {
    throw invalid(`Invalid hash: ${s.length > 100 ? s.slice(0, 100) + '…' : s}`)
  }
}

/**
 * The string forms under which the same content may be recorded: a dag-pb sha2-256 CID has a
 * v0 (Qm...) and a v1 (bafy...) spelling of one DAG.
 */
export function cidForms (cid: CID): string[] {
  const forms = new Set<string>([cid.toString()])
  if (cid.code === dagPb.code && cid.multihash.code === 0x12 && cid.multihash.size === 32) {
    forms.add(cid.toV0().toString())
    forms.add(cid.toV1().toString())
  }
  return [...forms]
}

/**
 * A stored CID string as the gateway API (`/api/v1`) shows it: CIDv1 (a `Qm...` stored
 * through FluxDrive becomes its `bafy...` spelling; raw and v1 CIDs are unchanged).
 * FluxDrive (`/api/v0`) shows the stored spelling, which is CIDv0 for its own uploads.
 */
export function cidV1String (stored: string): string {
  try {
    return CID.parse(stored).toV1().toString()
  } catch {
    return stored
  }
}
