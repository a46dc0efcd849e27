/**
 * The web app end to end in a real browser: playwright-core driving Debian's chromium
 * (CAIRN_TEST_CHROMIUM=/usr/bin/chromium), headless, against a real server. Register,
 * upload a file and a folder, see the thumbnail, preview, share and open the link, create
 * and revoke a key, rename and move, retrieve, usage, docs, log out, and log in with a
 * browser wallet (an injected window.ethereum); the session key stays on the API origin.
 * Screenshots of every page, at desktop and phone size, go to test-results/web/.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { TestServer } from './helpers/server.js'
import { serviceOrSkip } from './helpers/services.js'
import { freshEmail, PASSWORD } from './helpers/gateway.js'
import { pngBytes, startWebServer } from './helpers/web.js'

const chromiumPath = serviceOrSkip('CAIRN_TEST_CHROMIUM', 'chromium (web app end-to-end)')
export const SHOTS = join(process.cwd(), 'test-results', 'web')

if (chromiumPath !== undefined) {
  describe('web app in chromium', () => {
    let s: TestServer
    let ctx: BrowserContext
    let page: Page
    let tmp: string
    const cspErrors: string[] = []
    before(async () => {
      s = await startWebServer()
      tmp = await mkdtemp(join(tmpdir(), 'cairn-web-'))
      await mkdir(SHOTS, { recursive: true })
      // without the background-networking flags chromium waits on the network this machine does not have
      ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
        executablePath: chromiumPath,
        headless: true,
        viewport: { width: 1280, height: 860 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        permissions: ['clipboard-read', 'clipboard-write']
      })
      page = ctx.pages()[0] ?? await ctx.newPage()
      page.setDefaultTimeout(20_000)
      page.on('console', m => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()) })
    })
    after(async () => {
      await ctx?.close()
      await s?.close()
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true })
    })

    const shot = async (name: string, p: Page = page): Promise<void> => { await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }) }
    const go = async (label: string): Promise<void> => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click()
      await page.getByRole('heading', { level: 1, name: label }).waitFor()
    }
    /** every visible form control has a label (its own, aria-label or aria-labelledby) */
    const unlabelled = async (): Promise<string[]> => await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter(el => !(el as HTMLInputElement).hidden && (el as HTMLElement).offsetParent !== null)
      .filter(el => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && el.getAttribute('aria-label') === null && el.getAttribute('aria-labelledby') === null)
      .map(el => el.outerHTML.slice(0, 80)))

    test('the app is served at / with a strict CSP, and client routes never shadow the API', async () => {
      const res = await fetch(s.url + '/')
      assert.equal(res.status, 200)
      const csp = res.headers.get('content-security-policy') ?? ''
      assert.match(csp, /script-src 'self'(;|$)/)
      assert.match(csp, /frame-ancestors 'none'/)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
      assert.equal((await fetch(s.url + '/app/files')).status, 200)
      assert.equal((await fetch(s.url + '/api/v1/nothing-here')).status, 404, 'API 404s stay the API\'s')
      assert.equal((await (await fetch(s.url + '/healthz')).json() as { status: string }).status, 'ok')
      assert.equal((await fetch(s.url + '/assets/../package.json')).status, 404)
    })

    let sessionKey: string
    test('register: lands on Files, holding only a session key in sessionStorage', async () => {
      await page.goto(s.url + '/')
      await page.waitForURL(/\/app\/login$/)
      await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor()
      assert.deepEqual(await unlabelled(), [])
      await shot('login-desktop')
      await page.getByRole('tab', { name: 'Register' }).click()
      await page.getByLabel('Email').fill(freshEmail())
      await page.getByLabel('Password').fill(PASSWORD)
      await shot('register-desktop')
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.getByRole('heading', { level: 1, name: 'Files' }).waitFor()
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('cairn.session'), local: localStorage.length, cookie: document.cookie }))
      assert.equal(stored.local, 0, 'nothing in localStorage')
      assert.equal(stored.cookie, '', 'no cookies')
      const session = JSON.parse(stored.session ?? '{}') as { apiKey: string, expiresAt: string }
      assert.match(session.apiKey, /^ak_/)
      assert.ok(Date.parse(session.expiresAt) > Date.now(), 'a key that expires')
      sessionKey = session.apiKey
    })

    test('upload a file and a folder: per-file progress, CIDs with copy buttons; the upload button is reachable by keyboard', async () => {
      await go('Upload')
      assert.deepEqual(await unlabelled(), [])
      // keyboard only: Tab reaches "Choose files"
      let reached = false
      for (let i = 0; i < 20 && !reached; i++) {
        await page.keyboard.press('Tab')
        reached = await page.evaluate(() => document.activeElement?.textContent === 'Choose files')
      }
      assert.ok(reached, 'Tab reaches the Choose files button')
      await writeFile(join(tmp, 'photo.png'), await pngBytes())
      await writeFile(join(tmp, 'note.txt'), 'hello from the browser\n')
      await page.setInputFiles('#file-input', [join(tmp, 'photo.png'), join(tmp, 'note.txt')])
      await page.locator('.uploads li[data-state="done"]').nth(1).waitFor()
      const folder = join(tmp, 'reports')
      await mkdir(join(folder, 'q1'), { recursive: true })
      await writeFile(join(folder, 'summary.txt'), 'all good\n')
      await writeFile(join(folder, 'q1', 'numbers.csv'), 'a,b\n1,2\n')
      await page.setInputFiles('#folder-input', folder)
      await page.waitForFunction(() => document.querySelectorAll('.uploads li[data-state="done"]').length === 4)
      assert.equal(await page.locator('.uploads li[data-state="failed"]').count(), 0)
      assert.equal(await page.locator('.uploads progress').count(), 4)
      assert.equal(await page.getByRole('button', { name: /^Copy CID/ }).count(), 4)
      const names = await page.locator('.uploads .name').allTextContents()
      assert.ok(names.includes('reports/q1/numbers.csv') && names.includes('reports/summary.txt'), names.join(', '))
      await shot('upload-desktop')
    })

    test('files: the image has a thumbnail from the files origin, folders open, text previews', async () => {
      await go('Files')
      const thumb = page.getByRole('img', { name: 'Thumbnail of photo.png' })
      await thumb.waitFor()
      await page.waitForFunction(() => [...document.querySelectorAll('img.thumb')].some(i => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))
      assert.ok((await thumb.getAttribute('src'))?.startsWith(s.filesUrl + '/ipfs/'))
      await page.getByRole('button', { name: 'reports', exact: true }).waitFor()
      await shot('files-desktop')
      await page.getByRole('button', { name: 'reports', exact: true }).click()
      await page.getByRole('button', { name: 'Preview summary.txt' }).waitFor()
      await page.getByRole('button', { name: 'q1', exact: true }).waitFor()
      await page.getByRole('button', { name: 'All folders' }).click()
      await page.getByRole('button', { name: 'Preview note.txt' }).click()
      await page.locator('.text-preview', { hasText: 'hello from the browser' }).waitFor()
      await shot('preview-text-desktop')
      await page.keyboard.press('Escape')
      await page.getByRole('button', { name: 'Preview photo.png' }).click()
      await page.locator('.preview img').waitFor()
      await shot('preview-image-desktop')
      await page.getByRole('button', { name: 'Close' }).click()
      // search, then sort
      await page.getByLabel('Search by name or CID').fill('numbers')
      await page.getByRole('button', { name: 'Search', exact: true }).click()
      await page.getByRole('button', { name: 'Preview numbers.csv' }).waitFor()
      assert.equal(await page.locator('.file-list .file').count(), 1)
      await page.getByLabel('Search by name or CID').fill('')
      await page.getByLabel('Sort by').selectOption('size')
      await page.getByRole('button', { name: 'Preview photo.png' }).waitFor()
    })

    test('share: an expiring link opens the file on the files origin, which cannot read the session', async () => {
      await page.getByRole('button', { name: 'Share photo.png' }).click()
      await page.getByLabel('Link lasts').selectOption('7')
      await page.getByRole('button', { name: 'Create link' }).click()
      const url = await page.locator('#share-url').getAttribute('href')
      assert.ok(url?.startsWith(s.filesUrl + '/share/'), String(url))
      await page.getByText(/expires/).first().waitFor()
      await shot('share-desktop')
      await page.getByRole('button', { name: 'Close' }).click()

      const other = await ctx.newPage()
      const res = await other.goto(url as string)
      assert.equal(res?.status(), 200)
      assert.equal(res?.headers()['content-type'], 'image/png')
      await shot('share-opened', other)
      // shared content is sandboxed: an opaque origin, with no storage at all
      const sandboxed = await other.evaluate(() => {
        try { return { origin: self.origin, session: sessionStorage.getItem('cairn.session') } } catch (e) { return { origin: self.origin, session: `blocked: ${(e as Error).name}` } }
      })
      assert.equal(sandboxed.origin, 'null')
      assert.match(String(sandboxed.session), /^blocked/)
      // and any page of the files origin is another origin: the API origin's session is out of reach
      await other.goto(s.filesUrl + '/healthz')
      const seen = await other.evaluate(() => ({ origin: location.origin, session: sessionStorage.getItem('cairn.session'), local: localStorage.length, cookie: document.cookie }))
      assert.notEqual(seen.origin, new URL(s.url).origin)
      assert.deepEqual([seen.session, seen.local, seen.cookie], [null, 0, ''])
      await other.close()
    })

    test('keys: create (secret once, copy button), list, revoke', async () => {
      await go('API keys')
      assert.deepEqual(await unlabelled(), [])
      await page.getByLabel('Name').fill('e2e laptop')
      await page.getByLabel('Expires').selectOption('30')
      await page.getByRole('button', { name: 'Create key' }).click()
      const key = (await page.locator('#new-key').textContent()) ?? ''
      assert.match(key, /^ak_/)
      await page.getByRole('button', { name: /^Copy key/ }).click()
      assert.equal(await page.evaluate(async () => await navigator.clipboard.readText()), key)
      await page.getByRole('cell', { name: 'e2e laptop', exact: true }).waitFor()
      await shot('keys-desktop')
      assert.equal((await fetch(s.url + '/api/v1/users/status', { headers: { 'x-api-key': key } })).status, 200)
      page.once('dialog', d => { void d.accept() })
      await page.getByRole('button', { name: 'Revoke e2e laptop' }).click()
      await page.getByRole('cell', { name: 'e2e laptop', exact: true }).waitFor({ state: 'detached' })
      assert.equal((await fetch(s.url + '/api/v1/users/status', { headers: { 'x-api-key': key } })).status, 403)
    })

    test('rename and move: a file renamed from the keyboard, then moved into a folder with the picker; a folder renamed', async () => {
      await go('Files')
      // keyboard: focus the file's Rename button, Enter opens the dialog with the name selected
      await page.getByRole('button', { name: 'Rename note.txt' }).focus()
      await page.keyboard.press('Enter')
      const input = page.getByLabel('New name')
      await input.waitFor()
      assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.id), 'rename-name', 'focus is in the name field')
      assert.deepEqual(await unlabelled(), [])
      await page.keyboard.type('notes — renamed')
      assert.equal(await input.inputValue(), 'notes — renamed.txt', 'typing replaced the name and kept the extension')
      await shot('rename-desktop')
      await page.keyboard.press('Enter')
      await page.getByRole('button', { name: 'Preview notes — renamed.txt' }).waitFor()
      assert.equal(await page.getByRole('button', { name: 'Preview note.txt' }).count(), 0)
      // a name the folder already has is refused, and said so
      await page.getByRole('button', { name: 'Rename notes — renamed.txt' }).click()
      await input.fill('photo.png')
      await page.getByRole('button', { name: 'Rename', exact: true }).click()
      await page.getByRole('alert').filter({ hasText: /already there/ }).waitFor()
      await page.keyboard.press('Escape')
      // move into reports/q1 with the folder picker
      await page.getByRole('button', { name: 'Move notes — renamed.txt' }).click()
      const picker = page.getByLabel('Move to folder')
      await page.locator('#move-target option', { hasText: 'reports/q1' }).waitFor({ state: 'attached' })
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'move-target', 'focus is on the folder picker')
      await picker.selectOption({ label: 'reports/q1' })
      await shot('move-desktop')
      await page.getByRole('button', { name: 'Move', exact: true }).click()
      await page.getByRole('button', { name: 'Preview notes — renamed.txt' }).waitFor({ state: 'detached' })
      await page.getByRole('button', { name: 'reports', exact: true }).click()
      await page.getByRole('button', { name: 'Rename folder q1' }).click()
      await input.fill('quarter 1')
      await page.keyboard.press('Enter')
      await page.getByRole('button', { name: 'quarter 1', exact: true }).click()
      await page.getByRole('button', { name: 'Preview notes — renamed.txt' }).waitFor()
      await page.getByRole('button', { name: 'Preview numbers.csv' }).waitFor()
      const listed = await (await fetch(s.url + '/api/v1/folders?path=reports/quarter%201', { headers: { 'x-api-key': sessionKey } })).json() as { data: { files: Array<{ original_filename: string }> } }
      assert.deepEqual(listed.data.files.map(f => f.original_filename).sort(), ['notes — renamed.txt', 'numbers.csv'])
      await page.getByRole('button', { name: 'All folders' }).click()
    })

    test('retrieve shows a CID\'s type and DAG size; usage and docs render', async () => {
      const cid = (await (await fetch(s.url + '/api/v1/files?search=photo.png', { headers: { 'x-api-key': sessionKey } })).json() as { data: Array<{ cid: string }> }).data[0].cid
      await go('Retrieve')
      await page.getByLabel('CID').fill(cid)
      await page.getByRole('button', { name: 'Retrieve' }).click()
      await page.getByText('image/png').waitFor()
      await page.getByText(/DAG size/).waitFor()
      await shot('retrieve-desktop')
      await go('Usage')
      await page.getByLabel(/Storage:/).waitFor()
      await page.locator('.chart svg path.line').waitFor()
      await shot('usage-desktop')
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Docs' }).click()
      await page.getByRole('heading', { level: 1, name: 'API docs' }).waitFor()
      await page.locator('details.op').first().waitFor()
      await page.locator('details.op summary', { hasText: '/api/v1/users/login' }).click()
      await page.locator('details.op[open] pre', { hasText: 'curl -s -X POST' }).waitFor()
      await shot('docs-desktop')
      await page.getByLabel('API', { exact: true }).selectOption('fluxdrive')
      await page.locator('details.op summary', { hasText: '/api/v0/put' }).first().waitFor()
    })

    test('phone size: every page fits the screen', async () => {
      await page.setViewportSize({ width: 390, height: 844 })
      for (const [label, name] of [['Files', 'files'], ['Upload', 'upload'], ['Retrieve', 'retrieve'], ['API keys', 'keys'], ['Usage', 'usage']] as const) {
        await go(label)
        await page.waitForTimeout(150)
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
        assert.ok(overflow <= 1, `${label} scrolls sideways by ${overflow}px on a phone`)
        await shot(`${name}-phone`)
      }
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Docs' }).click()
      await page.locator('details.op').first().waitFor()
      await shot('docs-phone')
      await page.setViewportSize({ width: 1280, height: 860 })
    })

    test('log out: back to sign in, the session key revoked and forgotten; no CSP violations', async () => {
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor()
      assert.equal(await page.evaluate(() => sessionStorage.getItem('cairn.session')), null)
      assert.equal((await fetch(s.url + '/api/v1/users/status', { headers: { 'x-api-key': sessionKey } })).status, 403)
      await page.setViewportSize({ width: 390, height: 844 })
      await shot('login-phone')
      assert.deepEqual(cspErrors, [])
    })

    test('wallet: a browser wallet (window.ethereum) signs the login phrase with its 0x key; the Files page opens', async () => {
      // the wallet: a test private key in Node; the page gets an EIP-1193 provider whose
      // personal_sign hands the message to it (exposeFunction) and answers the signature
      await page.setViewportSize({ width: 1280, height: 860 })
      const wallet = privateKeyToAccount(generatePrivateKey())
      const signed: Array<{ message: string, address: string }> = []
      await page.exposeFunction('__cairnTestWalletSign', async (message: string, address: string) => {
        signed.push({ message, address })
        assert.equal(address.toLowerCase(), wallet.address.toLowerCase(), 'asked to sign with the wallet\'s address')
        // personal_sign takes the message as text or as 0x hex of its bytes
        return await wallet.signMessage({ message: /^0x([0-9a-f]{2})*$/i.test(message) ? { raw: message as `0x${string}` } : message })
      })
      await page.addInitScript((address: string) => {
        const w = window as unknown as Record<string, unknown>
        w.ethereum = {
          isMetaMask: false,
          request: async ({ method, params }: { method: string, params?: unknown[] }): Promise<unknown> => {
            if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address]
            if (method === 'personal_sign') return await (w.__cairnTestWalletSign as (m: string, a: string) => Promise<string>)(String(params?.[0]), String(params?.[1]))
            throw Object.assign(new Error(`unsupported method ${method}`), { code: 4200 })
          }
        }
      }, wallet.address)
      await page.goto(s.url + '/app/login')
      await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor()
      await page.getByRole('tab', { name: 'Wallet' }).click()
      assert.deepEqual(await unlabelled(), [])
      await shot('login-wallet-desktop')
      await page.getByRole('button', { name: 'Sign with browser wallet' }).click()
      await page.getByRole('heading', { level: 1, name: 'Files' }).waitFor()
      assert.equal(signed.length, 1, 'the wallet signed once')
      assert.match(signed[0].message, /^\d{13}[0-9a-z]+$/i, `a Flux login phrase: ${signed[0].message}`)
      await page.getByTitle('signed in as').filter({ hasText: new RegExp(wallet.address, 'i') }).waitFor()
      await page.getByText('0 items').waitFor()
      await shot('files-wallet-desktop')
      // the browser holds only an expiring key, which works on the API; no wallet session is left
      const stored = JSON.parse(await page.evaluate(() => sessionStorage.getItem('cairn.session')) ?? '{}') as { apiKey: string, expiresAt: string | null }
      assert.ok(stored.expiresAt !== null && Date.parse(stored.expiresAt) > Date.now(), 'a key that expires')
      assert.equal((await fetch(s.url + '/api/v1/files', { headers: { 'x-api-key': stored.apiKey } })).status, 200)
      assert.equal(await page.evaluate(() => localStorage.length), 0)
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor()
      assert.equal((await fetch(s.url + '/api/v1/files', { headers: { 'x-api-key': stored.apiKey } })).status, 403)
      assert.deepEqual(cspErrors, [])
    })
  })
}
