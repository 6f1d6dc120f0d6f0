// One system call as a value: its name, its argument texts and its result.
import * as E from 'fp-ts/lib/Either.js'
import { splitTop } from './text.js'
import { readFd, readNumber, show, type FdRef } from './values.js'

/** ok: the call returned `value` (>= 0), with the -y decoration when it returned an fd.
 *  failed: -1 ERRNO. unknown: `?`, the task did not come back (exit, exec in a thread, a restart). */
export type Ret =
  | { readonly kind: 'ok'; readonly value: number; readonly fd: FdRef | null }
  | { readonly kind: 'failed'; readonly errno: string }
  | { readonly kind: 'unknown' }

export interface Call {
  readonly name: string
  readonly args: readonly string[]
  readonly ret: Ret
  readonly tid: number
  readonly ts: bigint
}

/** `name(args) = ret`: the argument texts split at top level, and the parsed result. */
export const parseCallText = (name: string, text: string): E.Either<string, { args: string[]; ret: Ret }> => {
  const split = splitTop(text, name.length + 1, ')', name)
  if (E.isLeft(split)) return split
  const after = text.slice(split.right.end)
  const eq = /^\s*=\s*/.exec(after)
  if (eq === null || eq[0].length === after.length) {
    return E.left(after.trim() === '' ? `missing return value of ${name}` : `unexpected ${show(after.trim())} after the arguments of ${name}`)
  }
  const ret = parseRet(after.slice(eq[0].length), name)
  return E.isLeft(ret) ? ret : E.right({ args: split.right.parts, ret: ret.right })
}

const RET = /^(-?(?:0x[0-9a-fA-F]+|[0-9]+))((?:<[^>]*>)?(?:\(deleted\))?)(?:\s+(.*))?$/s
const ERRNO = /^(E[A-Z0-9]+)\b/

const parseRet = (text: string, name: string): E.Either<string, Ret> => {
  if (text === '?' || text.startsWith('? ')) return E.right({ kind: 'unknown' })
  const m = RET.exec(text)
  if (m === null) return E.left(`bad return value ${show(text)} of ${name}`)
  const value = readNumber(m[1])
  if (E.isLeft(value)) return E.left(`${value.left} as the return value of ${name}`)
  if (value.right < 0) {
    const errno = ERRNO.exec(m[3] ?? '')
    return E.right({ kind: 'failed', errno: errno === null ? '' : errno[1] })
  }
  if (m[2] === '') return E.right({ kind: 'ok', value: value.right, fd: null })
  const fd = readFd(m[1] + m[2])
  if (E.isLeft(fd)) return E.left(`${fd.left} as the return value of ${name}`)
  return E.right({ kind: 'ok', value: value.right, fd: fd.right })
}
