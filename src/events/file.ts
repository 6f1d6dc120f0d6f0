// File content and the name space. Events with bytes (`len`/`known`) keep them in the journal's
// payload store under the event's (guest, seq): `known` bytes were seen, the rest of `len` were not.
import * as t from 'io-ts'
import { AbsPath, Inode, Nat, nullable } from './codecs.js'

const bytes = { len: Nat, known: Nat }

/** write/pwrite/writev/copy_file_range/sendfile/splice into a file. offset null: at the fd's position
 *  (or at the end for O_APPEND). `len` is the return value. `append`: pwritev2's RWF_APPEND, at the
 *  end whatever the offset and the fd's flags (the position moves only where offset is null). */
export const FileWrite = t.intersection([
  t.type({ kind: t.literal('file.write'), fd: Nat, offset: nullable(Nat), ...bytes }),
  t.partial({ append: t.boolean }),
])
export type FileWrite = t.TypeOf<typeof FileWrite>

/** truncate(path) or ftruncate(fd): exactly one of path/fd is set. */
export const FileTruncate = t.type({
  kind: t.literal('file.truncate'),
  path: nullable(AbsPath),
  fd: nullable(Nat),
  size: Nat,
})
export type FileTruncate = t.TypeOf<typeof FileTruncate>

/** A reflink (ioctl FICLONE, FICLONERANGE: XFS, btrfs): [destOffset, destOffset+len) of fd's file
 *  now holds what [srcOffset, srcOffset+len) of srcFd's file holds; len 0 is the rest of the source
 *  (FICLONE: srcOffset and destOffset 0). The strace importer's: strace shows no bytes, and the fold
 *  shares the source's (the interceptor reads them back instead, a file.write). */
export const FileClone = t.type({ kind: t.literal('file.clone'), fd: Nat, srcFd: Nat, srcOffset: Nat, len: Nat, destOffset: Nat })
export type FileClone = t.TypeOf<typeof FileClone>

/** fallocate(fd, mode, offset, len). mode bits as Linux FALLOC_FL_*. */
export const FileAllocate = t.type({
  kind: t.literal('file.allocate'),
  fd: Nat,
  mode: Nat,
  offset: Nat,
  len: Nat,
})
export type FileAllocate = t.TypeOf<typeof FileAllocate>

/** rename/renameat/renameat2; flags: RENAME_NOREPLACE=1, RENAME_EXCHANGE=2. `type`: what `to` names
 *  after the call (the interceptor's lstat): what moved, so a source eyrie never saw (a directory
 *  that existed before) is one of that type; absent: not known (strace's importer). */
export const FileRename = t.intersection([
  t.type({ kind: t.literal('file.rename'), from: AbsPath, to: AbsPath, flags: Nat }),
  t.partial({ type: t.keyof({ file: null, dir: null, symlink: null, fifo: null, socket: null, char: null, block: null }) }),
])
export type FileRename = t.TypeOf<typeof FileRename>

export const FileUnlink = t.type({ kind: t.literal('file.unlink'), path: AbsPath })
export type FileUnlink = t.TypeOf<typeof FileUnlink>

/** link/linkat: `to` names the file `from` names, a symlink itself; with `follow` (linkat's
 *  AT_SYMLINK_FOLLOW, where the source did not resolve `from` itself: strace) the file it leads to;
 *  with `inode` that file, or with `fd` the file the caller holds open there (linkat AT_EMPTY_PATH),
 *  which may have no name (O_TMPFILE, unlinked: `from` is what /proc showed). */
export const FileLink = t.intersection([
  t.type({ kind: t.literal('file.link'), from: AbsPath, to: AbsPath }),
  t.partial({ follow: t.boolean, inode: t.string, fd: Nat }),
])
export type FileLink = t.TypeOf<typeof FileLink>

export const FileSymlink = t.type({ kind: t.literal('file.symlink'), target: t.string, path: AbsPath })
export type FileSymlink = t.TypeOf<typeof FileSymlink>

/** mknod/mknodat, and bind(2) of a Unix socket to a name: a node that is no directory and no
 *  symlink, made with no open. `mode` as the call gave it (S_IFMT bits say which: fifo, socket,
 *  character or block device, or 0 / S_IFREG an empty regular file; permissions before the umask,
 *  none for a socket), `rdev` a device node's number as the kernel's 32-bit dev_t, else 0. */
export const FileMknod = t.type({ kind: t.literal('file.mknod'), path: AbsPath, mode: Nat, rdev: Nat })
export type FileMknod = t.TypeOf<typeof FileMknod>

/** `mode`, `uid`, `gid`: the new directory's permission bits (07777) and owner as the kernel made
 *  them (the call's mode less the umask), where the source saw them (the interceptor stats it) */
export const FileMkdir = t.intersection([t.type({ kind: t.literal('file.mkdir'), path: AbsPath }), t.partial({ mode: Nat, uid: Nat, gid: Nat })])
export type FileMkdir = t.TypeOf<typeof FileMkdir>

export const FileRmdir = t.type({ kind: t.literal('file.rmdir'), path: AbsPath })
export type FileRmdir = t.TypeOf<typeof FileRmdir>

/** fsync/fdatasync/sync_file_range: the file's bytes so far are on disk. */
export const FileFlush = t.type({ kind: t.literal('file.flush'), fd: Nat })
export type FileFlush = t.TypeOf<typeof FileFlush>

/** chmod/fchmodat/fchmodat2, or a change made through a descriptor (fchmod) seen when it is
 *  closed, or what the interceptor saw of a node no other event says it of (made by mknod, bind or
 *  symlink; an fd from elsewhere): the file's permission bits (07777) are now `mode` (the
 *  interceptor's: what a stat says; the strace importer's: the call's argument). By `inode` when the source knew it,
 *  as file.sync; `path` follows symlinks, as chmod does. */
export const FileChmod = t.intersection([t.type({ kind: t.literal('file.chmod'), path: AbsPath, mode: Nat }), t.partial({ inode: Inode })])
export type FileChmod = t.TypeOf<typeof FileChmod>

/** chown/fchownat/lchown, or a change made through a descriptor (fchown) seen when it is closed, or
 *  an observation as file.chmod's:
 *  the file's owner is now `uid`, its group `gid` (null: not changed, as strace shows the call's -1;
 *  the interceptor's are what a stat says after the call). By `inode` as file.chmod; `nofollow`
 *  (lchown, AT_SYMLINK_NOFOLLOW): `path` names a symlink itself, not what it leads to. */
export const FileChown = t.intersection([
  t.type({ kind: t.literal('file.chown'), path: AbsPath, uid: nullable(Nat), gid: nullable(Nat) }),
  t.partial({ inode: Inode, nofollow: t.boolean }),
])
export type FileChown = t.TypeOf<typeof FileChown>

/** Introspection: the file at `path` held these bytes at `offset` (a pre-image, a snapshot read).
 *  size, when known, is the whole file's size at that moment. */
export const FileObserve = t.type({
  kind: t.literal('file.observe'),
  path: AbsPath,
  inode: Inode,
  offset: Nat,
  size: nullable(Nat),
  ...bytes,
})
export type FileObserve = t.TypeOf<typeof FileObserve>

/** The file's content as read at an observation point (the interceptor does not stop at writes to
 *  files it can read back): the file is `size` bytes long and [offset, offset+len) holds these
 *  bytes. One reading of a file may come as several records, each for a run of changed pages. */
export const FileSync = t.type({
  kind: t.literal('file.sync'),
  path: AbsPath,
  inode: Inode,
  size: Nat,
  offset: Nat,
  ...bytes,
})
export type FileSync = t.TypeOf<typeof FileSync>

/** An infected file moved into quarantine (`to`); `copied`: it had no name to move (a memfd, an
 *  unlinked file, `path` is /proc/PID/fd/N of its holder), so its bytes were copied there. */
export const FileQuarantine = t.intersection([
  t.type({ kind: t.literal('file.quarantine'), path: AbsPath, id: t.string, to: AbsPath }),
  t.partial({ copied: t.boolean }),
])
export type FileQuarantine = t.TypeOf<typeof FileQuarantine>

export const fileCodecs = {
  'file.write': FileWrite,
  'file.truncate': FileTruncate,
  'file.allocate': FileAllocate,
  'file.clone': FileClone,
  'file.rename': FileRename,
  'file.unlink': FileUnlink,
  'file.link': FileLink,
  'file.symlink': FileSymlink,
  'file.mkdir': FileMkdir,
  'file.mknod': FileMknod,
  'file.rmdir': FileRmdir,
  'file.flush': FileFlush,
  'file.observe': FileObserve,
  'file.quarantine': FileQuarantine,
  'file.sync': FileSync,
  'file.chmod': FileChmod,
  'file.chown': FileChown,
} as const
