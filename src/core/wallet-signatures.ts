/**
 * Wallet signatures, verified for real: Bitcoin message signatures ("\x18Bitcoin Signed
 * Message:\n" prefix, 65-byte compact signature in base64) against a P2PKH address, or
 * against a hex public key turned into its P2PKH address; EIP-191 personal_sign for 0x
 * addresses (the signer is recovered and compared case-insensitively).
 */

// loaded on first use: together they add seconds to a start-up that may never need them
let btcMessage: Promise<typeof import('bitcoinjs-message')> | undefined
let btcLib: Promise<typeof import('bitcoinjs-lib')> | undefined
let viem: Promise<typeof import('viem')> | undefined
const loadBtcMessage = async (): Promise<typeof import('bitcoinjs-message')> => await (btcMessage ??= import('bitcoinjs-message'))
const loadBtcLib = async (): Promise<typeof import('bitcoinjs-lib')> => await (btcLib ??= import('bitcoinjs-lib'))
const loadViem = async (): Promise<typeof import('viem')> => await (viem ??= import('viem'))

/** a base58 P2PKH address (version 0x00: starts with '1') */
const P2PKH_RE = /^1[1-9A-HJ-NP-Za-km-z]{24,33}$/
const ETH_RE = /^0x[0-9a-fA-F]{40}$/
const PUBKEY_RE = /^(?:0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$/

export function isWalletAddress (s: string): boolean {
  return P2PKH_RE.test(s) || ETH_RE.test(s)
}

export function isEthAddress (s: string): boolean {
  return ETH_RE.test(s)
}

/**
 * The address a client names: a P2PKH or 0x address as sent (0x lower-cased), or the P2PKH
 * address of a hex public key. Undefined when it is none of these.
 */
export async function canonicalAddress (sent: string): Promise<string | undefined> {
  if (ETH_RE.test(sent)) return sent.toLowerCase()
  if (P2PKH_RE.test(sent)) return sent
  if (sent.length > 36 && PUBKEY_RE.test(sent)) {
    try {
      const { payments } = await loadBtcLib()
      return payments.p2pkh({ pubkey: Buffer.from(sent, 'hex') }).address
    } catch {
      return undefined
    }
  }
  return undefined
}

/** true only for a valid signature of `message` by `address` (a canonical address) */
export async function verifyWalletSignature (address: string, message: string, signature: string): Promise<boolean> {
  if (signature.length === 0 || signature.length > 1000 || message.length > 10_000) return false
  if (ETH_RE.test(address)) {
    if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false
    try {
      const { verifyMessage } = await loadViem()
      return await verifyMessage({ address: address as `0x${string}`, message, signature: signature as `0x${string}` })
    } catch {
      return false
    }
  }
  if (!P2PKH_RE.test(address)) return false
  if (!/^[A-Za-z0-9+/]{86}[A-Za-z0-9+/=]{2}$/.test(signature)) return false
  try {
    const m = await loadBtcMessage()
    return ((m as unknown as { default?: typeof m }).default ?? m).verify(message, address, signature)
  } catch {
    return false // a malformed signature or a key that does not recover
  }
}
