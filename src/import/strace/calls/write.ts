// Writes into files: the bytes strace shows become the draft's data. A write's `len` is its return
// value; `known` counts only the bytes strace showed, in order from the start of the write, so a
// truncated buffer leaves an unknown tail rather than a guess.
import * as E from 'fp-ts/lib/Either.js'
import type { Draft } from '../../../events/event.js'
import { Args, type Parsed } from '../args.js'
import type { Call } from '../call.js'
import { draft, type Ctx } from '../context.js'
import { RWF_APPEND, RWF_FLAGS, SPLICE_FLAGS } from '../flags.js'
import { readArray, readFd, readNat, readString, readStruct, show, type FdRef, type Shown } from '../values.js'

const none: Parsed = E.right([])

/** The file.write of a successful write of `len` bytes whose first bytes are `shown`; `append`:
 *  RWF_APPEND's, at the end. */
const written = (ctx: Ctx, fd: FdRef, offset: number | null, len: number, shown: Uint8Array, append = false): Draft[] => {
  if (fd.fd === null || len === 0 || !ctx.isContent(fd)) return []
  const data = shown.length > len ? shown.subarray(0, len) : shown
  const body = { kind: 'file.write' as const, fd: fd.fd, offset, len, known: data.length }
  return [draft(ctx, append ? { ...body, append } : body, data)]
}

export const parseWrite = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const buf = a.string(1)
  a.count(2)
  if (call.ret.kind !== 'ok') return none // a failed write wrote nothing
  const len = call.ret.value
  return a.done(() => written(ctx, fd, null, len, buf.bytes))
}

export const parsePwrite64 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const buf = a.string(1)
  a.count(2)
  const offset = a.nat(3)
  if (call.ret.kind !== 'ok') return none // a failed pwrite wrote nothing
  const len = call.ret.value
  return a.done(() => written(ctx, fd, offset, len, buf.bytes))
}

/** The bytes of an iovec array, from the start, up to the first one strace did not show whole. */
const gatherItems = (items: readonly string[]): E.Either<string, Uint8Array> => {
  const chunks: Uint8Array[] = []
  for (const item of items) {
    const iov = readStruct(item)
    if (E.isLeft(iov)) return iov
    const base = iov.right.get('iov_base')
    const lenText = iov.right.get('iov_len')
    const shown: E.Either<string, Shown> = base === undefined ? E.left('missing iov_base') : readString(base)
    const len = lenText === undefined ? E.left('missing iov_len') : readNat(lenText)
    if (E.isLeft(shown)) return shown
    if (E.isLeft(len)) return len
    chunks.push(shown.right.bytes.subarray(0, len.right))
    // Bytes after a cut-short buffer would land at unknown offsets: the known prefix ends here.
    if (shown.right.truncated || shown.right.bytes.length < len.right) break
  }
  return E.right(concat(chunks))
}

/** The length of an iovec array: its iov_len summed, buffers shown whole or not. */
const iovTotal = (raw: string): E.Either<string, number> => {
  const arr = readArray(raw)
  if (E.isLeft(arr)) return arr
  let total = 0
  for (const item of arr.right.items) {
    const len = E.chain((iov: ReadonlyMap<string, string>) => readNat(iov.get('iov_len') ?? ''))(readStruct(item))
    if (E.isLeft(len)) return len
    total += len.right
  }
  return E.right(total)
}

const gather = (a: Args, i: number): Uint8Array => {
  const bytes = gatherItems(a.array(i).items)
  if (E.isRight(bytes)) return bytes.right
  a.fail(`${bytes.left} in argument ${i + 1} of ${a.call.name}`)
  return new Uint8Array(0)
}

const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

export const parseWritev = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const bytes = gather(a, 1)
  a.count(2)
  if (call.ret.kind !== 'ok') return none // a failed writev wrote nothing
  const len = call.ret.value
  return a.done(() => written(ctx, fd, null, len, bytes))
}

export const parsePwritev = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const bytes = gather(a, 1)
  a.count(2)
  const offset = a.nat(3)
  if (call.ret.kind !== 'ok') return none // a failed pwritev wrote nothing
  const len = call.ret.value
  return a.done(() => written(ctx, fd, offset, len, bytes))
}

export const parsePwritev2 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const bytes = gather(a, 1)
  a.count(2)
  const off = a.int(3)
  const flags = a.length > 4 ? a.flags(4, RWF_FLAGS) : 0
  if (call.ret.kind !== 'ok') return none // a failed pwritev2 wrote nothing
  const len = call.ret.value
  // Offset -1 writes at the fd's position like writev; RWF_APPEND at the end whatever the offset
  const offset = off === -1 ? null : off
  if (off < -1) a.fail(`negative offset ${off} in argument 4 of pwritev2`)
  return a.done(() => written(ctx, fd, offset, len, bytes, (flags & RWF_APPEND) !== 0))
}

/** An `loff_t *` argument: NULL (use and move the fd's position) or `[N]` / `[N] => [M]`. */
const offsetPointer = (a: Args, i: number): number | null => {
  const raw = a.raw(i)
  if (raw === 'NULL') return null
  const m = /^\[([0-9]+)\](?:\s*=>\s*\[[0-9]+\])?$/.exec(raw)
  if (m === null) {
    a.fail(`bad offset pointer ${show(raw)} in argument ${i + 1} of ${a.call.name}`)
    return 0
  }
  return Number(m[1])
}

/** Bytes moved inside the kernel: strace never sees them, so the write is all unknown (known = 0),
 *  which is not the same as zeros. An input used at its own position moves like a read. */
const copied = (ctx: Ctx, from: FdRef, fromOffset: number | null, to: FdRef, toOffset: number | null, len: number): Draft[] => {
  const moved = from.fd !== null && fromOffset === null && ctx.isContent(from) ? [draft(ctx, { kind: 'fd.read', fd: from.fd, len })] : []
  return [...moved, ...written(ctx, to, toOffset, len, new Uint8Array(0))]
}

export const parseCopyFileRange = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const from = a.fd(0)
  const fromOffset = offsetPointer(a, 1)
  const to = a.fd(2)
  const toOffset = offsetPointer(a, 3)
  a.count(4)
  if (call.ret.kind !== 'ok' || call.ret.value === 0) return none // nothing copied
  const len = call.ret.value
  return a.done(() => copied(ctx, from, fromOffset, to, toOffset, len))
}

export const parseSplice = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const from = a.fd(0)
  const fromOffset = offsetPointer(a, 1)
  const to = a.fd(2)
  const toOffset = offsetPointer(a, 3)
  a.count(4)
  a.flags(5, SPLICE_FLAGS)
  if (call.ret.kind !== 'ok' || call.ret.value === 0) return none // nothing spliced
  const len = call.ret.value
  return a.done(() => copied(ctx, from, fromOffset, to, toOffset, len))
}

/** sendfile(out, in, offset, count): the offset pointer belongs to the input; the output always
 *  writes at its own position. */
export const parseSendfile = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const to = a.fd(0)
  const from = a.fd(1)
  const fromOffset = offsetPointer(a, 2)
  a.count(3)
  if (call.ret.kind !== 'ok' || call.ret.value === 0) return none // nothing sent
  const len = call.ret.value
  return a.done(() => copied(ctx, from, fromOffset, to, null, len))
}

/** io_submit(ctx, nr, iocbs): Linux AIO. Its first `ret` iocbs went in; each IOCB_CMD_PWRITE or
 *  PWRITEV is a write at its offset (journaled at the submission, as the interceptor does:
 *  src/native/aio.cc). Reads and syncs change nothing. */
export const parseIoSubmit = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const iocbs = a.array(2)
  if (call.ret.kind !== 'ok' || call.ret.value <= 0) return a.done(() => [])
  const submitted = call.ret.value
  if (iocbs.items.length < submitted) a.fail(`io_submit put in ${submitted} iocb(s) and strace showed ${iocbs.items.length}`)
  const out: Draft[] = []
  for (const [k, item] of iocbs.items.slice(0, submitted).entries()) {
    const cb = readStruct(item)
    if (E.isLeft(cb)) {
      a.fail(`${cb.left} in iocb ${k} of io_submit`)
      break
    }
    const op = cb.right.get('aio_lio_opcode')
    if (op !== 'IOCB_CMD_PWRITE' && op !== 'IOCB_CMD_PWRITEV') continue
    const field = <T>(name: string, read: (raw: string) => E.Either<string, T>): T | undefined => a.field(cb.right, name, read, `iocb ${k} of io_submit`)
    const fd = field('aio_fildes', readFd)
    const offset = field('aio_offset', readNat)
    const append = (cb.right.get('aio_rw_flags') ?? '').split('|').includes('RWF_APPEND')
    const bytes = op === 'IOCB_CMD_PWRITE'
      ? field('aio_buf', (raw) => E.map((s: Shown) => s.bytes)(readString(raw)))
      : field('aio_buf', (raw) => E.chain((items: { items: string[] }) => gatherItems(items.items))(readArray(raw)))
    // PWRITEV shows no aio_nbytes (its iovec count): its length is the iovecs'
    const len = op === 'IOCB_CMD_PWRITE' ? field('aio_nbytes', readNat) : field('aio_buf', iovTotal)
    if (fd === undefined || offset === undefined || bytes === undefined || len === undefined) break
    out.push(...written(ctx, fd, offset, len, bytes, append))
  }
  return a.done(() => out)
}
