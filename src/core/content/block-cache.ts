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
  private readonly blocks: LruMap<string, Uint8Array>

  constructor (maxBytes = 32 * 1024 * 1024, private readonly maxBlock = 64 * 1024) {
    this.blocks = new LruMap(maxBytes, b => b.byteLength)
  }

  /** the block with multihash key `mh`, if cached */
  get (mh: string): Uint8Array | undefined {
    return this.blocks.get(mh)
  }

  /** keep `block` (read from the store, so it is the block of `mh`) if it is small */
  set (mh: string, block: Uint8Array): void {
    if (block.byteLength > this.maxBlock || this.blocks.has(mh)) return
    this.blocks.set(mh, block)
  }

  clear (): void {
    this.blocks.clear()
  }
}

/** A map that keeps its most recently used entries while their total weight (by default: their count) is at most `max`. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>()
  private total = 0

  constructor (private readonly max: number, private readonly weight: (value: V) => number = () => 1) {}

  get (key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) { // most recently used last
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  has (key: K): boolean {
    return this.map.has(key)
  }

  set (key: K, value: V): void {
    const old = this.map.get(key)
    if (old !== undefined) {
      this.map.delete(key)
      this.total -= this.weight(old)
    }
    this.map.set(key, value)
    this.total += this.weight(value)
    while (this.total > this.max) {
      const [oldest, v] = this.map.entries().next().value as [K, V]
      this.map.delete(oldest)
      this.total -= this.weight(v)
    }
  }

  clear (): void {
    this.map.clear()
    this.total = 0
  }
}
