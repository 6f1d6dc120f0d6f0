// Linux ABI constants that events carry as numbers (x86_64/generic values).
export const O_ACCMODE = 0o3
export const O_RDONLY = 0
export const O_WRONLY = 0o1
export const O_RDWR = 0o2
export const O_CREAT = 0o100
export const O_EXCL = 0o200
export const O_TRUNC = 0o1000
export const O_APPEND = 0o2000
export const O_DIRECTORY = 0o200000
export const O_CLOEXEC = 0o2000000
export const O_PATH = 0o10000000
export const O_TMPFILE = 0o20000000 | O_DIRECTORY
/** The status flags fcntl(F_SETFL) sets on an open file description (O_APPEND, O_ASYNC, O_DIRECT,
 *  O_NOATIME, O_NONBLOCK); the others it ignores. */
export const SETFL_FLAGS = O_APPEND | 0o20000 | 0o40000 | 0o1000000 | 0o4000

export const PROT_READ = 1
export const PROT_WRITE = 2
export const PROT_EXEC = 4

export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2

export const FALLOC_FL_KEEP_SIZE = 0x01
export const FALLOC_FL_PUNCH_HOLE = 0x02
export const FALLOC_FL_COLLAPSE_RANGE = 0x08
export const FALLOC_FL_ZERO_RANGE = 0x10
export const FALLOC_FL_INSERT_RANGE = 0x20

export const writable = (flags: number): boolean => (flags & O_ACCMODE) !== O_RDONLY

/** st_mode's file type bits (S_IFMT) for the nodes mknod and bind make. */
export const S_IFMT = 0o170000
export const S_IFSOCK = 0o140000
export const S_IFREG = 0o100000
export const S_IFBLK = 0o060000
export const S_IFCHR = 0o020000
export const S_IFIFO = 0o010000

/** What mknod(2) makes of a mode: 0 is a regular file, as S_IFREG; undefined for a type it refuses. */
export const madeByMknod = (mode: number): 'file' | 'fifo' | 'socket' | 'char' | 'block' | undefined => {
  switch (mode & S_IFMT) {
    case 0:
    case S_IFREG: return 'file'
    case S_IFIFO: return 'fifo'
    case S_IFSOCK: return 'socket'
    case S_IFCHR: return 'char'
    case S_IFBLK: return 'block'
    default: return undefined
  }
}

/** st_mode's permission bits: set-user-ID, set-group-ID, sticky, then rwx for user, group, other. */
export const PERMISSION_BITS = 0o7777
export const S_ISUID = 0o4000
export const S_ISGID = 0o2000
export const S_ISVTX = 0o1000
export const S_IXGRP = 0o010
