import type * as React from 'react'
import { useRef, useState, type DragEvent } from 'react'
import type { PageProps } from '../App'
import { CopyButton } from '../components'
import { bytes, errorText } from '../format'

interface Item { id: number, file: File, folder: string, loaded: number, state: 'queued' | 'uploading' | 'done' | 'failed', cid?: string, error?: string }

let nextId = 1

/** the files of a dropped folder, with their folder paths (webkitGetAsEntry is what every browser offers) */
async function filesOf (entry: FileSystemEntry, dir: string, out: Array<{ file: File, folder: string }>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => { (entry as FileSystemFileEntry).file(resolve, reject) })
    out.push({ file, folder: dir })
    return
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader()
  const sub = dir === '' ? entry.name : `${dir}/${entry.name}`
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => { reader.readEntries(resolve, reject) })
    if (batch.length === 0) break
    for (const e of batch) await filesOf(e, sub, out)
  }
}

export function UploadPage ({ client }: PageProps): React.JSX.Element {
  const [items, setItems] = useState<Item[]>([])
  const [over, setOver] = useState(false)
  const [target, setTarget] = useState('')
  const fileInput = useRef<HTMLInputElement>(null)
  const dirInput = useRef<HTMLInputElement>(null)
  const update = (id: number, patch: Partial<Item>): void => { setItems(xs => xs.map(x => x.id === id ? { ...x, ...patch } : x)) }

  const start = async (files: Array<{ file: File, folder: string }>): Promise<void> => {
    const base = target.trim().replace(/^\/+|\/+$/g, '')
    const added: Item[] = files.map(f => ({ id: nextId++, file: f.file, folder: [base, f.folder].filter(x => x !== '').join('/'), loaded: 0, state: 'queued' }))
    setItems(xs => [...added, ...xs])
    // one after another: the server streams each into the store as it comes
    for (const it of added) {
      update(it.id, { state: 'uploading' })
      try {
        const r = await client.files.upload(it.file, {
          name: it.file.name,
          folder: it.folder === '' ? undefined : it.folder,
          onProgress: p => { update(it.id, { loaded: p.loaded }) }
        })
        update(it.id, { state: 'done', cid: r.cid, loaded: it.file.size })
      } catch (err) {
        update(it.id, { state: 'failed', error: errorText(err) })
      }
    }
  }

  const onDrop = async (e: DragEvent): Promise<void> => {
    e.preventDefault(); setOver(false)
    const out: Array<{ file: File, folder: string }> = []
    const entries = [...e.dataTransfer.items].map(i => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => x != null)
    if (entries.length > 0) { for (const en of entries) await filesOf(en, '', out) } else { for (const f of e.dataTransfer.files) out.push({ file: f, folder: '' }) }
    await start(out)
  }
  const fromInput = (list: FileList | null): void => {
    if (list === null) return
    // a folder picked with webkitdirectory names each file's path from the folder down
    void start([...list].map(f => {
      const rel = f.webkitRelativePath ?? ''
      return { file: f, folder: rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '' }
    }))
  }

  return (
    <section aria-labelledby="upload-title">
      <h1 id="upload-title">Upload</h1>
      <label htmlFor="target">Into folder (optional)</label>
      <input id="target" placeholder="e.g. photos/2026" value={target} onChange={e => { setTarget(e.target.value) }} />
      <div className={`dropzone${over ? ' over' : ''}`} onDragOver={e => { e.preventDefault(); setOver(true) }} onDragLeave={() => { setOver(false) }} onDrop={e => { void onDrop(e) }}>
        <p>Drop files or folders here</p>
        <div className="row">
          <button type="button" className="primary" onClick={() => fileInput.current?.click()}>Choose files</button>
          <button type="button" onClick={() => dirInput.current?.click()}>Choose a folder</button>
        </div>
        <input ref={fileInput} id="file-input" aria-label="Files to upload" type="file" multiple hidden onChange={e => { fromInput(e.target.files); e.target.value = '' }} />
        <input ref={dirInput} id="folder-input" aria-label="Folder to upload" type="file" multiple hidden {...{ webkitdirectory: '' }} onChange={e => { fromInput(e.target.files); e.target.value = '' }} />
        <p className="muted small-text">Files over 16 MiB go up in resumable chunks.</p>
      </div>
      {items.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {items.map(it => (
            <li key={it.id} data-state={it.state}>
              <div className="upload-head">
                <span className="name">{it.folder !== '' ? `${it.folder}/` : ''}{it.file.name}</span>
                <span className="muted">{bytes(it.file.size)}</span>
              </div>
              <progress max={Math.max(1, it.file.size)} value={it.state === 'done' ? it.file.size : it.loaded} aria-label={`Progress of ${it.file.name}`} />
              {it.state === 'done' && it.cid !== undefined && <div className="cid-row"><code className="cid">{it.cid}</code> <CopyButton text={it.cid} label="Copy CID" /></div>}
              {it.state === 'failed' && <p role="alert" className="error">{it.error}</p>}
              {it.state === 'uploading' && <span className="muted small-text">uploading…</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
