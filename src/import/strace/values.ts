// Argument values as strace prints them: numbers, fds with -y decorations, C strings, flag sets,
// structs and arrays. Each reader takes one argument's text and returns a value or why it is not one.
import * as E from 'fp-ts/lib/Either.js'
import { posix } from 'node:path'
import { DELETED_SUFFIX, nameFromBytes, withoutDeleted } from '../../events/index.js'
import { decodeEscaped, skipString, splitTop } from './text.js'
import type { FlagTable } from './flags.js'
import { show } from './show.js'

export { show }

const NUMBER = /^(-?)(?:0x([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/

/** A decimal, 0x hex or 0-prefixed octal integer that fits a double exactly. */
export const readNumber = (raw: string): E.Either<string, number> => {
  const m = NUMBER.exec(raw)
  if (m === null) return E.left(`bad number ${show(raw)}`)
  const [, sign, hex, oct, dec] = m
  const v = hex !== undefined ? parseInt(hex, 16) : oct !== undefined ? parseInt(oct, 8) : Number(dec)
  if (!Number.isSafeInteger(v)) return E.left(`number ${show(raw)} out of range`)
  return E.right(sign === '-' ? -v : v)
}

/** A non-negative integer (sizes, offsets, addresses, fds). */
export const readNat = (raw: string): E.Either<string, number> => {
  const v = readNumber(raw)
  if (E.isRight(v) && v.right < 0) return E.left(`negative number ${show(raw)}`)
  return v
}

/** An fd argument: `3`, `3</abs/path>`, `3</abs/path>(deleted)`, `AT_FDCWD<...>`; fd null is AT_FDCWD. */
export interface FdRef { readonly fd: number | null; readonly path: string | null; readonly deleted: boolean }

/** The name an fd's file has, and whether it has none left (unlinked, or never had one): strace 6.1
 *  shows the kernel's "(deleted)" after the decoration, earlier ones " (deleted)" inside it. */
export const fdName = (ref: FdRef): { readonly path: string | null; readonly deleted: boolean } =>
  ref.path?.endsWith(DELETED_SUFFIX) === true ? { path: withoutDeleted(ref.path), deleted: true } : { path: ref.path, deleted: ref.deleted }
const FD_ARG = /^(-?[0-9]+|AT_FDCWD)(?:<([^>]*)>)?(\(deleted\))?$/
export const readFd = (raw: string): E.Either<string, FdRef> => {
  const m = FD_ARG.exec(raw)
  if (m === null) return E.left(`bad file descriptor ${show(raw)}`)
  const fd = m[1] === 'AT_FDCWD' ? null : Number(m[1])
  if (fd !== null && !Number.isSafeInteger(fd)) return E.left(`bad file descriptor ${show(raw)}`)
  // strace decorates only fds that are open; a negative one with a path was not written by strace
  if (fd !== null && fd < 0 && m[2] !== undefined) return E.left(`bad file descriptor ${show(raw)}: a negative fd names no file`)
  let path: string | null = null
  if (m[2] !== undefined) {
    const decoded = decodeEscaped(m[2], 0, m[2].length)
    if (E.isLeft(decoded)) return E.left(`${decoded.left} in the path of fd ${m[1]}`)
    path = nameFromBytes(decoded.right)
    // the importer takes a decoration as the kernel's canonical name; a log that shows `..`, `.` or
    // `//` there was not written by strace from /proc, and such a name would alias another
    if (path.startsWith('/') && path !== '/' && (path.endsWith('/') || posix.normalize(path) !== path)) return E.left(`fd ${m[1]}: <${show(path)}> is not a canonical path`)
  }
  return E.right({ fd, path, deleted: m[3] !== undefined })
}

/** A shown buffer: its bytes, and whether strace cut it short (`"..."...`). */
export interface Shown { readonly bytes: Uint8Array; readonly truncated: boolean }
export const readString = (raw: string): E.Either<string, Shown> => {
  if (raw[0] !== '"') return E.left(`expected a string, got ${show(raw)}`)
  const close = skipString(raw, 0)
  if (close < 0) return E.left('unbalanced quotes')
  const tail = raw.slice(close + 1)
  if (tail !== '' && tail !== '...') return E.left(`unexpected ${show(tail)} after a string`)
  const bytes = decodeEscaped(raw, 1, close)
  if (E.isLeft(bytes)) return bytes
  return E.right({ bytes: bytes.right, truncated: tail === '...' })
}

/** A path argument: a whole (untruncated) string, as a name (src/events/names.ts: bytes that are not
 *  UTF-8 stay distinct and come back out of an export as they were). */
export const readPathText = (raw: string): E.Either<string, string> => {
  const s = readString(raw)
  if (E.isLeft(s)) return s
  if (s.right.truncated) return E.left('path truncated by strace')
  return E.right(nameFromBytes(s.right.bytes))
}

/** `A|B|0x40` with names from `table`; numeric parts are taken as they are. */
export const readFlags = (raw: string, table: FlagTable, extra?: (name: string) => boolean): E.Either<string, number> => {
  if (raw === '') return E.left('empty flags')
  let acc = 0n
  for (const part of raw.split('|')) {
    const known = table.get(part)
    if (known !== undefined) {
      acc |= BigInt(known)
      continue
    }
    if (extra?.(part) === true) continue
    const n = readNat(part)
    if (E.isLeft(n)) return E.left(/^[A-Za-z_]/.test(part) ? `unknown flag ${show(part)}` : n.left)
    acc |= BigInt(n.right)
  }
  const v = Number(acc)
  return Number.isSafeInteger(v) ? E.right(v) : E.left(`flags ${show(raw)} out of range`)
}

/** `[a, b, ...]` -> its elements; a trailing `...` element (strace's limit) is reported, not kept. */
export interface Items { readonly items: string[]; readonly truncated: boolean }
export const readArray = (raw: string): E.Either<string, Items> => {
  if (raw[0] !== '[') return E.left(`expected an array, got ${show(raw)}`)
  const split = splitTop(raw, 1, ']', 'an array')
  if (E.isLeft(split)) return split
  if (split.right.end !== raw.length) return E.left(`unexpected ${show(raw.slice(split.right.end))} after an array`)
  const items = split.right.parts
  const truncated = items.length > 0 && items[items.length - 1] === '...'
  return E.right({ items: truncated ? items.slice(0, -1) : items, truncated })
}

/** `{a=1, b="x"}` (optionally followed by ` => {...}`, the values at exit) -> field texts by name. */
export const readStruct = (raw: string): E.Either<string, ReadonlyMap<string, string>> => {
  if (raw[0] !== '{') return E.left(`expected a struct, got ${show(raw)}`)
  const split = splitTop(raw, 1, '}', 'a struct')
  if (E.isLeft(split)) return split
  const rest = raw.slice(split.right.end).trim()
  if (rest !== '' && !rest.startsWith('=>')) return E.left(`unexpected ${show(rest)} after a struct`)
  const fields = new Map<string, string>()
  for (const part of split.right.parts) {
    if (part === '...') continue
    const eq = part.indexOf('=')
    if (eq <= 0) return E.left(`bad struct field ${show(part)}`)
    fields.set(part.slice(0, eq), part.slice(eq + 1))
  }
  return E.right(fields)
}

/** The value of a `name=value` argument (clone prints its arguments that way). */
export const readNamed = (args: readonly string[], name: string): string | null => {
  const prefix = `${name}=`
  const hit = args.find((a) => a.startsWith(prefix))
  return hit === undefined ? null : hit.slice(prefix.length)
}
