// The name space and whole-file operations: truncation, allocation, renames, links, directories,
// flushes. Relative paths resolve against a directory fd's -y path or the task's cwd.
import * as E from 'fp-ts/lib/Either.js'
import type { Body } from '../../../events/event.js'
import { PERMISSION_BITS, RENAME_EXCHANGE, S_IFBLK, S_IFCHR, S_IFMT, S_IFSOCK } from '../../../events/flags.js'
import { Args, type Parsed } from '../args.js'
import type { Call } from '../call.js'
import { draft, resolveAt, type Ctx } from '../context.js'
import { AT_EMPTY_PATH, AT_FLAGS, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, FALLOC_FLAGS, MODE_TYPES, PERMISSION_NAMES, RENAME_FLAGS } from '../flags.js'
import { fdName, readPathText, type FdRef } from '../values.js'

const none: Parsed = E.right([])

/** Resolve each (dirfd, path) pair, then build one body from the absolute paths. */
const withPaths = (a: Args, ctx: Ctx, pairs: ReadonlyArray<readonly [FdRef | null, string]>, make: (paths: string[]) => Body): Parsed =>
  a.done(() => {
    const paths: string[] = []
    for (const [dir, p] of pairs) {
      const abs = resolveAt(ctx, dir, p)
      if (E.isLeft(abs)) return abs
      paths.push(abs.right)
    }
    return [draft(ctx, make(paths))]
  })

export const parseTruncate = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  const size = a.nat(1)
  if (call.ret.kind !== 'ok') return none // a failed truncate left the file as it was
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.truncate', path: p, fd: null, size }))
}

export const parseFtruncate = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const size = a.nat(1)
  if (call.ret.kind !== 'ok') return none // a failed ftruncate left the file as it was
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'file.truncate', path: null, fd: fd.fd, size })]))
}

export const parseFallocate = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const mode = a.flags(1, FALLOC_FLAGS)
  const offset = a.nat(2)
  const len = a.nat(3)
  if (call.ret.kind !== 'ok') return none // a failed fallocate allocated nothing
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'file.allocate', fd: fd.fd, mode, offset, len })]))
}

const renamed = (call: Call, a: Args, ctx: Ctx, from: [FdRef | null, string], to: [FdRef | null, string], flags: number): Parsed => {
  if (call.ret.kind !== 'ok') return none // a failed rename moved nothing
  return withPaths(a, ctx, [from, to], ([f, t]) => {
    ctx.renamed(f, t, (flags & RENAME_EXCHANGE) !== 0) // a working directory it moved follows it
    return { kind: 'file.rename', from: f, to: t, flags }
  })
}

export const parseRename = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return renamed(call, a, ctx, [null, a.path(0)], [null, a.path(1)], 0)
}

export const parseRenameat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  return renamed(call, a, ctx, [a.fd(0), a.path(1)], [a.fd(2), a.path(3)], 0)
}

export const parseRenameat2 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const from: [FdRef, string] = [a.fd(0), a.path(1)]
  const to: [FdRef, string] = [a.fd(2), a.path(3)]
  return renamed(call, a, ctx, from, to, a.flags(4, RENAME_FLAGS))
}

export const parseUnlink = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  if (call.ret.kind !== 'ok') return none // a failed unlink removed nothing
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.unlink', path: p }))
}

export const parseUnlinkat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const dir = a.fd(0)
  const path = a.path(1)
  const flags = a.flags(2, AT_FLAGS)
  if (call.ret.kind !== 'ok') return none // a failed unlinkat removed nothing
  return withPaths(a, ctx, [[dir, path]], ([p]) => ((flags & AT_REMOVEDIR) !== 0 ? { kind: 'file.rmdir', path: p } : { kind: 'file.unlink', path: p }))
}

export const parseRmdir = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  if (call.ret.kind !== 'ok') return none // a failed rmdir removed nothing
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.rmdir', path: p }))
}

export const parseLink = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const from = a.path(0)
  const to = a.path(1)
  if (call.ret.kind !== 'ok') return none // a failed link made no name
  return withPaths(a, ctx, [[null, from], [null, to]], ([f, t]) => ({ kind: 'file.link', from: f, to: t }))
}

/** linkat(olddir, old, newdir, new, flags); with AT_EMPTY_PATH and "" it links the fd's file. */
export const parseLinkat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fromDir = a.fd(0)
  const from = a.path(1)
  const toDir = a.fd(2)
  const to = a.path(3)
  const flags = a.flags(4, AT_FLAGS)
  if (call.ret.kind !== 'ok') return none // a failed linkat made no name
  if (from === '' && (flags & AT_EMPTY_PATH) === 0) a.fail('empty path without AT_EMPTY_PATH in argument 2 of linkat')
  const follow = (flags & AT_SYMLINK_FOLLOW) !== 0 && from !== ''
  // by fd: the file it holds, which may have no name (O_TMPFILE)
  const byFd = from === '' && fromDir.fd !== null ? { fd: fromDir.fd } : {}
  return withPaths(a, ctx, [[fromDir, from], [toDir, to]], ([f, t]) => ({ kind: 'file.link', from: f, to: t, ...(follow ? { follow } : {}), ...byFd }))
}

/** The target of a symlink is stored as written, never resolved: it is data, not a name. */
export const parseSymlink = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const target = a.path(0)
  const path = a.path(1)
  if (call.ret.kind !== 'ok') return none // a failed symlink made no name
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.symlink', target, path: p }))
}

export const parseSymlinkat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const target = a.path(0)
  const dir = a.fd(1)
  const path = a.path(2)
  if (call.ret.kind !== 'ok') return none // a failed symlinkat made no name
  return withPaths(a, ctx, [[dir, path]], ([p]) => ({ kind: 'file.symlink', target, path: p }))
}

export const parseMkdir = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  a.nat(1)
  if (call.ret.kind !== 'ok') return none // a failed mkdir made no directory
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.mkdir', path: p }))
}

export const parseMkdirat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const dir = a.fd(0)
  const path = a.path(1)
  a.nat(2)
  if (call.ret.kind !== 'ok') return none // a failed mkdirat made no directory
  return withPaths(a, ctx, [[dir, path]], ([p]) => ({ kind: 'file.mkdir', path: p }))
}

// `makedev(0x1, 0x3)`: the device number as the kernel's 32-bit dev_t (what mknod(2) passes)
const MAKEDEV = /^makedev\((0x[0-9a-fA-F]+|[0-9]+), (0x[0-9a-fA-F]+|[0-9]+)\)$/
const readMakedev = (raw: string): E.Either<string, number> => {
  const m = MAKEDEV.exec(raw)
  if (m === null) return E.left(`bad device number ${JSON.stringify(raw)}`)
  const major = Number(m[1]), minor = Number(m[2])
  if (major > 0xfff || minor > 0xfffff) return E.left(`device number ${JSON.stringify(raw)} out of range`)
  return E.right(((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0)
}

/** mknod/mknodat: a fifo, a device node, a socket or an empty regular file (`mode` alone for the
 *  last two: strace shows a device number only for devices). */
const parseMknodAt = (call: Call, ctx: Ctx, first: number): Parsed => {
  const a = new Args(call)
  const dir = first === 0 ? null : a.fd(0)
  const path = a.path(first)
  const mode = a.flags(first + 1, MODE_TYPES)
  const type = mode & S_IFMT
  const rdev = type === S_IFCHR || type === S_IFBLK ? a.read(first + 2, readMakedev, 0) : 0
  if (call.ret.kind !== 'ok') return none // a failed mknod made nothing
  return withPaths(a, ctx, [[dir, path]], ([p]) => ({ kind: 'file.mknod', path: p, mode, rdev }))
}
export const parseMknod = (call: Call, ctx: Ctx): Parsed => parseMknodAt(call, ctx, 0)
export const parseMknodat = (call: Call, ctx: Ctx): Parsed => parseMknodAt(call, ctx, 1)

/** bind(2): a Unix socket bound to a name makes a socket node there (relative to the cwd); an
 *  abstract name (`@"..."`), an unnamed one and other families make none. */
export const parseBind = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  a.fd(0)
  const addr = a.struct(1)
  a.nat(2)
  const raw = addr.get('sun_path')
  if (call.ret.kind !== 'ok' || addr.get('sa_family') !== 'AF_UNIX' || raw === undefined || raw.startsWith('@')) return a.done(() => [])
  const path = a.field(addr, 'sun_path', readPathText, `${call.name}'s address`)
  if (path === undefined || path === '') return a.done(() => [])
  return withPaths(a, ctx, [[null, path]], ([p]) => ({ kind: 'file.mknod', path: p, mode: S_IFSOCK, rdev: 0 }))
}

/** chmod/fchmodat: the file a name leads to has these permission bits now (the call's: strace
 *  shows no stat; the kernel takes them as given, bar a set-group-ID bit it may clear). */
const parseChmodAt = (call: Call, ctx: Ctx, first: number): Parsed => {
  const a = new Args(call)
  const dir = first === 0 ? null : a.fd(0)
  const path = a.path(first)
  const mode = a.flags(first + 1, PERMISSION_NAMES) & PERMISSION_BITS
  if (call.ret.kind !== 'ok') return none // a failed chmod changed nothing
  return withPaths(a, ctx, [[dir, path]], ([p]) => ({ kind: 'file.chmod', path: p, mode }))
}
export const parseChmod = (call: Call, ctx: Ctx): Parsed => parseChmodAt(call, ctx, 0)
export const parseFchmodat = (call: Call, ctx: Ctx): Parsed => parseChmodAt(call, ctx, 1)

/** An event about the file an fd holds (fchmod, fchown), by the name strace shows for it (-y); one
 *  with no name left (unlinked) has none the fold could find it by. */
const byFdName = (a: Args, ctx: Ctx, call: Call, fd: FdRef, make: (path: string) => Body): Parsed => {
  if (call.ret.kind !== 'ok') return none
  return a.done(() => {
    const { path, deleted } = fdName(fd)
    if (deleted) return []
    if (path === null || !path.startsWith('/')) return E.left(`fd ${fd.fd ?? 'AT_FDCWD'} shows no path in argument 1 of ${call.name} (strace -y shows it)`)
    return [draft(ctx, make(path))]
  })
}

export const parseFchmod = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const mode = a.flags(1, PERMISSION_NAMES) & PERMISSION_BITS
  return byFdName(a, ctx, call, fd, (path) => ({ kind: 'file.chmod', path, mode }))
}

/** An owner or group argument: -1 leaves it as it is. */
const idArg = (a: Args, i: number): number | null => {
  const v = a.int(i)
  return v === -1 ? null : v
}

/** chown/lchown/fchownat: the owner and group of the file a name leads to (lchown and
 *  AT_SYMLINK_NOFOLLOW: of a symlink itself). */
const parseChownAt = (call: Call, ctx: Ctx, first: number, nofollow: boolean): Parsed => {
  const a = new Args(call)
  const dir = first === 0 ? null : a.fd(0)
  const path = a.path(first)
  const uid = idArg(a, first + 1)
  const gid = idArg(a, first + 2)
  const flags = first === 0 ? 0 : a.flags(first + 3, AT_FLAGS)
  if (call.ret.kind !== 'ok') return none // a failed chown changed nothing
  const own = nofollow || (flags & AT_SYMLINK_NOFOLLOW) !== 0
  return withPaths(a, ctx, [[dir, path]], ([p]) => ({ kind: 'file.chown', path: p, uid, gid, ...(own ? { nofollow: true } : {}) }))
}
export const parseChown = (call: Call, ctx: Ctx): Parsed => parseChownAt(call, ctx, 0, false)
export const parseLchown = (call: Call, ctx: Ctx): Parsed => parseChownAt(call, ctx, 0, true)
export const parseFchownat = (call: Call, ctx: Ctx): Parsed => parseChownAt(call, ctx, 1, false)

export const parseFchown = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  const uid = idArg(a, 1)
  const gid = idArg(a, 2)
  return byFdName(a, ctx, call, fd, (path) => ({ kind: 'file.chown', path, uid, gid }))
}

/** fsync/fdatasync: what was written through the fd is on disk now. */
export const parseFsync = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  if (call.ret.kind !== 'ok') return none // a failed fsync promises nothing
  return a.done(() => (fd.fd === null ? [] : [draft(ctx, { kind: 'file.flush', fd: fd.fd })]))
}
