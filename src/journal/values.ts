// Turning stored values back into data: verify the checksum, then decode. Every failure is one
// JournalError that names the guest and seq it hit (CORRUPT: the bytes are not what was written;
// DECODE: they are, but this eyrie cannot read them).
import * as E from 'fp-ts/lib/Either.js'
import { decodeBinary, tsOf, type Event } from '../events/index.js'
import { JournalError } from './errors.js'
import { unseal } from './checksum.js'
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
