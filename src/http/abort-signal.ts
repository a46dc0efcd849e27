/** An AbortSignal that fires when the client goes away before its request is complete. */
export function abortSignalOf (req: { raw: NodeJS.EventEmitter & { complete?: boolean } }): AbortSignal {
  const ac = new AbortController()
  req.raw.once('close', () => { if (req.raw.complete !== true) ac.abort(new Error('client closed the request')) })
  return ac.signal
}
