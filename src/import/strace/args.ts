// Reading a call's arguments without a chain of Either checks: each reader records the first
// failure and hands back a placeholder, and `done` turns a recorded failure into the result. A
// parser builds its drafts only inside `done`, so a placeholder never reaches an event.
import * as E from 'fp-ts/lib/Either.js'
import type { Draft } from '../../events/event.js'
import type { Call } from './call.js'
import type { FlagTable } from './flags.js'
import {
  readArray, readFd, readFlags, readNat, readNumber, readPathText, readString, readStruct,
  type FdRef, type Items, type Shown,
} from './values.js'

export type Parsed = E.Either<string, Draft[]>

const NO_FD: FdRef = { fd: -1, path: null, deleted: false }
const NO_STRING: Shown = { bytes: new Uint8Array(0), truncated: false }

export class Args {
  private error: string | null = null

  constructor(readonly call: Call) {}

  get length(): number {
    return this.call.args.length
  }

  /** The raw text of argument i (0-based). */
  raw(i: number): string {
    const r = this.call.args[i]
    if (r === undefined) {
      this.fail(`missing argument ${i + 1} of ${this.call.name}`)
      return ''
    }
    return r
  }

  nat(i: number): number {
    return this.read(i, readNat, 0)
  }

  int(i: number): number {
    return this.read(i, readNumber, 0)
  }

  /** A number the parser does not use (a requested count): its form is checked, not its range,
   *  as programs pass lengths like SSIZE_MAX that do not fit a double exactly. */
  count(i: number): void {
    this.read(i, (raw) => (/^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(raw) ? E.right(0) : readNumber(raw)), 0)
  }

  fd(i: number): FdRef {
    return this.read(i, readFd, NO_FD)
  }

  /** A pointer that may be NULL (an offset argument of copy_file_range/splice/sendfile). */
  isNull(i: number): boolean {
    return this.raw(i) === 'NULL'
  }

  string(i: number): Shown {
    return this.read(i, readString, NO_STRING)
  }

  path(i: number): string {
    return this.read(i, readPathText, '')
  }

  flags(i: number, table: FlagTable, extra?: (name: string) => boolean): number {
    return this.read(i, (raw) => readFlags(raw, table, extra), 0)
  }

  array(i: number): Items {
    return this.read(i, readArray, { items: [], truncated: false })
  }

  struct(i: number): ReadonlyMap<string, string> {
    return this.read(i, readStruct, new Map<string, string>())
  }

  /** A field of a struct an argument shows, read with `read`; a value out of place is recorded as a
   *  failure naming the field and `where` (the struct's place in the call), and gives undefined. */
  field<T>(fields: ReadonlyMap<string, string>, name: string, read: (raw: string) => E.Either<string, T>, where: string): T | undefined {
    const r = read(fields.get(name) ?? '')
    if (E.isRight(r)) return r.right
    this.fail(`${r.left} in ${name} of ${where}`)
    return undefined
  }

  /** Record a failure found by the parser itself (a value out of place). The first one wins. */
  fail(message: string): void {
    if (this.error === null) this.error = message
  }

  /** The drafts, or the first failure recorded while reading. */
  done(make: () => Draft[] | Parsed): Parsed {
    if (this.error !== null) return E.left(this.error)
    const out = make()
    if (this.error !== null) return E.left(this.error)
    return Array.isArray(out) ? E.right(out) : out
  }

  /** Argument i read with `reader`; a value out of place is recorded as a failure naming the
   *  argument, and gives `placeholder`. */
  read<T>(i: number, reader: (raw: string) => E.Either<string, T>, placeholder: T): T {
    const raw = this.raw(i)
    if (this.error !== null) return placeholder
    const v = reader(raw)
    if (E.isRight(v)) return v.right
    this.fail(`${v.left} in argument ${i + 1} of ${this.call.name}`)
    return placeholder
  }
}
