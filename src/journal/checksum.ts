// Every stored value is `u32le crc32 | bytes`. The crc covers where the bytes belong as well as the bytes:
//   crc32( utf8(guest) | 0x00 | u64le(seq) | bytes )
// so a record copied or moved under another key fails its check just like a flipped bit does.
// crc32 is zlib's (IEEE 802.3, reflected polynomial 0xEDB88320), the one node:zlib exposes.
import { crc32 } from 'node:zlib'

export const CRC_BYTES = 4

// Slicing-by-4 tables. The native crc32 costs ~150 ns per call before it reads a byte, which is more
// than a whole metadata record takes here; large values (payloads, checkpoints) still go native.
const T0 = new Int32Array(256)
const T1 = new Int32Array(256)
const T2 = new Int32Array(256)
const T3 = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  T0[n] = c
}
for (let n = 0; n < 256; n++) {
  T1[n] = T0[T0[n] & 0xff] ^ (T0[n] >>> 8)
  T2[n] = T0[T1[n] & 0xff] ^ (T1[n] >>> 8)
  T3[n] = T0[T2[n] & 0xff] ^ (T2[n] >>> 8)
}
const NATIVE_FROM = 128

/** Continue a (pre-inverted) crc over 4 bytes given as a little-endian u32. */
const word = (c: number, w: number): number => {
  c ^= w
  return T3[c & 0xff] ^ T2[(c >>> 8) & 0xff] ^ T1[(c >>> 16) & 0xff] ^ T0[c >>> 24]
}

const guestCrcs = new Map<string, number>()
const guestCrc = (guest: string): number => {
  let c = guestCrcs.get(guest)
  if (c === undefined) {
    c = crc32(Buffer.from(`${guest}\0`, 'utf8'))
    guestCrcs.set(guest, c)
  }
  return c
}

/** crc32 of guest | 0x00 | u64le(seq) | bytes[start..end). */
export const checksumRange = (guest: string, seq: number, bytes: Uint8Array, start: number, end: number): number => {
  let c = ~guestCrc(guest)
  c = word(c, seq >>> 0)
  c = word(c, Math.floor(seq / 0x1_0000_0000) >>> 0)
  if (end - start >= NATIVE_FROM) return crc32(bytes.subarray(start, end), ~c >>> 0)
  let i = start
  for (; i + 4 <= end; i += 4) c = word(c, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))
  for (; i < end; i++) c = T0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

/** crc32 of guest | 0x00 | u64le(seq) | bytes. */
export const checksum = (guest: string, seq: number, bytes: Uint8Array): number => checksumRange(guest, seq, bytes, 0, bytes.length)

/** `crc | bytes`, ready to store under (guest, seq), in `out` (CRC_BYTES + bytes.length long) or a new buffer. */
export const seal = (guest: string, seq: number, bytes: Uint8Array, out: Buffer = Buffer.allocUnsafe(CRC_BYTES + bytes.length)): Buffer => {
  out.set(bytes, CRC_BYTES)
  out.writeUInt32LE(checksum(guest, seq, bytes), 0)
  return out
}

/** The bytes after the crc when the crc matches this (guest, seq); undefined when it does not. */
export const unseal = (guest: string, seq: number, value: Uint8Array): Uint8Array | undefined => {
  if (value.length < CRC_BYTES) return undefined
  const stored = (value[0] | (value[1] << 8) | (value[2] << 16) | (value[3] << 24)) >>> 0
  const bytes = value.subarray(CRC_BYTES)
  return checksum(guest, seq, bytes) === stored ? bytes : undefined
}
