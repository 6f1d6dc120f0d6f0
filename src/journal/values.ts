// Turning stored values back into data: verify the checksum, then decode. Every failure is one
// JournalError that names the guest and seq it hit (CORRUPT: the bytes are not what was written;
// DECODE: they are, but this eyrie cannot read them).
import * as E from 'fp-ts/lib/Either.js'
import { decodeBinary, tsOf, type Event } from '../events/index.js'
import { JournalError } from './errors.js'
import { checksumRange, CRC_BYTES, seal, unseal } from './checksum.js'
import { segmentName, type BlobRef, type SegmentState } from './blobs.js'
import { decodeGuest, type GuestRecord } from './guestRecord.js'

/** The guest record is checksummed as if it were at seq 0, which no event has. */
export const GUEST_SEQ = 0

export const checksumMismatch = (what: string, guest: string, seq: number): JournalError =>
  new JournalError('CORRUPT', `journal ${what} guest=${guest} seq=${seq}: checksum mismatch`, { guest, seq })

export const missing = (what: string, guest: string, seq: number): JournalError =>
  new JournalError('CORRUPT', `journal ${what} guest=${guest} seq=${seq}: missing below the guest's last seq`, { guest, seq })

const verified = (what: string, guest: string, seq: number, value: Uint8Array): Uint8Array => {
  const bytes = unseal(guest, seq, value)
  if (bytes === undefined) throw checksumMismatch(what, guest, seq)
  return bytes
}

export const eventFromValue = (guest: string, seq: number, value: Uint8Array): Event => {
  const event = decodeBinary(guest, seq, verified('record', guest, seq, value))
  if (E.isLeft(event)) throw new JournalError('DECODE', `journal record guest=${guest} seq=${seq}: ${event.left}`, { guest, seq })
  return event.right
}

/** The timestamp alone, from the record's fixed header (seqAt's binary search reads nothing else). */
export const tsFromValue = (guest: string, seq: number, value: Uint8Array): bigint => {
  const record = verified('record', guest, seq, value)
  const ts = E.tryCatch(() => tsOf(record), (err) => (err instanceof Error ? err.message : String(err)))
  if (E.isLeft(ts)) throw new JournalError('DECODE', `journal record guest=${guest} seq=${seq}: no timestamp (${ts.left})`, { guest, seq })
  return ts.right
}

export const payloadFromValue = (guest: string, seq: number, value: Uint8Array): Uint8Array => verified('payload', guest, seq, value)

export const guestFromValue = (guest: string, value: Uint8Array): GuestRecord => {
  const bytes = unseal(guest, GUEST_SEQ, value)
  if (bytes === undefined) throw new JournalError('CORRUPT', `journal guest record guest=${guest}: checksum mismatch`, { guest })
  const record = decodeGuest(bytes)
  if (E.isLeft(record)) throw new JournalError('DECODE', `journal guest record guest=${guest}: ${record.left}`, { guest })
  return record.right
}

// --- blob references and segment records (blobs.ts; format in journal/README.md) ---

const u64 = (bytes: Uint8Array, at: number): number => {
  const v = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return v.readUInt32LE(at + 4) * 0x1_0000_0000 + v.readUInt32LE(at)
}
const putU64 = (out: Buffer, at: number, n: number): void => {
  out.writeUInt32LE(n % 0x1_0000_0000, at)
  out.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4)
}

/** A payload kept in a blob segment: where its bytes are and their checksum (keyed like an inline
 *  payload's: crc32 of guest | 0x00 | u64le(seq) | bytes). */
export interface StoredRef extends BlobRef {
  readonly crc: number
}

const REF_BYTES = 4 + 8 + 8 + 4 // u32 segment | u64 offset | u64 length | u32 crc

export const refValue = (guest: string, seq: number, ref: StoredRef): Buffer => {
  const body = Buffer.allocUnsafe(REF_BYTES)
  body.writeUInt32LE(ref.segment, 0)
  putU64(body, 4, ref.offset)
  putU64(body, 12, ref.length)
  body.writeUInt32LE(ref.crc, 20)
  return seal(guest, seq, body)
}

export const refFromValue = (guest: string, seq: number, value: Uint8Array): StoredRef => {
  const body = unseal(guest, seq, value)
  if (body === undefined || body.length !== REF_BYTES) {
    throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${seq}: checksum mismatch (blob reference)`, { guest, seq })
  }
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  return { segment: b.readUInt32LE(0), offset: u64(body, 4), length: u64(body, 12), crc: b.readUInt32LE(20) }
}

/** Segment records and the format record are checksummed with an empty guest, which no guest has. */
const NO_GUEST = ''

export const segmentValue = (segment: number, s: SegmentState): Buffer => {
  const body = Buffer.allocUnsafe(16)
  putU64(body, 0, s.end)
  putU64(body, 8, s.live)
  return seal(NO_GUEST, segment, body)
}

export const segmentFromValue = (segment: number, value: Uint8Array): SegmentState => {
  const body = unseal(NO_GUEST, segment, value)
  if (body === undefined || body.length !== 16) throw new JournalError('CORRUPT', `journal segment record ${segmentName(segment)}: checksum mismatch`)
  return { end: u64(body, 0), live: u64(body, 8) }
}

export const formatValue = (version: number): Buffer => {
  const body = Buffer.allocUnsafe(4)
  body.writeUInt32LE(version, 0)
  return seal(NO_GUEST, 0, body)
}

export const formatFromValue = (value: Uint8Array): number => {
  const body = unseal(NO_GUEST, 0, value)
  if (body === undefined || body.length !== 4) throw new JournalError('CORRUPT', 'journal format record: checksum mismatch')
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32LE(0)
}

// --- compacted values (a checkpoint's consolidated file content) ---

/** `crc | 4 zero bytes | u64le base | bytes`, the crc over (guest, checkpoint seq, the rest): a value
 *  moved under another checkpoint or base fails its check. The bytes start 16 bytes in, so a value
 *  LMDB keeps 8-aligned hands them over 8-aligned. */
export const compactedValue = (guest: string, seq: number, base: number, bytes: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(COMPACTED_HEADER + bytes.length)
  out.writeUInt32LE(0, CRC_BYTES)
  putU64(out, CRC_BYTES + 4, base)
  out.set(bytes, COMPACTED_HEADER)
  out.writeUInt32LE(checksumRange(guest, seq, out, CRC_BYTES, out.length), 0)
  return out
}

const COMPACTED_HEADER = CRC_BYTES + 4 + 8

/** The bytes of a compacted value, its crc checked (unless `crcChecked`: this process checked this
 *  very value before, compactedChecks.ts) and its header too. */
export const compactedFromValue = (guest: string, seq: number, base: number, value: Uint8Array, what = 'compacted content', crcChecked = false): Uint8Array => {
  const body = crcChecked ? value.subarray(CRC_BYTES) : unseal(guest, seq, value)
  if (body === undefined || body.length < 12 || u64(body, 4) !== base) {
    throw new JournalError('CORRUPT', `journal ${what} guest=${guest} seq=${seq} base=${base}: checksum mismatch`, { guest, seq })
  }
  return body.subarray(12)
}

/** The crc a stored value carries (its first bytes; whether it matches is unseal's question). */
export const storedCrc = (value: Uint8Array): number => (value[0] | (value[1] << 8) | (value[2] << 16) | (value[3] << 24)) >>> 0
