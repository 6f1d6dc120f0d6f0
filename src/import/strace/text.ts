// Lexical layer: splitting strace's argument text at top-level commas and decoding its C strings.
// With -xx every string byte is \xNN, but the decoder also takes the other escapes strace can print
// so that a log written without -xx still decodes to the right bytes.
import * as E from 'fp-ts/lib/Either.js'
import { show } from './show.js'

const CLOSER: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' }
const isWordChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95

/** Where a top-level split ended: the parts (trimmed) and the index just past the terminator. */
export interface Split { readonly parts: string[]; readonly end: number }

/**
 * Split `s` from `start` at top-level commas until `stop` (a closing bracket) at depth 0, or until the
 * end of `s` when stop is ''. Strings, brackets, `<path>` fd decorations and comments are skipped as
 * units. `what` names the call for error messages.
 */
export const splitTop = (s: string, start: number, stop: string, what: string): E.Either<string, Split> => {
  const parts: string[] = []
  const stack: string[] = []
  let from = start
  let i = start
  while (i < s.length) {
    const c = s[i]
    if (c === '"') {
      const close = skipString(s, i)
      if (close < 0) return E.left(`unbalanced quotes in arguments of ${what}`)
      i = close + 1
      continue
    }
    if (c === '<' && i > start && isWordChar(s.charCodeAt(i - 1))) {
      // An fd decoration such as 3</tmp/x> or AT_FDCWD</home>; its content is escaped, so no '>' inside.
      const close = s.indexOf('>', i + 1)
      if (close < 0) return E.left(`unterminated <path> in arguments of ${what}`)
      i = close + 1
      continue
    }
    if (c === '/' && s[i + 1] === '*') {
      const close = s.indexOf('*/', i + 2)
      if (close < 0) return E.left(`unterminated comment in arguments of ${what}`)
      i = close + 2
      continue
    }
    if (c === '(' || c === '[' || c === '{') {
      stack.push(CLOSER[c])
      i++
      continue
    }
    if (c === ')' || c === ']' || c === '}') {
      if (stack.length === 0) {
        if (c !== stop) return E.left(`unbalanced '${c}' in arguments of ${what}`)
        parts.push(s.slice(from, i).trim())
        return E.right({ parts: parts.length === 1 && parts[0] === '' ? [] : parts, end: i + 1 })
      }
      if (stack.pop() !== c) return E.left(`unbalanced '${c}' in arguments of ${what}`)
      i++
      continue
    }
    if (c === ',' && stack.length === 0) {
      parts.push(s.slice(from, i).trim())
      from = i + 1
    }
    i++
  }
  if (stop !== '' || stack.length > 0) return E.left(`missing '${stack.pop() ?? stop}' in arguments of ${what}`)
  parts.push(s.slice(from).trim())
  return E.right({ parts: parts.length === 1 && parts[0] === '' ? [] : parts, end: s.length })
}

/** Index of the quote closing the string that opens at `open`, or -1. */
export const skipString = (s: string, open: number): number => {
  // indexOf runs at native speed over the megabytes of a large buffer; a quote is escaped when an
  // odd number of backslashes precedes it (never, in -xx output).
  let q = s.indexOf('"', open + 1)
  while (q >= 0) {
    let k = q - 1
    while (k > open && s.charCodeAt(k) === 92) k--
    if ((q - 1 - k) % 2 === 0) return q
    q = s.indexOf('"', q + 1)
  }
  return -1
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, '\\': 92, '"': 34, "'": 39, '?': 63,
}
const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1

const HEX_DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX_DIGIT[48 + i] = i
for (let i = 0; i < 6; i++) HEX_DIGIT[65 + i] = HEX_DIGIT[97 + i] = 10 + i
const hexDigit = (c: number): number => (c < 128 ? HEX_DIGIT[c] : -1)

/** Decode the escaped text s[from, to) to bytes. Unescaped characters are taken as UTF-8. */
export const decodeEscaped = (s: string, from: number, to: number): E.Either<string, Uint8Array> => {
  const hex = (to - from) % 4 === 0 ? decodeHex(s, from, to) : null
  return hex === null ? decodeLoop(s, from, to) : E.right(hex)
}

/** What -xx prints, only \xNN, in a tight loop; null if the text is anything else. */
const decodeHex = (s: string, from: number, to: number): Uint8Array | null => {
  const out = new Uint8Array((to - from) >> 2)
  for (let i = from, n = 0; i < to; i += 4) {
    if (s.charCodeAt(i) !== 92 || s.charCodeAt(i + 1) !== 120) return null
    const hi = hexDigit(s.charCodeAt(i + 2))
    const lo = hexDigit(s.charCodeAt(i + 3))
    if (hi < 0 || lo < 0) return null
    out[n++] = (hi << 4) | lo
  }
  return out
}

const decodeLoop = (s: string, from: number, to: number): E.Either<string, Uint8Array> => {
  // Escaped or ASCII text never yields more bytes than characters; only non-ASCII text grows.
  let out = new Uint8Array(Math.max(0, to - from))
  let n = 0
  let i = from
  while (i < to) {
    const c = s.charCodeAt(i)
    if (c !== 92) {
      if (c < 0x80) out[n++] = c
      else {
        const ch = String.fromCodePoint(s.codePointAt(i) ?? c)
        const enc = Buffer.from(ch, 'utf8')
        if (n + enc.length > out.length) {
          const bigger = new Uint8Array(out.length * 2 + enc.length)
          bigger.set(out.subarray(0, n))
          out = bigger
        }
        out.set(enc, n)
        n += enc.length
        i += ch.length
        continue
      }
      i++
      continue
    }
    const e = s[i + 1]
    if (e === 'x') {
      const h1 = hexValue(s.charCodeAt(i + 2))
      const h2 = i + 3 < to ? hexValue(s.charCodeAt(i + 3)) : -1
      if (h1 < 0 || i + 2 >= to) return E.left(`bad escape ${show(s.slice(i, i + 4))}`)
      if (h2 < 0) {
        out[n++] = h1
        i += 3
      } else {
        out[n++] = h1 * 16 + h2
        i += 4
      }
      continue
    }
    if (e !== undefined && e >= '0' && e <= '7') {
      let v = 0
      let k = i + 1
      while (k < to && k < i + 4 && s[k] >= '0' && s[k] <= '7') v = v * 8 + (s.charCodeAt(k++) - 48)
      if (v > 255) return E.left(`bad escape ${show(s.slice(i, k))}`)
      out[n++] = v
      i = k
      continue
    }
    const simple = e === undefined || i + 1 >= to ? undefined : SIMPLE_ESCAPES[e]
    if (simple === undefined) return E.left(`bad escape ${show(s.slice(i, i + 2))}`)
    out[n++] = simple
    i += 2
  }
  // -xx text is 4 characters a byte: keep a copy of the right size, not a view of the scratch.
  return E.right(n === out.length ? out : out.slice(0, n))
}
