// Opening, duplicating, closing and moving file descriptors.
import * as E from 'fp-ts/lib/Either.js'
import { O_CLOEXEC, O_CREAT, O_EXCL, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY, SETFL_FLAGS } from '../../../events/flags.js'
import { DELETED_SUFFIX, nameFromBytes, withoutDeleted } from '../../../events/names.js'
import { Args, type Parsed } from '../args.js'
import type { Call } from '../call.js'
import { draft, resolveAt, seeCwd, type Ctx } from '../context.js'
import { CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_FLAGS, FD_FLAGS, MFD_CLOEXEC, MFD_FLAGS, OPEN_FLAGS } from '../flags.js'
import { readFd, readFlags, readNat, show, type FdRef } from '../values.js'

const none: Parsed = E.right([])

/** The fd.open of a successful open*: the path -y shows for the new fd is the kernel's canonical
 *  name (symlinks followed); the argument, resolved, is the fallback when -y shows none. */
const opened = (call: Call, a: Args, ctx: Ctx, dir: FdRef | null, path: string, flags: number): Parsed =>
  a.done(() => {
    seeCwd(ctx, dir)
    if (call.ret.kind !== 'ok') return [] // a failed open creates no descriptor
    const shown = call.ret.fd?.path
    // a file with no name (O_TMPFILE: "dir/#INO", or one unlinked before the open returned): strace
    // shows the kernel's " (deleted)" after the decoration (6.1) or inside it
    const deleted = call.ret.fd?.deleted === true || shown?.endsWith(DELETED_SUFFIX) === true
    const where = shown !== undefined && shown !== null && shown.startsWith('/') ? E.right(withoutDeleted(shown)) : resolveAt(ctx, dir, path)
    if (E.isLeft(where)) return where
    const created = (flags & O_TMPFILE) === O_TMPFILE || (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL) ? true : null
    const open = { kind: 'fd.open' as const, fd: call.ret.value, path: where.right, flags, inode: null, created }
    return [draft(ctx, deleted ? { ...open, deleted: true } : open)]
  })

/** memfd_create(name, flags): a new file with no name, open for reading and writing. */
export const parseMemfdCreate = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const name = a.string(0)
  const flags = a.flags(1, MFD_FLAGS, (f) => f.startsWith('MFD_HUGE_'))
  if (call.ret.kind !== 'ok') return none // a failed memfd_create made nothing
  const shown = call.ret.fd?.path
  const path = shown !== undefined && shown !== null && shown.startsWith('/') ? withoutDeleted(shown) : `/memfd:${nameFromBytes(name.bytes)}`
  const open = { kind: 'fd.open' as const, fd: call.ret.value, path, flags: O_RDWR | ((flags & MFD_CLOEXEC) !== 0 ? O_CLOEXEC : 0), inode: null, created: true, deleted: true }
  return a.done(() => [draft(ctx, open)])
}

/** open_by_handle_at(mount_fd, handle, flags) opens a file by a handle, and strace names no file for
 *  the fd it returns (6.1, -y): what follows on that fd cannot be placed. Said, not guessed. */
export const parseOpenByHandleAt = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  a.fd(0)
  a.struct(1)
  const flags = a.flags(2, OPEN_FLAGS)
  const shown = call.ret.kind === 'ok' ? call.ret.fd?.path : null
  // a strace that names it: an open of that (existing) file
  if (shown !== undefined && shown !== null && shown.startsWith('/')) return opened(call, a, ctx, null, '', flags)
  if (call.ret.kind === 'ok') a.fail(`open_by_handle_at opened fd ${call.ret.value} by a file handle, and strace names no file for it: its writes cannot be placed (eyrie record follows it)`)
  return a.done(() => [])
}

export const parseOpen = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return opened(call, a, ctx, null, a.path(0), a.flags(1, OPEN_FLAGS))
}

export const parseOpenat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return opened(call, a, ctx, a.fd(0), a.path(1), a.flags(2, OPEN_FLAGS))
}

export const parseOpenat2 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const dir = a.fd(0)
  const path = a.path(1)
  const how = a.struct(2)
  const flagsText = how.get('flags')
  if (flagsText === undefined && call.ret.kind === 'ok') a.fail('missing flags in argument 3 of openat2')
  const flags = flagsText === undefined ? E.right(0) : readFlags(flagsText, OPEN_FLAGS)
  if (E.isLeft(flags)) a.fail(`${flags.left} in argument 3 of openat2`)
  return opened(call, a, ctx, dir, path, E.isRight(flags) ? flags.right : 0)
}

/** creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
export const parseCreat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return opened(call, a, ctx, null, a.path(0), O_CREAT | O_WRONLY | O_TRUNC)
}

export const parseClose = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  // A close that failed with anything but EBADF still released the fd (Linux frees it before
  // flushing); a task that never came back (`?`) tells nothing.
  if (call.ret.kind === 'unknown') return none
  if (call.ret.kind === 'failed' && call.ret.errno === 'EBADF') return none
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'fd.close', fd: fd.fd })]))
}

export const parseCloseRange = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const first = a.nat(0)
  const last = a.nat(1)
  const flags = a.flags(2, CLOSE_RANGE_FLAGS)
  if (call.ret.kind !== 'ok') return none // a failed close_range closed nothing
  return a.done(() => [draft(ctx, { kind: 'fd.closeRange', first, last, cloexecOnly: (flags & CLOSE_RANGE_CLOEXEC) !== 0 })])
}

const duplicated = (call: Call, a: Args, ctx: Ctx, fd: FdRef, cloexec: boolean): Parsed =>
  a.done(() => {
    if (call.ret.kind !== 'ok') return [] // a failed dup made no new fd
    if (fd.fd === null || fd.fd < 0) return []
    // dup2(fd, fd) is a no-op that leaves the close-on-exec flag alone.
    if (call.ret.value === fd.fd) return []
    return [draft(ctx, { kind: 'fd.dup', fd: fd.fd, newFd: call.ret.value, cloexec })]
  })

export const parseDup = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return duplicated(call, a, ctx, a.fd(0), false)
}

export const parseDup2 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  a.fd(1)
  return duplicated(call, a, ctx, fd, false)
}

export const parseDup3 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  a.fd(1)
  const flags = a.flags(2, OPEN_FLAGS)
  return duplicated(call, a, ctx, fd, (flags & O_CLOEXEC) !== 0)
}

export const parseFcntl = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const cmd = a.raw(1)
  if (cmd === 'F_DUPFD' || cmd === 'F_DUPFD_CLOEXEC') {
    a.count(2)
    return duplicated(call, a, ctx, fd, cmd === 'F_DUPFD_CLOEXEC')
  }
  if (cmd === 'F_SETFL') {
    const flags = a.flags(2, OPEN_FLAGS) & SETFL_FLAGS
    if (call.ret.kind !== 'ok') return none // a failed F_SETFL left the flags as they were
    return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'fd.setfl', fd: fd.fd, flags })]))
  }
  if (cmd === 'F_SETFD') {
    const on = (a.flags(2, FD_FLAGS) & 1) !== 0
    if (call.ret.kind !== 'ok') return none // a failed F_SETFD left the flag as it was
    return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'fd.cloexec', fd: fd.fd, on })]))
  }
  // Other commands (locks, F_GETFL, ...) change nothing the events describe.
  if (!/^F_[A-Z0-9_]+$/.test(cmd) && !/^[0-9]+$/.test(cmd)) a.fail(`unknown fcntl command ${show(cmd)} in argument 2 of fcntl`)
  return a.done(() => [])
}

/** ioctl requests that make a file the backing of a loop device (losetup, mount -o loop). */
const LOOP_ATTACH: ReadonlySet<string> = new Set(['LOOP_SET_FD', 'LOOP_CHANGE_FD', 'LOOP_CONFIGURE'])

/** ioctl: FIOCLEX/FIONCLEX set and clear close-on-exec (Python's os.set_inheritable, subprocess's
 *  pass_fds); FICLONE/FICLONERANGE clone another file's bytes into the fd's (cp on XFS and btrfs);
 *  a loop attach is refused (LOOP_ATTACH); no other request changes what the events describe, and
 *  its arguments are not read. */
export const parseIoctl = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const request = a.raw(1)
  // strace names a request by every name it has: "BTRFS_IOC_CLONE or FICLONE"
  const names = request.split(' or ')
  if (names.includes('FICLONE') || names.includes('FICLONERANGE')) return parseClone(call, a, ctx, names.includes('FICLONERANGE'))
  const loop = names.find((n) => LOOP_ATTACH.has(n))
  if (loop !== undefined && call.ret.kind === 'ok') {
    // the file now backs a loop device: what is written to the device changes it, by no call strace
    // shows (the interceptor reads such a file back: src/native/deferred.cc)
    a.fail(`ioctl ${loop} made a file back a loop device: writes through the device change it with no call strace shows, so its content cannot be followed (eyrie record reads it back)`)
  }
  if (request !== 'FIOCLEX' && request !== 'FIONCLEX') return a.done(() => [])
  const fd = a.fd(0)
  if (call.ret.kind !== 'ok') return none // a failed ioctl left the flag as it was
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'fd.cloexec', fd: fd.fd, on: request === 'FIOCLEX' })]))
}

/** ioctl(dest, FICLONE, src) and ioctl(dest, FICLONERANGE, {src_fd, src_offset, src_length, dest_offset}). */
const parseClone = (call: Call, a: Args, ctx: Ctx, range: boolean): Parsed => {
  const dest = a.fd(0)
  let clone = { srcFd: -1, srcOffset: 0, len: 0, destOffset: 0 }
  if (!range) clone.srcFd = a.fd(2).fd ?? -1
  else {
    const s = a.struct(2)
    const field = (name: string, read: (raw: string) => E.Either<string, number>): number => a.field(s, name, read, 'argument 3 of ioctl FICLONERANGE') ?? 0
    clone = {
      srcFd: field('src_fd', (raw) => E.map((f: FdRef) => f.fd ?? -1)(readFd(raw))),
      srcOffset: field('src_offset', readNat), len: field('src_length', readNat), destOffset: field('dest_offset', readNat),
    }
  }
  if (call.ret.kind !== 'ok') return none // a failed clone changed nothing
  return a.done(() => (dest.fd === null || clone.srcFd < 0 ? [] : [draft(ctx, { kind: 'file.clone', fd: dest.fd, ...clone })]))
}

export const parseLseek = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  a.count(1)
  if (call.ret.kind !== 'ok') return none // a failed lseek left the position alone
  const pos = call.ret.value
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'fd.seek', fd: fd.fd, pos })]))
}

/** read/readv: only the position moves; the bytes read are not state. */
export const parseRead = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  if (call.ret.kind !== 'ok' || call.ret.value === 0) return none // nothing read, nothing moved
  const len = call.ret.value
  return a.done(() => (fd.fd === null || !ctx.isContent(fd) ? [] : [draft(ctx, { kind: 'fd.read', fd: fd.fd, len })]))
}
