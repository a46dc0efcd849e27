import type * as React from 'react'
import { useCallback, useEffect, useRef, useState } from 'react'
import type { ContentInfo, FileRecord, ShareLink } from '@cairn/sdk'
import type { PageProps } from '../App'
import { CopyButton, ErrorNote } from '../components'
import { bytes, errorText, when } from '../format'

type Sort = 'uploaded_at' | 'size' | 'original_filename'
const PAGE_SIZE = 50

export function FilesPage ({ client }: PageProps): React.JSX.Element {
  const [path, setPath] = useState('')
  const [search, setSearch] = useState('')
  const [query, setQuery] = useState('')
  const [sortBy, setSortBy] = useState<Sort>('uploaded_at')
  const [order, setOrder] = useState<'asc' | 'desc'>('desc')
  const [page, setPage] = useState(1)
  const [files, setFiles] = useState<FileRecord[]>([])
  const [folders, setFolders] = useState<Array<{ id: string, name: string }>>([])
  const [meta, setMeta] = useState({ total: 0, total_pages: 0 })
  const [error, setError] = useState<string>()
  const [loading, setLoading] = useState(false)
  const [preview, setPreview] = useState<FileRecord>()
  const [sharing, setSharing] = useState<FileRecord>()
  const [deleting, setDeleting] = useState<FileRecord>()
  const [renaming, setRenaming] = useState<Item>()
  const [moving, setMoving] = useState<Item>()
  const flat = query !== '' || sortBy !== 'uploaded_at' || order !== 'desc'

  const load = useCallback(async () => {
    setLoading(true); setError(undefined)
    try {
      if (flat) {
        const r = await client.files.list({ page, pageSize: PAGE_SIZE, search: query || undefined, sortBy, sortOrder: order })
        setFiles(r.files); setFolders([]); setMeta(r.meta)
      } else {
        const r = await client.files.folder(path, { page, pageSize: PAGE_SIZE })
        setFiles(r.files); setFolders(r.folders.map(f => ({ id: f.id, name: f.name }))); setMeta(r.meta)
      }
    } catch (err) { setError(errorText(err)) } finally { setLoading(false) }
  }, [client, flat, page, path, query, sortBy, order])
  useEffect(() => { void load() }, [load])

  const act = async (what: () => Promise<unknown>): Promise<void> => {
    setError(undefined)
    try { await what(); await load() } catch (err) { setError(errorText(err)) }
  }
  const crumbs = path === '' ? [] : path.split('/')
  const go = (p: string): void => { setPath(p); setPage(1) }

  return (
    <section aria-labelledby="files-title">
      <h1 id="files-title">Files</h1>
      <form className="toolbar" role="search" onSubmit={e => { e.preventDefault(); setQuery(search.trim()); setPage(1) }}>
        <label htmlFor="search" className="visually-hidden">Search by name or CID</label>
        <input id="search" type="search" placeholder="Search by name or CID" value={search} onChange={e => { setSearch(e.target.value); if (e.target.value === '') { setQuery(''); setPage(1) } }} />
        <button type="submit">Search</button>
        <label htmlFor="sort">Sort by</label>
        <select id="sort" value={sortBy} onChange={e => { setSortBy(e.target.value as Sort); setPage(1) }}>
          <option value="uploaded_at">Upload date</option>
          <option value="original_filename">Name</option>
          <option value="size">Size</option>
        </select>
        <label htmlFor="order">Order</label>
        <select id="order" value={order} onChange={e => { setOrder(e.target.value as 'asc' | 'desc'); setPage(1) }}>
          <option value="desc">Descending</option>
          <option value="asc">Ascending</option>
        </select>
      </form>
      {!flat && (
        <nav aria-label="Folder" className="crumbs">
          <button type="button" className="link" onClick={() => { go('') }} aria-current={path === '' ? 'location' : undefined}>All folders</button>
          {crumbs.map((c, i) => <span key={i}> / <button type="button" className="link" onClick={() => { go(crumbs.slice(0, i + 1).join('/')) }} aria-current={i === crumbs.length - 1 ? 'location' : undefined}>{c}</button></span>)}
        </nav>
      )}
      {flat && <p className="muted">All files{query !== '' ? ` matching “${query}”` : ''}, in every folder.</p>}
      <ErrorNote error={error} />
      <p className="muted" aria-live="polite">{loading ? 'Loading…' : `${meta.total} item${meta.total === 1 ? '' : 's'}`}</p>
      <ul className="file-list" aria-label="Folders and files">
        {folders.map(f => (
          <li key={`d:${f.id}`} className="file folder">
            <span className="thumb badge" aria-hidden="true">DIR</span>
            <button type="button" className="link name" onClick={() => { go(path === '' ? f.name : `${path}/${f.name}`) }}>{f.name}</button>
            <div className="actions">
              <button type="button" className="small" onClick={() => { setRenaming({ id: f.id, name: f.name, folder: true }) }} aria-label={`Rename folder ${f.name}`}>Rename</button>
              <button type="button" className="small" onClick={() => { setMoving({ id: f.id, name: f.name, folder: true }) }} aria-label={`Move folder ${f.name}`}>Move</button>
            </div>
          </li>
        ))}
        {files.map(f => (
          <li key={`${f.cid}:${f.uploaded_at}:${f.original_filename}`} className="file">
            {f.thumbnail_url !== undefined
              ? <img className="thumb" src={f.thumbnail_url} alt={`Thumbnail of ${f.original_filename}`} loading="lazy" />
              : <span className="thumb badge" aria-hidden="true">{iconOf(f.content_type)}</span>}
            <div className="meta">
              <button type="button" className="link name" onClick={() => { setPreview(f) }} aria-label={`Preview ${f.original_filename}`}>{f.original_filename}</button>
              <span className="muted small-text">{bytes(f.size)} · {f.content_type} · {when(f.uploaded_at)}{f.pinned ? '' : ' · not pinned'}</span>
              <span className="cid-row"><code className="cid small-text">{f.cid}</code> <CopyButton text={f.cid} label="Copy CID" /></span>
            </div>
            <div className="actions">
              <button type="button" className="small" onClick={() => { setSharing(f) }} aria-label={`Share ${f.original_filename}`}>Share</button>
              <button type="button" className="small" onClick={() => { void act(async () => { await (f.pinned ? client.files.unpin(f.cid) : client.files.pin(f.cid)) }) }} aria-label={`${f.pinned ? 'Unpin' : 'Pin'} ${f.original_filename}`}>{f.pinned ? 'Unpin' : 'Pin'}</button>
              {f.id !== undefined && <button type="button" className="small" onClick={() => { setRenaming({ id: f.id ?? '', name: f.original_filename, folder: false }) }} aria-label={`Rename ${f.original_filename}`}>Rename</button>}
              {f.id !== undefined && <button type="button" className="small" onClick={() => { setMoving({ id: f.id ?? '', name: f.original_filename, folder: false }) }} aria-label={`Move ${f.original_filename}`}>Move</button>}
              <button type="button" className="small danger" onClick={() => { setDeleting(f) }} aria-label={`Delete ${f.original_filename}`}>Delete</button>
            </div>
          </li>
        ))}
      </ul>
      {meta.total_pages > 1 && (
        <nav aria-label="Pages" className="row">
          <button type="button" disabled={page <= 1} onClick={() => { setPage(p => p - 1) }}>Previous</button>
          <span>Page {page} of {meta.total_pages}</span>
          <button type="button" disabled={page >= meta.total_pages} onClick={() => { setPage(p => p + 1) }}>Next</button>
        </nav>
      )}
      {preview !== undefined && <PreviewDialog client={client} file={preview} onClose={() => { setPreview(undefined) }} />}
      {sharing !== undefined && <ShareDialog client={client} file={sharing} onClose={() => { setSharing(undefined) }} />}
      {renaming !== undefined && <RenameDialog client={client} item={renaming} onClose={() => { setRenaming(undefined) }} onDone={() => { setRenaming(undefined); void load() }} />}
      {moving !== undefined && <MoveDialog client={client} item={moving} from={flat ? undefined : path} onClose={() => { setMoving(undefined) }} onDone={() => { setMoving(undefined); void load() }} />}
      {deleting !== undefined && (
        <Modal title={`Delete ${deleting.original_filename}?`} onClose={() => { setDeleting(undefined) }}>
          <p>Every copy of this file (CID <code className="cid">{deleting.cid}</code>) goes from your account, and its share links stop working. This cannot be undone.</p>
          <div className="row">
            <button type="button" className="danger" onClick={() => { const f = deleting; setDeleting(undefined); void act(async () => { await client.files.delete(f.cid) }) }}>Delete</button>
            <button type="button" onClick={() => { setDeleting(undefined) }}>Cancel</button>
          </div>
        </Modal>
      )}
    </section>
  )
}

/** a file or folder to rename or move (its entry id) */
interface Item { id: string, name: string, folder: boolean }

function RenameDialog ({ client, item, onClose, onDone }: { client: PageProps['client'], item: Item, onClose: () => void, onDone: () => void }): React.JSX.Element {
  const [name, setName] = useState(item.name)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  // after the dialog opened (its effect runs first): the name, without its extension, selected
  useEffect(() => {
    const el = input.current
    if (el === null) return
    el.focus()
    const dot = item.folder ? -1 : el.value.lastIndexOf('.')
    el.setSelectionRange(0, dot > 0 ? dot : el.value.length)
  }, [item])
  const submit = async (): Promise<void> => {
    setError(undefined); setBusy(true)
    try { await client.files.rename(item.id, name); onDone() } catch (err) { setError(errorText(err)) } finally { setBusy(false) }
  }
  return (
    <Modal title={`Rename ${item.folder ? 'folder ' : ''}${item.name}`} onClose={onClose}>
      <form onSubmit={e => { e.preventDefault(); void submit() }}>
        <label htmlFor="rename-name">New name</label>
        <input id="rename-name" ref={input} type="text" value={name} required maxLength={item.folder ? 200 : 255} onChange={e => { setName(e.target.value) }} />
        <ErrorNote error={error} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy || name.trim() === '' || name === item.name}>Rename</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  )
}

function MoveDialog ({ client, item, from, onClose, onDone }: { client: PageProps['client'], item: Item, from: string | undefined, onClose: () => void, onDone: () => void }): React.JSX.Element {
  const [folders, setFolders] = useState<Array<{ id: string, path: string }>>()
  const [target, setTarget] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const select = useRef<HTMLSelectElement>(null)
  useEffect(() => { select.current?.focus() }, [folders])
  useEffect(() => {
    const ac = new AbortController()
    client.files.folders({ signal: ac.signal }).then(setFolders, err => { if (!ac.signal.aborted) setError(errorText(err)) })
    return () => { ac.abort() }
  }, [client])
  // a folder cannot go into itself or below it: leave those out of the choices
  const self = folders?.find(f => f.id === item.id)?.path
  const choices = (folders ?? []).filter(f => self === undefined || (f.path !== self && !f.path.startsWith(self + '/')))
  const submit = async (): Promise<void> => {
    setError(undefined); setBusy(true)
    try { await client.files.move(item.id, target); onDone() } catch (err) { setError(errorText(err)) } finally { setBusy(false) }
  }
  return (
    <Modal title={`Move ${item.folder ? 'folder ' : ''}${item.name}`} onClose={onClose}>
      <form onSubmit={e => { e.preventDefault(); void submit() }}>
        {from !== undefined && <p className="muted">Now in: {from === '' ? 'the top level' : from}</p>}
        <label htmlFor="move-target">Move to folder</label>
        <select id="move-target" ref={select} value={target} disabled={folders === undefined} onChange={e => { setTarget(e.target.value) }}>
          <option value="">Top level</option>
          {choices.map(f => <option key={f.id} value={f.id}>{f.path}</option>)}
        </select>
        {folders === undefined && error === undefined && <p aria-live="polite">Loading folders…</p>}
        <ErrorNote error={error} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy || folders === undefined}>Move</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  )
}

function iconOf (type: string): string {
  // short text badges: emoji need a font a server or phone may not have
  if (type.startsWith('image/')) return 'IMG'
  if (type.startsWith('video/')) return 'VID'
  if (type.startsWith('audio/')) return 'AUD'
  if (type === 'application/pdf') return 'PDF'
  if (type === 'inode/directory') return 'DIR'
  if (type.startsWith('text/')) return 'TXT'
  return 'FILE'
}

/** a modal <dialog>: focus moves in, Escape closes, focus goes back */
export function Modal ({ title, onClose, children }: { title: string, onClose: () => void, children: React.ReactNode }): React.JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    const back = document.activeElement as HTMLElement | null
    d?.showModal()
    return () => { d?.close(); back?.focus() }
  }, [])
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onCancel={e => { e.preventDefault(); onClose() }}>
      <div className="dialog-head">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" className="small" onClick={onClose} aria-label="Close">✕</button>
      </div>
      {children}
    </dialog>
  )
}

function PreviewDialog ({ client, file, onClose }: { client: PageProps['client'], file: FileRecord, onClose: () => void }): React.JSX.Element {
  const [info, setInfo] = useState<ContentInfo>()
  const [text, setText] = useState<string>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    const ac = new AbortController()
    void (async () => {
      try {
        const i = await client.files.content(file.cid, { signal: ac.signal })
        setInfo(i)
        if (isText(i.content_type)) {
          // only the first 256 KiB, shown as text: never rendered as a page
          const r = await fetch(i.url, { headers: { range: 'bytes=0-262143' }, signal: ac.signal })
          setText(await r.text())
        }
      } catch (err) { if (!ac.signal.aborted) setError(errorText(err)) }
    })()
    return () => { ac.abort() }
  }, [client, file.cid])
  const t = info?.content_type ?? file.content_type
  return (
    <Modal title={file.original_filename} onClose={onClose}>
      <ErrorNote error={error} />
      {info === undefined && error === undefined && <p aria-live="polite">Loading…</p>}
      {info !== undefined && (
        <div className="preview">
          {t.startsWith('image/') && <img src={info.url} alt={file.original_filename} />}
          {t.startsWith('video/') && <video src={info.url} controls aria-label={file.original_filename} />}
          {t.startsWith('audio/') && <audio src={info.url} controls aria-label={file.original_filename} />}
          {t === 'application/pdf' && <iframe src={info.url} title={file.original_filename} sandbox="allow-scripts" />}
          {text !== undefined && <pre className="text-preview" tabIndex={0}>{text}</pre>}
          {!t.startsWith('image/') && !t.startsWith('video/') && !t.startsWith('audio/') && t !== 'application/pdf' && !isText(t) && <p>No preview for {t}.</p>}
          <p className="row"><a href={info.url} target="_blank" rel="noopener noreferrer">Open on the files origin</a></p>
        </div>
      )}
    </Modal>
  )
}

function isText (type: string): boolean {
  return type.startsWith('text/') || /json|xml|yaml|javascript/.test(type)
}

function ShareDialog ({ client, file, onClose }: { client: PageProps['client'], file: FileRecord, onClose: () => void }): React.JSX.Element {
  const [links, setLinks] = useState<ShareLink[]>([])
  const [made, setMade] = useState<ShareLink & { url: string }>()
  const [days, setDays] = useState('0')
  const [error, setError] = useState<string>()
  const load = useCallback(async () => {
    try { setLinks(await client.files.shares({ cid: file.cid })) } catch (err) { setError(errorText(err)) }
  }, [client, file.cid])
  useEffect(() => { void load() }, [load])
  const create = async (): Promise<void> => {
    setError(undefined)
    try {
      const d = Number(days)
      setMade(await client.files.share(file.cid, { expiresIn: d > 0 ? d * 86400 : undefined }))
      await load()
    } catch (err) { setError(errorText(err)) }
  }
  return (
    <Modal title={`Share ${file.original_filename}`} onClose={onClose}>
      <label htmlFor="share-expiry">Link lasts</label>
      <select id="share-expiry" value={days} onChange={e => { setDays(e.target.value) }}>
        <option value="0">Until revoked (public)</option>
        <option value="1">1 day</option>
        <option value="7">7 days</option>
        <option value="30">30 days</option>
      </select>
      <button type="button" className="primary" onClick={() => { void create() }}>Create link</button>
      <ErrorNote error={error} />
      {made !== undefined && (
        <div className="secret" role="status">
          <p>Anyone with this link can open the file{made.expires_at !== null ? ` until ${when(made.expires_at)}` : ''}. It is shown only now.</p>
          <p className="cid-row"><a id="share-url" href={made.url} target="_blank" rel="noopener noreferrer" className="mono break">{made.url}</a> <CopyButton text={made.url} label="Copy link" /></p>
        </div>
      )}
      <h3>Live links</h3>
      {links.length === 0 ? <p className="muted">None.</p> : (
        <ul className="plain">
          {links.map(l => (
            <li key={l.id} className="row">
              <span>Created {when(l.created_at)} · {l.expires_at === null ? 'public until revoked' : `expires ${when(l.expires_at)}`}</span>
              <button type="button" className="small danger" onClick={() => { void client.files.revokeShare(l.id).then(load, err => { setError(errorText(err)) }) }}>Revoke</button>
            </li>
          ))}
        </ul>
      )}
    </Modal>
  )
}
