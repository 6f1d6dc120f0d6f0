// The value of one Kafka record of the journal topic (the key is the guest id). Events travel in the
// very bytes LMDB stores (`crc | encodeBody(...)`, sealed for (guest, seq), src/journal/record.ts), so
// every event and payload is checked end to end, and a record moved under another key fails its check.
//
//   events  u8 FORMAT | u8 EVENTS | u64le firstSeq | u32le count | count x slot
//           slot  = entry | u32le CHUNKED | u32le chunk count (the entry came in chunk records before)
//           entry = u32le n | n bytes event value | u32le m | m bytes `crc | payload` (m = 0: no bytes)
//   chunk   u8 FORMAT | u8 CHUNK | u64le seq | u32le index | u32le count | a slice of the entry's bytes
//   meta    u8 FORMAT | u8 META | `crc | JSON object of strings` sealed for (guest, 0)
//
// A record never exceeds the limit given to the encoder (the broker's message size): entries share a
// record while they fit, and an entry too large for one record (a big write, a big snapshot) is cut
// into chunk records that precede the events record naming it, in the same partition, so a consumer
// has every chunk when the event arrives. The checksums inside the entry cover the joined chunks.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { decodeBinary, formatErrors, hasPayload, withEnvelope, type Draft, type Event } from '../../events/index.js'
import { checksum, CRC_BYTES, seal, unseal } from '../checksum.js'
import { eventValue } from '../record.js'
import { GUEST_SEQ } from '../values.js'

export const MESSAGE_FORMAT = 1
const EVENTS = 1
const CHUNK = 2
const META = 3
const CHUNKED = 0xffff_ffff // no event value is 4 GiB long
const EVENTS_HEADER = 14
const CHUNK_HEADER = 18
const META_HEADER = 2
/** Smallest limit the encoder accepts: room for a header and a few bytes of a chunk. */
export const MIN_RECORD_BYTES = 64

export interface Entry {
  readonly seq: number
  readonly event: Event
  /** The known bytes of a payload kind, verified; undefined for other kinds and for known = 0. */
  readonly data: Uint8Array | undefined
}

/** An entry as the events record holds it: decoded, or sent ahead in `chunks` chunk records. */
export type Slot = Entry | { readonly seq: number; readonly chunks: number }

export type Decoded =
  | { readonly type: 'events'; readonly first: number; readonly slots: readonly Slot[] }
  | { readonly type: 'chunk'; readonly seq: number; readonly index: number; readonly count: number; readonly bytes: Uint8Array }
  | { readonly type: 'meta'; readonly meta: Readonly<Record<string, string>> }

// --- encoding ---

const u64 = (b: Buffer, at: number, n: number): void => {
  b.writeUInt32LE(n >>> 0, at)
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4)
}

/** One event as it will be written: its sealed value and its payload bytes (sealed when written). */
interface Item { readonly seq: number; readonly event: Uint8Array; readonly data: Uint8Array | undefined; readonly chunks: number }

/** Writes an entry (u32 n | event | u32 m | crc | payload) at `at`; returns the end. The payload's crc
 *  is computed here and the bytes copied once, straight into the record. */
const writeEntry = (guest: string, item: Item, out: Buffer, at: number): number => {
  out.writeUInt32LE(item.event.length, at)
  out.set(item.event, at + 4)
  at += 4 + item.event.length
  const data = item.data
  if (data === undefined) {
    out.writeUInt32LE(0, at)
    return at + 4
  }
  out.writeUInt32LE(CRC_BYTES + data.length, at)
  out.writeUInt32LE(checksum(guest, item.seq, data), at + 4)
  out.set(data, at + 8)
  return at + 8 + data.length
}

const entrySize = (item: Item): number => 8 + item.event.length + (item.data === undefined ? 0 : CRC_BYTES + item.data.length)

const chunkRecords = (seq: number, entry: Buffer, limit: number): Buffer[] => {
  const room = limit - CHUNK_HEADER
  const count = Math.ceil(entry.length / room)
  const out: Buffer[] = []
  for (let c = 0; c < count; c++) {
    const slice = entry.subarray(c * room, Math.min(entry.length, (c + 1) * room))
    const b = Buffer.allocUnsafe(CHUNK_HEADER + slice.length)
    b[0] = MESSAGE_FORMAT
    b[1] = CHUNK
    u64(b, 2, seq)
    b.writeUInt32LE(c, 10)
    b.writeUInt32LE(count, 14)
    b.set(slice, CHUNK_HEADER)
    out.push(b)
  }
  return out
}

/** The records for drafts that take seqs first, first+1, ...; each at most `limit` bytes. The drafts
 *  must have been checked (checkDraft): this trusts known === data.length. */
export const encodeEvents = (guest: string, first: number, drafts: readonly Draft[], limit: number): Buffer[] => {
  if (limit < MIN_RECORD_BYTES) throw new RangeError(`record limit ${limit} is below ${MIN_RECORD_BYTES} bytes`)
  const out: Buffer[] = []
  let pending: Item[] = []
  let bytes = EVENTS_HEADER
  const close = (): void => {
    if (pending.length === 0) return
    const b = Buffer.allocUnsafe(bytes)
    b[0] = MESSAGE_FORMAT
    b[1] = EVENTS
    u64(b, 2, pending[0].seq)
    b.writeUInt32LE(pending.length, 10)
    let at = EVENTS_HEADER
    for (const item of pending) {
      if (item.chunks === 0) at = writeEntry(guest, item, b, at)
      else {
        b.writeUInt32LE(CHUNKED, at)
        b.writeUInt32LE(item.chunks, at + 4)
        at += 8
      }
    }
    out.push(b)
    pending = []
    bytes = EVENTS_HEADER
  }
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i]
    const seq = first + i
    let item: Item = {
      seq,
      event: eventValue(guest, seq, d.ts, d.pid, d.tid, d.body),
      data: d.data !== undefined && d.data.length > 0 ? d.data : undefined,
      chunks: 0,
    }
    let size = entrySize(item)
    if (EVENTS_HEADER + size > limit) {
      // Too large for a record of its own: its chunks go first, after the records of earlier seqs.
      close()
      const entry = Buffer.allocUnsafe(size)
      writeEntry(guest, item, entry, 0)
      const chunks = chunkRecords(seq, entry, limit)
      out.push(...chunks)
      item = { ...item, chunks: chunks.length }
      size = 8
    }
    if (pending.length > 0 && bytes + size > limit) close()
    pending.push(item)
    bytes += size
  }
  close()
  return out
}

export const encodeMeta = (guest: string, meta: Readonly<Record<string, string>>): Buffer => {
  const sealed = seal(guest, GUEST_SEQ, Buffer.from(JSON.stringify(meta), 'utf8'))
  const b = Buffer.allocUnsafe(META_HEADER + sealed.length)
  b[0] = MESSAGE_FORMAT
  b[1] = META
  b.set(sealed, META_HEADER)
  return b
}

// --- decoding: every failure is one line naming the seq it hit ---

const Meta = t.record(t.string, t.string)

// Decoding runs once per event on every reader: no message is built unless something is wrong, and
// slices are plain Uint8Array views (lighter than Buffer#subarray).
class Reader {
  at = 0
  constructor(readonly b: Buffer) {}
  /** Fewer than n bytes left. */
  short(n: number): boolean {
    return this.at + n > this.b.length
  }
  truncated(what: string): string {
    return `truncated ${what} at byte ${this.at} (record is ${this.b.length} bytes)`
  }
  u32(): number {
    const v = this.b.readUInt32LE(this.at)
    this.at += 4
    return v
  }
  u64(): number {
    const lo = this.b.readUInt32LE(this.at)
    const hi = this.b.readUInt32LE(this.at + 4)
    this.at += 8
    return hi * 0x1_0000_0000 + lo
  }
  bytes(n: number): Uint8Array {
    const v = new Uint8Array(this.b.buffer, this.b.byteOffset + this.at, n)
    this.at += n
    return v
  }
}

/** An entry's bytes at r.at; r ends after it. */
const decodeEntry = (guest: string, r: Reader, seq: number): E.Either<string, Entry> => {
  if (r.short(4)) return E.left(r.truncated(`event length of seq ${seq}`))
  const n = r.u32()
  if (r.short(n + 4)) return E.left(r.truncated(`event seq ${seq}`))
  const bytes = unseal(guest, seq, r.bytes(n))
  if (bytes === undefined) return E.left(`event seq=${seq}: checksum mismatch`)
  const event = decodeBinary(guest, seq, bytes)
  if (E.isLeft(event)) return E.left(`event seq=${seq}: ${event.left}`)
  const m = r.u32()
  if (r.short(m)) return E.left(r.truncated(`payload of seq ${seq}`))
  let data: Uint8Array | undefined
  if (m > 0) {
    data = unseal(guest, seq, r.bytes(m))
    if (data === undefined) return E.left(`payload seq=${seq}: checksum mismatch`)
  }
  const e = event.right
  const known = hasPayload(e) ? e.known : 0
  if ((data?.length ?? 0) !== known) return E.left(`event seq=${seq}: ${e.kind} with ${known} known byte(s) comes with ${data?.length ?? 0}`)
  return E.right({ seq, event: e, data })
}

/** One record value, verified and decoded; Left is one line (which part, which seq). */
export const decodeRecord = (guest: string, value: Buffer | null): E.Either<string, Decoded> => {
  if (value === null || value.length < 2) return E.left(`not an eyrie record (${value === null ? 'no value' : `${value.length} bytes`})`)
  if (value[0] !== MESSAGE_FORMAT) return E.left(`unsupported record format ${value[0]} (this eyrie reads ${MESSAGE_FORMAT})`)
  const r = new Reader(value)
  r.at = 2
  switch (value[1]) {
    case EVENTS: {
      if (r.short(12)) return E.left(r.truncated('events header'))
      const first = r.u64()
      const count = r.u32()
      if (!Number.isSafeInteger(first) || first < 1 || count === 0) return E.left(`events header: first seq ${first}, count ${count}`)
      const slots: Slot[] = []
      for (let i = 0; i < count; i++) {
        const seq = first + i
        if (r.short(4)) return E.left(r.truncated(`entry of seq ${seq}`))
        if (value.readUInt32LE(r.at) === CHUNKED) {
          r.at += 4
          if (r.short(4)) return E.left(r.truncated(`chunk count of seq ${seq}`))
          const chunks = r.u32()
          if (chunks === 0) return E.left(`entry seq=${seq}: in 0 chunks`)
          slots.push({ seq, chunks })
          continue
        }
        const entry = decodeEntry(guest, r, seq)
        if (E.isLeft(entry)) return entry
        slots.push(entry.right)
      }
      if (r.at !== value.length) return E.left(`${value.length - r.at} trailing byte(s) after ${count} events from seq ${first}`)
      return E.right({ type: 'events', first, slots })
    }
    case CHUNK: {
      if (r.short(16)) return E.left(r.truncated('chunk header'))
      const seq = r.u64()
      const index = r.u32()
      const count = r.u32()
      if (!Number.isSafeInteger(seq) || seq < 1 || index >= count) return E.left(`chunk header: seq ${seq}, chunk ${index} of ${count}`)
      return E.right({ type: 'chunk', seq, index, count, bytes: r.bytes(value.length - r.at) })
    }
    case META: {
      const bytes = unseal(guest, GUEST_SEQ, value.subarray(META_HEADER))
      if (bytes === undefined) return E.left('meta: checksum mismatch')
      let u: unknown
      try {
        u = JSON.parse(Buffer.from(bytes).toString('utf8'))
      } catch (err) {
        return E.left(`meta: not JSON (${err instanceof Error ? err.message : String(err)})`)
      }
      const meta = Meta.decode(u)
      return E.isLeft(meta) ? E.left(`meta: ${formatErrors(meta.left)}`) : E.right({ type: 'meta', meta: meta.right })
    }
    default:
      return E.left(`unknown record type ${value[1]}`)
  }
}

/** The entry sent in chunk records (their bytes in index order), verified. */
export const joinChunks = (guest: string, seq: number, chunks: readonly Uint8Array[]): E.Either<string, Entry> => {
  const r = new Reader(Buffer.concat(chunks))
  const entry = decodeEntry(guest, r, seq)
  if (E.isLeft(entry)) return E.left(`${entry.left} (joined from ${chunks.length} chunks)`)
  if (r.at !== r.b.length) return E.left(`entry seq=${seq}: ${r.b.length - r.at} trailing byte(s) after joining ${chunks.length} chunks`)
  return entry
}

export const isEntry = (slot: Slot): slot is Entry => 'event' in slot

/** What decodeRecord would return for a record this process just encoded from `drafts` (seqs
 *  first, first+1, ...), built from the drafts instead of decoding the bytes: a writer mirroring its
 *  own records skips the decoding, which is most of a reader's work. Entries sent in chunks come back
 *  whole. */
export const ownRecord = (guest: string, value: Buffer, first: number, drafts: readonly Draft[]): Decoded => {
  const at = (seq: number): Entry => {
    const d = drafts[seq - first]
    return { seq, event: withEnvelope(d.body, { guest, seq, ts: d.ts, pid: d.pid, tid: d.tid }), data: d.data !== undefined && d.data.length > 0 ? d.data : undefined }
  }
  const r = new Reader(value)
  r.at = 2
  if (value[1] === CHUNK) {
    const seq = r.u64()
    const index = r.u32()
    const count = r.u32()
    return { type: 'chunk', seq, index, count, bytes: r.bytes(value.length - r.at) }
  }
  const start = r.u64()
  const count = r.u32()
  return { type: 'events', first: start, slots: Array.from({ length: count }, (_, i) => at(start + i)) }
}
