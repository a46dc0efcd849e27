/** Real wallets for tests: a Bitcoin key (P2PKH) and an Ethereum key, made fresh each time. */
import { randomBytes } from 'node:crypto'
import bitcoinMessage from 'bitcoinjs-message'
import { payments } from 'bitcoinjs-lib'
import * as secp from '@noble/secp256k1'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { json } from './http.js'

export interface Wallet {
  address: string
  /** hex public key (Bitcoin wallets only) */
  publicKey?: string
  sign: (message: string) => Promise<string>
}

export function btcWallet (): Wallet {
  const key = randomBytes(32)
  const pub = secp.getPublicKey(key, true)
  const address = payments.p2pkh({ pubkey: pub }).address as string
  return {
    address,
    publicKey: Buffer.from(pub).toString('hex'),
    sign: async message => bitcoinMessage.sign(message, key, true).toString('base64')
  }
}

export function ethWallet (): Wallet {
  const account = privateKeyToAccount(generatePrivateKey())
  return { address: account.address, sign: async message => await account.signMessage({ message }) }
}

export interface Login { zelid: string, loginPhrase: string, signature: string, header: string, privilage: string }

/** the whole login as a Flux client does it: phrase, sign, verifylogin (JSON as text/plain) */
export async function login (url: string, wallet: Wallet, as: string = wallet.address): Promise<Login> {
  const phrase = (await json(await fetch(`${url}/id/loginphrase`))).data as string
  const signature = await wallet.sign(phrase)
  const res = await fetch(`${url}/id/verifylogin`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ zelid: as, loginPhrase: phrase, signature })
  })
  const body = await json(res)
  if (res.status !== 200 || body.status !== 'success') throw new Error(`login failed: ${res.status} ${JSON.stringify(body)}`)
  return { zelid: body.data.zelid, loginPhrase: phrase, signature, privilage: body.data.privilage, header: JSON.stringify({ zelid: body.data.zelid, signature, loginPhrase: phrase }) }
}
