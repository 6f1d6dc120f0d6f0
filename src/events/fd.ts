// File descriptors: opening, duplicating, closing, and what moves a file position.
import * as t from 'io-ts'
import { AbsPath, Inode, Nat, nullable } from './codecs.js'
import { Deleted } from './view.js'

/** open/openat/creat (and memfd_create) that succeeded. `flags` are Linux O_* bits (the native
 *  recorder adds O_DIRECTORY when the fd is a directory opened without it); `created` is null when
 *  unknown. `deleted`: the file has no name (O_TMPFILE, a memfd, an unlinked file opened again
 *  through /proc/PID/fd/N); `path` is what /proc shows for it, without the kernel's " (deleted)".
 *  `special`: what was opened is no regular file but a fifo, a socket or a device (`/dev/null`: an
 *  O_TRUNC open of it empties nothing), as the native recorder sees it; absent: a regular file or a
 *  directory, or not known (strace's importer). `mode`, `uid`, `gid`: the file's permission bits
 *  (07777) and owner as the open found or made them (the native recorder's fstat; absent: not known). */
export const FdOpen = t.intersection([
  t.type({
    kind: t.literal('fd.open'),
    fd: Nat,
    path: AbsPath,
    flags: Nat,
    inode: Inode,
    created: nullable(t.boolean),
  }),
  Deleted,
  t.partial({ special: t.keyof({ fifo: null, socket: null, char: null, block: null }), mode: Nat, uid: Nat, gid: Nat }),
])
export type FdOpen = t.TypeOf<typeof FdOpen>

/** dup/dup2/dup3/fcntl(F_DUPFD*): newFd refers to the same open file description as fd. */
export const FdDup = t.type({ kind: t.literal('fd.dup'), fd: Nat, newFd: Nat, cloexec: t.boolean })
export type FdDup = t.TypeOf<typeof FdDup>

export const FdClose = t.type({ kind: t.literal('fd.close'), fd: Nat })
export type FdClose = t.TypeOf<typeof FdClose>

/** close_range(first, last, flags); cloexecOnly is CLOSE_RANGE_CLOEXEC. */
export const FdCloseRange = t.type({
  kind: t.literal('fd.closeRange'),
  first: Nat,
  last: Nat,
  cloexecOnly: t.boolean,
})
export type FdCloseRange = t.TypeOf<typeof FdCloseRange>

/** fcntl(F_SETFL): the open file description's status flags are now `flags` (of SETFL_FLAGS; what
 *  matters to content is O_APPEND: later writes through any of its fds land at the end, or not). */
export const FdSetfl = t.type({ kind: t.literal('fd.setfl'), fd: Nat, flags: Nat })
export type FdSetfl = t.TypeOf<typeof FdSetfl>

/** fcntl(F_SETFD) or ioctl(FIOCLEX/FIONCLEX). */
export const FdCloexec = t.type({ kind: t.literal('fd.cloexec'), fd: Nat, on: t.boolean })
export type FdCloexec = t.TypeOf<typeof FdCloexec>

/** lseek: the open file description's position is now `pos`. */
export const FdSeek = t.type({ kind: t.literal('fd.seek'), fd: Nat, pos: Nat })
export type FdSeek = t.TypeOf<typeof FdSeek>

/** read/readv that returned len > 0: the position advances. */
export const FdRead = t.type({ kind: t.literal('fd.read'), fd: Nat, len: Nat })
export type FdRead = t.TypeOf<typeof FdRead>

export const fdCodecs = {
  'fd.open': FdOpen,
  'fd.dup': FdDup,
  'fd.close': FdClose,
  'fd.closeRange': FdCloseRange,
  'fd.cloexec': FdCloexec,
  'fd.seek': FdSeek,
  'fd.read': FdRead,
  'fd.setfl': FdSetfl,
} as const
