/**
 * The mailer port: sending one plain-text message (key-renewal codes). The default adapter
 * writes .eml files into `<data dir>/outbox/` (src/adapters/mail/outbox-mailer.ts); with
 * CAIRN_SMTP_URL set, messages go out over SMTP (src/adapters/mail/smtp-mailer.ts).
 *
 * `send` resolves once the message is handed over for good (file durable, or accepted by
 * the SMTP server) and says where it went, for the log; it throws when that failed, so a
 * caller (the mail job) can retry.
 */
export interface MailMessage {
  to: string
  subject: string
  text: string
}

export interface MailReceipt {
  /** the Message-ID the message was sent with */
  messageId: string
  /** where it went, for the log: a file path or "smtp://host:port" */
  where: string
}

export interface Mailer {
  send: (msg: MailMessage) => Promise<MailReceipt>
  close: () => Promise<void>
}
