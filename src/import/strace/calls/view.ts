// Memory-mapped views. Only maps of files become view.map; unmap/remap/protect are reported for
// every region, because strace cannot tell which ones are file-backed (the projection ignores the
// regions it never saw mapped).
import * as E from 'fp-ts/lib/Either.js'
import { Args, type Parsed } from '../args.js'
import type { Call } from '../call.js'
import { draft, type Ctx } from '../context.js'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FLAGS, MREMAP_FLAGS, MSYNC_FLAGS, PROT_FLAGS, mapShared } from '../flags.js'
import { fdName } from '../values.js'

const none: Parsed = E.right([])

/** A hint address: NULL or a number. */
const hint = (a: Args, i: number): void => {
  if (a.raw(i) !== 'NULL') a.nat(i)
}

export const parseMmap = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  hint(a, 0)
  const len = a.nat(1)
  const prot = a.flags(2, PROT_FLAGS)
  const flags = a.flags(3, MAP_FLAGS)
  const fd = a.fd(4)
  const offset = a.nat(5)
  if (call.ret.kind !== 'ok') return none // a failed mmap mapped nothing
  const addr = call.ret.value
  return a.done(() => {
    // Anonymous memory is no file's content; neither is a map of a device or a memfd. Put with
    // MAP_FIXED where a file view was, it replaces that view.
    const { path, deleted } = fdName(fd)
    if ((flags & MAP_ANONYMOUS) !== 0 || path === null || !ctx.isContent(fd)) return (flags & MAP_FIXED) !== 0 ? [draft(ctx, { kind: 'view.unmap', addr, len })] : []
    // a file unlinked since it was opened is mapped by no name: its old one may be another's now
    const map = { kind: 'view.map' as const, addr, len, prot, shared: mapShared(flags), path, inode: null, offset }
    return [draft(ctx, deleted ? { ...map, deleted: true } : map)]
  })
}

export const parseMunmap = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const addr = a.nat(0)
  const len = a.nat(1)
  if (call.ret.kind !== 'ok') return none // a failed munmap left the region mapped
  return a.done(() => [draft(ctx, { kind: 'view.unmap', addr, len })])
}

export const parseMremap = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const addr = a.nat(0)
  const len = a.nat(1)
  const newLen = a.nat(2)
  a.flags(3, MREMAP_FLAGS)
  if (a.length > 4) a.nat(4)
  if (call.ret.kind !== 'ok') return none // a failed mremap left the region where it was
  const newAddr = call.ret.value
  return a.done(() => [draft(ctx, { kind: 'view.remap', addr, len, newAddr, newLen })])
}

export const parseMprotect = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const addr = a.nat(0)
  const len = a.nat(1)
  const prot = a.flags(2, PROT_FLAGS)
  if (call.ret.kind !== 'ok') return none // a failed mprotect changed no protection
  return a.done(() => [draft(ctx, { kind: 'view.protect', addr, len, prot })])
}

/** madvise: MADV_REMOVE punches a hole in the files behind shared views; no other advice changes
 *  what the events describe, and its arguments are not read. */
export const parseMadvise = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  if (a.raw(2) !== 'MADV_REMOVE') return a.done(() => [])
  const addr = a.nat(0)
  const len = a.nat(1)
  if (call.ret.kind !== 'ok') return none // a failed madvise freed nothing
  return a.done(() => [draft(ctx, { kind: 'view.remove', addr, len })])
}

/** msync writes a shared view back, but strace shows neither the bytes nor the file: nothing to
 *  report that the projection could use (the view's content is not observed through strace). */
export const parseMsync = (call: Call, _ctx: Ctx): Parsed => {
  const a = new Args(call)
  a.nat(0)
  a.nat(1)
  a.flags(2, MSYNC_FLAGS)
  return a.done(() => [])
}
