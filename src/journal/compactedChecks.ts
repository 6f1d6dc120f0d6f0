// Compacted values are checksummed like every stored value, but one holds a whole file's stored bytes
// (1.2 MB for a file of 10,000 small writes: its crc alone costs ~0.2 ms here) and queries read the same
// ones again and again. A journal instance therefore checks the crc of a compacted value the first
// time it reads it and remembers what it checked: the key, the length and the crc the value carries.
// A later read of that key whose length and carried crc are the same skips the crc over the bytes; the
// header (the base the value says it is at) is checked on every read, and a value rewritten under the
// same key carries another crc, so it is checked again.
//
// What this gives up: bytes of a value damaged *after* this process checked it (the disk, or another
// writer of the file, changing the stored bytes but not the crc) are not seen by later reads in this
// process. A new process (every CLI command) checks again, and `verify` always does (`recheck`).
import { compactedFromValue, storedCrc } from './values.js'

/** How often a journal checks the crc of a compacted value: once per value per journal instance
 *  (default), or on every read. */
export type CompactedChecks = 'once' | 'every read'

/** Values remembered; past this the oldest are forgotten (and checked again when read). */
const REMEMBERED = 4096

export class CheckedCompacted {
  private readonly checked = new Map<string, number>()

  constructor(private readonly mode: CompactedChecks = 'once') {}

  /** The bytes of the compacted value `value` stored under (guest, seq, base), checked as above;
   *  `recheck` checks the crc whatever was remembered. Throws CORRUPT naming guest and seq. */
  bytes(guest: string, seq: number, base: number, value: Uint8Array, recheck = false): Uint8Array {
    if (this.mode === 'every read' || value.length < 4) return compactedFromValue(guest, seq, base, value)
    const key = `${guest}\0${seq}\0${base}\0${value.length}`
    const crc = storedCrc(value)
    if (!recheck && this.checked.get(key) === crc) return compactedFromValue(guest, seq, base, value, 'compacted content', true)
    const bytes = compactedFromValue(guest, seq, base, value)
    this.checked.delete(key)
    this.checked.set(key, crc)
    if (this.checked.size > REMEMBERED) this.checked.delete(this.checked.keys().next().value as string)
    return bytes
  }

  /** Forgets every value (this journal wrote or removed compacted values). */
  clear(): void {
    this.checked.clear()
  }
}
