// Verdicts by (sha256 of the content, signature database version). A write changes the content and
// so its hash: a cached verdict can never describe bytes it was not given. A new database changes
// the version: old verdicts simply stop matching. Only clean and infected verdicts are kept; an
// error says nothing about the bytes.
import type { Verdict } from './verdict.js'

export const cacheKey = (sha256: string, dbVersion: string): string => `${dbVersion}\0${sha256}`

/** Least-recently-used map with a fixed number of entries (a Map iterates in insertion order). */
export class VerdictCache {
  private readonly entries = new Map<string, Verdict>()
  hits = 0
  misses = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`cache capacity must be a non-negative integer, got ${capacity}`)
  }

  get size(): number {
    return this.entries.size
  }

  get(key: string): Verdict | undefined {
    const v = this.entries.get(key)
    if (v === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    // refresh recency
    this.entries.delete(key)
    this.entries.set(key, v)
    return v
  }

  /** Whether a verdict is kept under `key` (not counted as a hit or a miss, recency unchanged). */
  has(key: string): boolean {
    return this.entries.has(key)
  }

  set(key: string, v: Verdict): void {
    if (v.kind === 'error' || this.capacity === 0) return
    this.entries.delete(key)
    this.entries.set(key, v)
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
