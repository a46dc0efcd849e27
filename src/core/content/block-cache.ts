/**
 * Small blocks kept in memory: file roots, directory and internal DAG nodes, whole small
 * files. Serving a small file reads its root block on every request; from the pack that is a
 * trip through libuv's thread pool per request, which on a busy 2-core machine cost more than
 * the rest of the read. Blocks are immutable and named by their hash, so a cached block
 * never goes stale and nothing invalidates it (who may read a block is checked before any
 * block is read, and the collector only frees content nobody references). Least recently
 * used blocks go first; large blocks (file data) are never kept.
 */
export class BlockCache {
  private readonly blocks = new Map<string, Uint8Array>()
  private bytes = 0

  constructor (private readonly maxBytes = 32 * 1024 * 1024, private readonly maxBlock = 64 * 1024) {}

  /** the block with multihash key `mh`, if cached */
  get (mh: string): Uint8Array | undefined {
    const b = this.blocks.get(mh)
    if (b !== undefined) { // most recently used last
      this.blocks.delete(mh)
      this.blocks.set(mh, b)
    }
    return b
  }

  /** keep `block` (read from the store, so it is the block of `mh`) if it is small */
  set (mh: string, block: Uint8Array): void {
    if (block.byteLength > this.maxBlock || this.blocks.has(mh)) return
    this.blocks.set(mh, block)
    this.bytes += block.byteLength
    while (this.bytes > this.maxBytes) {
      const [oldest, b] = this.blocks.entries().next().value as [string, Uint8Array]
      this.blocks.delete(oldest)
      this.bytes -= b.byteLength
    }
  }

  clear (): void {
    this.blocks.clear()
    this.bytes = 0
  }
}

/** A map that keeps its `max` most recently used entries. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>()

  constructor (private readonly max: number) {}

  get (key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) { // most recently used last
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set (key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
  }

  clear (): void {
    this.map.clear()
  }
}
