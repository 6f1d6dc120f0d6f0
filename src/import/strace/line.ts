// The shapes of one strace -f -ttt line, before any argument is read:
//   PID SECONDS.MICROS name(args) = ret
//   PID SECONDS.MICROS name(args <unfinished ...>        (or <pid changed to N ...> for an exec)
//   PID SECONDS.MICROS <... name resumed>args) = ret
//   PID SECONDS.MICROS --- SIGCHLD {...} ---  |  --- stopped by SIGSTOP ---
//   PID SECONDS.MICROS +++ exited with N +++  |  +++ killed by SIGKILL (core dumped) +++
//   PID SECONDS.MICROS +++ superseded by execve in pid N +++
import * as E from 'fp-ts/lib/Either.js'
import { signalNumber } from './flags.js'
import { show } from './values.js'

interface At { readonly tid: number; readonly ts: bigint }
export type Line = At &
  (
    | { readonly kind: 'call'; readonly name: string; readonly text: string }
    | { readonly kind: 'unfinished'; readonly name: string; readonly head: string; readonly movedTo: number | null }
    | { readonly kind: 'resumed'; readonly name: string; readonly rest: string }
    | { readonly kind: 'signal' }
    | { readonly kind: 'exited'; readonly status: number }
    | { readonly kind: 'killed'; readonly signal: number }
    | { readonly kind: 'superseded'; readonly by: number }
  )

const PREFIX = /^(?:\[pid\s+)?([0-9]{1,10})\]?\s+([0-9]{1,12})\.([0-9]{1,9})\s+/
const NAME = /^([a-z_][a-z0-9_]*)\(/
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>/
const UNFINISHED = ' <unfinished ...>'
const PID_CHANGED = /\s*<pid changed to ([0-9]+) \.\.\.>$/
const EXITED = /^\+\+\+ exited with (-?[0-9]+) \+\+\+$/
const KILLED = /^\+\+\+ killed by ([A-Z0-9_]+)(?: \(core dumped\))? \+\+\+$/
const SUPERSEDED = /^\+\+\+ superseded by execve in pid ([0-9]+) \+\+\+$/

/** The task id and timestamp of a line, then its shape; the argument text is left as it is. */
export const parseLine = (text: string): E.Either<string, Line> => {
  const p = PREFIX.exec(text)
  if (p === null) return E.left(`expected "PID SECONDS.MICROS" at the start of the line, got ${show(text)}`)
  const tid = Number(p[1])
  const ts = BigInt(p[2]) * 1_000_000_000n + BigInt(p[3].padEnd(9, '0'))
  const at = { tid, ts }
  const rest = text.slice(p[0].length).trimEnd()
  if (rest.startsWith('---')) {
    return rest.endsWith('---') && rest.length >= 7 ? E.right({ ...at, kind: 'signal' }) : E.left(`unterminated signal line ${show(rest)}`)
  }
  if (rest.startsWith('+++')) {
    const ex = EXITED.exec(rest)
    if (ex !== null) {
      // strace prints WEXITSTATUS: 0..255
      const status = Number(ex[1])
      return status >= 0 && status <= 255 ? E.right({ ...at, kind: 'exited', status }) : E.left(`exit status ${ex[1]} out of range 0..255`)
    }
    const k = KILLED.exec(rest)
    if (k !== null) {
      const signal = signalNumber(k[1])
      return signal === null ? E.left(`unknown signal ${k[1]} in an exit line`) : E.right({ ...at, kind: 'killed', signal })
    }
    const s = SUPERSEDED.exec(rest)
    if (s !== null) return E.right({ ...at, kind: 'superseded', by: Number(s[1]) })
    return E.left(`unknown exit line ${show(rest)}`)
  }
  const r = RESUMED.exec(rest)
  if (r !== null) return E.right({ ...at, kind: 'resumed', name: r[1], rest: rest.slice(r[0].length) })
  const n = NAME.exec(rest)
  if (n === null) return E.left(`expected a system call, a signal or an exit, got ${show(rest)}`)
  if (rest.endsWith(UNFINISHED)) return E.right({ ...at, kind: 'unfinished', name: n[1], head: rest.slice(0, -UNFINISHED.length), movedTo: null })
  const moved = rest.endsWith(' ...>') ? PID_CHANGED.exec(rest) : null
  if (moved !== null) return E.right({ ...at, kind: 'unfinished', name: n[1], head: rest.slice(0, moved.index), movedTo: Number(moved[1]) })
  return E.right({ ...at, kind: 'call', name: n[1], text: rest })
}
