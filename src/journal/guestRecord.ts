// The `guests` database: one record per guest, rewritten in the same transaction as every append, so
// it always agrees with the events that are committed. Stored as crc | JSON (small, rare, readable
// with any LMDB tool); the crc uses seq 0, which no event has.
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { Nanos, Nat, nullable } from '../events/codecs.js'
import { formatErrors } from '../events/event.js'

export const GuestRecord = t.type({
  last: Nat,
  firstTs: nullable(Nanos),
  lastTs: nullable(Nanos),
  payloadBytes: Nat,
  meta: t.record(t.string, t.string),
})
export type GuestRecord = t.TypeOf<typeof GuestRecord>

export const emptyGuest = (): GuestRecord => ({ last: 0, firstTs: null, lastTs: null, payloadBytes: 0, meta: {} })

export const encodeGuest = (g: GuestRecord): Buffer => Buffer.from(JSON.stringify(GuestRecord.encode(g)), 'utf8')

export const decodeGuest = (bytes: Uint8Array): E.Either<string, GuestRecord> => {
  let u: unknown
  try {
    u = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (err) {
    return E.left(`not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  return E.mapLeft(formatErrors)(GuestRecord.decode(u))
}
