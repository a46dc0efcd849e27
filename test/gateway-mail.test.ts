/**
 * Key renewal end to end through a real SMTP peer on loopback (the smtp-server package):
 * the code goes out over SMTP when CAIRN_SMTP_URL is set, a refused delivery is retried,
 * and the code from the received message renews the key.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { SMTPServer } from 'smtp-server'
import { startServer, type TestServer } from './helpers/server.js'
import { json } from './helpers/http.js'
import { call, codeIn, eventually, expectError, outbox, register } from './helpers/gateway.js'

interface Received { from: string, to: string[], raw: string }

describe('key renewal over SMTP', () => {
  let smtp: SMTPServer
  let s: TestServer
  const received: Received[] = []
  let refuseNext = 0

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData (stream, session, callback) {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          if (refuseNext > 0) {
            refuseNext--
            const err = new Error('mailbox busy, try later') as Error & { responseCode: number }
            err.responseCode = 451
            callback(err)
            return
          }
          received.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map(r => r.address),
            raw: Buffer.concat(chunks).toString('utf8')
          })
          callback()
        })
      }
    })
    await new Promise<void>(resolve => { smtp.listen(0, '127.0.0.1', resolve) })
    const addr = smtp.server.address()
    if (addr === null || typeof addr !== 'object') throw new Error('no address')
    s = await startServer({
      CAIRN_SMTP_URL: `smtp://127.0.0.1:${addr.port}`,
      CAIRN_MAIL_FROM: 'Gateway <keys@gateway.test>',
      CAIRN_GATEWAY_ACCOUNT_CALLS_PER_10MIN: '0'
    })
  })
  after(async () => {
    await s.close()
    await new Promise<void>(resolve => { smtp.close(resolve) })
  })

  const mailTo = async (email: string): Promise<Received> =>
    await eventually(`mail to ${email}`, async () => received.find(m => m.to.includes(email)))

  test('challenge sends the code over SMTP; renew with it answers a new key and the old one is refused at once', async () => {
    const u = await register(s.url)
    const ch = await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    assert.deepEqual(await json(ch), { status: 200, message: 'Verification code sent to email' })
    const mail = await mailTo(u.email)
    assert.equal(mail.from, 'keys@gateway.test')
    assert.match(mail.raw, /^From: Gateway <keys@gateway\.test>/m)
    assert.match(mail.raw, /valid for 15 minutes/)
    const code = codeIn(mail.raw)

    const res = await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: code } })
    const body = await json(res)
    assert.equal(res.status, 200, JSON.stringify(body))
    const fresh = body.data.api_key as string
    assert.match(fresh, /^ak_/)
    await expectError(await call(s.url, 'GET', '/users/status', { key: u.key }), 403, /invalidated/)
    assert.equal((await json(await call(s.url, 'GET', '/users/status', { key: fresh }))).data.email, u.email)
    assert.deepEqual(await outbox(s.dataDir), [], 'with SMTP configured nothing goes to the outbox')
  })

  test('a new challenge replaces the previous code', async () => {
    const u = await register(s.url)
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const first = codeIn((await mailTo(u.email)).raw)
    received.length = 0
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const second = codeIn((await mailTo(u.email)).raw)
    if (first !== second) {
      await expectError(await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: first } }), 401)
    }
    assert.equal((await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: second } })).status, 200)
  })

  test('a delivery the SMTP server refuses is retried, and the code arrives', async () => {
    const u = await register(s.url)
    refuseNext = 1
    await call(s.url, 'POST', '/users/renew/challenge', { json: { email: u.email } })
    const mail = await mailTo(u.email)
    assert.equal(refuseNext, 0, 'the first delivery was refused')
    // the job is marked done just after the SMTP peer accepts the message
    const job = await eventually('the renewal job to succeed', async () =>
      (await s.core.jobs.list({ kind: 'account.renewal_code' })).find(j => (j.payload as { to: string }).to === u.email && j.state === 'SUCCESS'))
    assert.equal(job?.attempts, 2)
    // the code is made when it is sent: the job's payload and result never carry it
    assert.deepEqual(Object.keys(job?.payload as object).sort(), ['accountId', 'to'])
    assert.deepEqual(Object.keys(job?.result as object).sort(), ['messageId', 'to', 'where'])
    assert.equal((await call(s.url, 'POST', '/users/renew', { json: { email: u.email, verification_code: codeIn(mail.raw) } })).status, 200)
  })
})
