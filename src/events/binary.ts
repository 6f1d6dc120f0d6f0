// The journal's compact binary form of one event body:
//   u8 format version | u8 kind code | u32 pid | u32 tid | u64 ts | msgpack(fields other than kind)
// guest and seq live in the journal key, not in the value.
import * as E from 'fp-ts/lib/Either.js'
import { Packr } from 'msgpackr'
import { decodeBody, KINDS, kindCode, type Body, type Event } from './event.js'

export const FORMAT_VERSION = 1
const HEADER = 18
const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true })

export const encodeBody = (ts: bigint, pid: number, tid: number, body: Body): Buffer => {
  const code = kindCode.get(body.kind)
  if (code === undefined) throw new Error(`bug: no kind code for ${body.kind}`)
  const { kind: _kind, ...fields } = body
  const packed = packr.pack(fields)
  const out = Buffer.allocUnsafe(HEADER + packed.length)
  out[0] = FORMAT_VERSION
  out[1] = code
  out.writeUInt32LE(pid, 2)
  out.writeUInt32LE(tid, 6)
  out.writeBigUInt64LE(ts, 10)
  packed.copy(out, HEADER)
  return out
}

/** The timestamp alone, without decoding the body (for seq-for-time searches). */
export const tsOf = (buf: Uint8Array): bigint => Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readBigUInt64LE(10)

const isMap = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

export const decodeBinary = (guest: string, seq: number, buf: Uint8Array): E.Either<string, Event> => {
  if (buf.length < HEADER) return E.left(`record too short (${buf.length} bytes)`)
  if (buf[0] !== FORMAT_VERSION) return E.left(`unsupported format version ${buf[0]} (this eyrie reads ${FORMAT_VERSION})`)
  const kind = KINDS[buf[1]]
  if (kind === undefined) return E.left(`unknown kind code ${buf[1]}`)
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  let fields: unknown
  try {
    fields = packr.unpack(b.subarray(HEADER))
  } catch (err) {
    return E.left(`undecodable body: ${(err as Error).message}`)
  }
  if (!isMap(fields)) return E.left('body is not a map')
  // The unpacked map is ours: complete it in place rather than copying (copies dominate replay time).
  fields.kind = kind
  const decoded = decodeBody(fields)
  if (E.isLeft(decoded)) return decoded
  return E.right(Object.assign(decoded.right, { guest, seq, ts: b.readBigUInt64LE(10), pid: b.readUInt32LE(2), tid: b.readUInt32LE(6) }))
}
