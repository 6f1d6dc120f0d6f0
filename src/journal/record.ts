// The stored value of one event: `crc32 | record`, where record is exactly what encodeBody
// (src/events/binary.ts) produces. binary.ts defines the format; this file only builds the same bytes
// faster for the common case, because append is the journal's hot path:
//
// Most events (fd.*, file.write, proc.exit, view.unmap, ...) have only numbers, booleans, null and short
// ASCII strings (fd.open's path) in their body. For those, the msgpack map msgpackr would write (map16
// header, fixstr keys, the smallest int form, float64 beyond 32 bits, the shortest string header for
// the string's length) is written here straight into the value, after room for the crc, from a shared
// slab: one allocation-free pass instead of rest-spread + pack + alloc + copy + seal. Anything else
// (other strings, arrays, unexpected fields) goes through encodeBody. A property test holds
// the two paths byte-identical (test/journal/record.test.ts).
import * as t from 'io-ts'
import { bodyCodecs, encodeBody, FORMAT_VERSION, kindCode, type Body } from '../events/index.js'
import { checksumRange, CRC_BYTES, seal } from './checksum.js'

const HEADER = 18 // u8 version | u8 kind | u32 pid | u32 tid | u64 ts (binary.ts)
const MAP16 = 0xde
const MAX_NUMBER = 9 // float64 marker + 8 bytes

interface KindLayout {
  readonly code: number
  /** fixstr bytes of each field name the kind's codec declares (kind excluded); other names fall back */
  readonly keys: ReadonlyMap<string, Uint8Array>
  /** bytes a flat body of this kind can take at most, crc and header included */
  readonly bound: number
}

const layouts = new Map<string, KindLayout | null>()

const fixstr = (name: string): Uint8Array | undefined =>
  name.length < 32 && /^[\x20-\x7e]*$/.test(name) ? Uint8Array.from([0xa0 | name.length, ...Buffer.from(name, 'latin1')]) : undefined

/** The field names a body codec declares: its own (t.type, t.partial: optional ones) or its members'
 *  (an intersection: fd.open's optional attributes); null for any other codec. */
const declaredNames = (codec: t.Mixed): string[] | null => {
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) return Object.keys(codec.props as t.Props)
  if (!(codec instanceof t.IntersectionType)) return null
  const names = (codec.types as t.Mixed[]).map(declaredNames)
  return names.every((n) => n !== null) ? names.flat() : null
}

const layoutOf = (body: Body): KindLayout | null => {
  let layout = layouts.get(body.kind)
  if (layout !== undefined) return layout
  layout = null
  const code = kindCode.get(body.kind)
  const names = declaredNames(bodyCodecs[body.kind])
  // fields that are there are written in the order they are in the body, as msgpackr does; a value
  // that is not flat (the snapshot's arrays) takes the slow path when it is met
  if (code !== undefined && names !== null) {
    const keys = new Map<string, Uint8Array>()
    let bound = CRC_BYTES + HEADER + 3
    for (const name of names) {
      const bytes = fixstr(name)
      if (name === 'kind' || bytes === undefined) continue // a field without a fixstr name takes the slow path
      keys.set(name, bytes)
      bound += bytes.length + MAX_NUMBER
    }
    layout = { code, keys, bound }
  }
  layouts.set(body.kind, layout)
  return layout
}

const SLAB = 64 * 1024
let slab = Buffer.allocUnsafe(SLAB)
let view = new DataView(slab.buffer, slab.byteOffset, slab.byteLength)
let used = 0
const freshSlab = (): void => {
  slab = Buffer.allocUnsafe(SLAB)
  view = new DataView(slab.buffer, slab.byteOffset, slab.byteLength)
  used = 0
}

/** Strings the fast path writes: ASCII, shorter than str8's limit (bytes = characters). */
const SHORT = 0x100
const NOT_FLAT = -1
const NO_ROOM = -2

/** Writes the fields of a flat body at `at`; returns the end, NOT_FLAT when the body is not flat, or
 *  NO_ROOM when its strings do not fit in `out` (layout.bound counts numbers only). */
const writeFlat = (layout: KindLayout, body: Body, out: Buffer, dv: DataView, at: number): number => {
  const count = at + 1
  out[at] = MAP16
  at += 3
  let n = 0
  for (const name in body) {
    if (name === 'kind') continue
    const key = layout.keys.get(name)
    if (key === undefined) return NOT_FLAT
    const v: unknown = Reflect.get(body, name)
    for (let i = 0; i < key.length; i++) out[at++] = key[i]
    if (typeof v === 'number') {
      if (v >>> 0 === v) {
        if (v < 0x80) out[at++] = v
        else if (v < 0x100) (out[at++] = 0xcc), (out[at++] = v)
        else if (v < 0x10000) (out[at++] = 0xcd), dv.setUint16(at, v), (at += 2)
        else (out[at++] = 0xce), dv.setUint32(at, v), (at += 4)
      } else if (v >> 0 === v) {
        if (v >= -0x20) out[at++] = v + 0x100
        else if (v >= -0x80) (out[at++] = 0xd0), (out[at++] = v + 0x100)
        else if (v >= -0x8000) (out[at++] = 0xd1), dv.setInt16(at, v), (at += 2)
        else (out[at++] = 0xd2), dv.setInt32(at, v), (at += 4)
      } else (out[at++] = 0xcb), dv.setFloat64(at, v), (at += 8)
    } else if (v === null) out[at++] = 0xc0
    else if (v === true) out[at++] = 0xc3
    else if (v === false) out[at++] = 0xc2
    else if (typeof v === 'string' && v.length < SHORT) {
      const len = v.length
      const head = len < 0x20 ? 1 : 2
      if (at + head + len + layout.bound > out.length) return NO_ROOM // the fields after it need at most bound
      if (head === 1) out[at++] = 0xa0 | len
      else (out[at++] = 0xd9), (out[at++] = len)
      for (let i = 0; i < len; i++) {
        const c = v.charCodeAt(i)
        if (c >= 0x80) return NOT_FLAT // utf-8 takes more bytes than characters: encodeBody's job
        out[at++] = c
      }
    } else return NOT_FLAT
    n++
  }
  dv.setUint16(count, n)
  return at
}

/** `crc | encodeBody(ts, pid, tid, body)`, sealed for (guest, seq). */
export const eventValue = (guest: string, seq: number, ts: bigint, pid: number, tid: number, body: Body): Uint8Array => {
  const layout = layoutOf(body)
  if (layout !== null) {
    if (used + layout.bound > SLAB) freshSlab()
    let start = used
    let end = writeFlat(layout, body, slab, view, start + CRC_BYTES + HEADER)
    if (end === NO_ROOM && start > 0) {
      freshSlab() // a fresh slab holds any flat body: a few fields, strings under SHORT
      start = used
      end = writeFlat(layout, body, slab, view, start + CRC_BYTES + HEADER)
    }
    if (end >= 0) {
      const h = start + CRC_BYTES
      slab[h] = FORMAT_VERSION
      slab[h + 1] = layout.code
      view.setUint32(h + 2, pid, true)
      view.setUint32(h + 6, tid, true)
      view.setBigUint64(h + 10, ts, true)
      view.setUint32(start, checksumRange(guest, seq, slab, h, end), true)
      used = end
      return new Uint8Array(slab.buffer, slab.byteOffset + start, end - start) // lighter than Buffer#subarray
    }
  }
  return seal(guest, seq, encodeBody(ts, pid, tid, body))
}
