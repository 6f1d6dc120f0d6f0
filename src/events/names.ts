// Names are bytes to the kernel (anything but NUL, and '/' between components); events carry them as
// strings. One reversible rule maps bytes to a string, used wherever a name enters eyrie (the
// interceptor's records, the /proc snapshot, the strace importer) and, backwards, wherever one
// leaves it for the file system (export, quarantine, reading a host file):
//
//   bytes that are well-formed UTF-8 are their characters, except U+EF80..U+EFFF; every other byte
//   b >= 0x80 (not UTF-8, or part of the UTF-8 of U+EF80..U+EFFF) is the character U+EF00 + b.
//
// U+EF80..U+EFFF lie in the Private Use Area (MirBSD's OPTU-8 maps raw bytes to the same range), so
// the string is always valid Unicode: it survives UTF-8 (the journal's msgpack), JSON lines and Kafka
// unchanged. Every byte string has exactly one string, two byte strings never share one (names that
// differ only in bytes that are not UTF-8 stay two names), and nameToBytes gives the bytes back. A
// name that is valid UTF-8 without those 128 code points (nearly every name) is its plain string.
import { isUtf8 } from 'node:buffer'

const ESCAPE_BASE = 0xef00
const FIRST_ESCAPE = 0xef80
const LAST_ESCAPE = 0xefff
const ESCAPES = /[\uef80-\uefff]/

/** The UTF-8 of U+EF80..U+EFFF is EE BE xx or EE BF xx. */
const hasEscapeRange = (b: Uint8Array): boolean => {
  for (let i = b.indexOf(0xee); i >= 0 && i + 1 < b.length; i = b.indexOf(0xee, i + 1)) {
    if (b[i + 1] === 0xbe || b[i + 1] === 0xbf) return true
  }
  return false
}

const isCont = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80

/** Length of the well-formed UTF-8 sequence at b[i] (Unicode table 3-7), or 0 if there is none. */
const sequenceAt = (b: Uint8Array, i: number): number => {
  const b0 = b[i]
  const b1 = b[i + 1]
  if (b0 >= 0xc2 && b0 <= 0xdf) return isCont(b1) ? 2 : 0
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80
    const hi = b0 === 0xed ? 0x9f : 0xbf
    return b1 !== undefined && b1 >= lo && b1 <= hi && isCont(b[i + 2]) ? 3 : 0
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80
    const hi = b0 === 0xf4 ? 0x8f : 0xbf
    return b1 !== undefined && b1 >= lo && b1 <= hi && isCont(b[i + 2]) && isCont(b[i + 3]) ? 4 : 0
  }
  return 0
}

const codePoint = (b: Uint8Array, i: number, n: number): number =>
  n === 2 ? ((b[i] & 0x1f) << 6) | (b[i + 1] & 0x3f)
    : n === 3 ? ((b[i] & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f)
      : ((b[i] & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f)

/** A name's bytes as eyrie's string for it (the rule above). */
export const nameFromBytes = (b: Uint8Array): string => {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  if (isUtf8(buf) && !hasEscapeRange(buf)) return buf.toString('utf8')
  let out = ''
  let plain = 0 // start of the run of bytes that decode as themselves
  for (let i = 0; i < buf.length;) {
    if (buf[i] < 0x80) {
      i++
      continue
    }
    const n = sequenceAt(buf, i)
    const cp = n === 0 ? -1 : codePoint(buf, i, n)
    if (n > 0 && (cp < FIRST_ESCAPE || cp > LAST_ESCAPE)) {
      i += n
      continue
    }
    out += buf.toString('utf8', plain, i)
    const end = n === 0 ? i + 1 : i + n
    for (; i < end; i++) out += String.fromCharCode(ESCAPE_BASE + buf[i])
    plain = i
  }
  return out + buf.toString('utf8', plain)
}

/** The bytes a name stands for: the inverse of nameFromBytes. */
export const nameToBytes = (s: string): Buffer => {
  if (!ESCAPES.test(s)) return Buffer.from(s, 'utf8')
  const parts: Buffer[] = []
  let plain = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < FIRST_ESCAPE || c > LAST_ESCAPE) continue
    parts.push(Buffer.from(s.slice(plain, i), 'utf8'), Buffer.of(c - ESCAPE_BASE))
    plain = i + 1
  }
  parts.push(Buffer.from(s.slice(plain), 'utf8'))
  return Buffer.concat(parts)
}

/** Whether s is the one string of its bytes (a string JSON lines may carry that eyrie never makes,
 *  say U+EFC3 U+EFA9 for the bytes of "é", would name the same file as "é"). */
export const isCanonicalName = (s: string): boolean => !ESCAPES.test(s) || nameFromBytes(nameToBytes(s)) === s

/** What /proc (and strace's -y) appends to the name of a file whose name is gone. */
export const DELETED_SUFFIX = ' (deleted)'

/** A name /proc shows, without the kernel's " (deleted)" if it has it. */
export const withoutDeleted = (p: string): string => (p.endsWith(DELETED_SUFFIX) ? p.slice(0, -DELETED_SUFFIX.length) : p)
