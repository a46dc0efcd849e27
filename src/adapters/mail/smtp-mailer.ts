/** Mail over SMTP with nodemailer: CAIRN_SMTP_URL (smtp:// or smtps://, credentials in the URL). */
import { createTransport } from 'nodemailer'
import type { MailMessage, MailReceipt, Mailer } from '../../core/ports/mailer.js'

export class SmtpMailer implements Mailer {
  private readonly transport
  private readonly where: string

  constructor (url: string, private readonly from: string) {
    const u = new URL(url)
    this.where = `${u.protocol}//${u.hostname}:${u.port === '' ? (u.protocol === 'smtps:' ? '465' : '587') : u.port}`
    this.transport = createTransport(url)
  }

  async send (msg: MailMessage): Promise<MailReceipt> {
    const info = await this.transport.sendMail({ from: this.from, to: msg.to, subject: msg.subject, text: msg.text })
    return { messageId: info.messageId, where: this.where }
  }

  async close (): Promise<void> {
    this.transport.close()
  }
}
