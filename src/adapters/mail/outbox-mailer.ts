/**
 * The embedded mailer: each message becomes an RFC 5322 .eml file in `<data dir>/outbox/`
 * (built by nodemailer, so it is exactly what SMTP would have carried), written to a
 * temporary name, fsynced and renamed, so a reader never sees half a message.
 */
import { mkdir, open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { createTransport } from 'nodemailer'
import type { MailMessage, MailReceipt, Mailer } from '../../core/ports/mailer.js'

export class OutboxMailer implements Mailer {
  private readonly composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' })
  private seq = 0

  constructor (readonly dir: string, private readonly from: string) {}

  async send (msg: MailMessage): Promise<MailReceipt> {
    const info = await this.composer.sendMail({ from: this.from, to: msg.to, subject: msg.subject, text: msg.text })
    const bytes = info.message as Buffer
    await mkdir(this.dir, { recursive: true })
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
    const name = `${stamp}-${process.pid}-${++this.seq}-${Math.random().toString(36).slice(2, 8)}.eml`
    const path = join(this.dir, name)
    const tmp = join(this.dir, `.${name}.tmp`)
    const fh = await open(tmp, 'wx', 0o600) // the message carries a secret code
    try {
      await fh.writeFile(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    return { messageId: info.messageId, where: path }
  }

  async close (): Promise<void> {
    this.composer.close()
  }
}
