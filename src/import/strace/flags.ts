// Symbolic constants as strace prints them, with their x86_64 values. The open flags that events
// carry come from src/events/flags.ts; the rest are only needed to read strace's text.
import {
  O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_PATH, O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY,
  PROT_EXEC, PROT_READ, PROT_WRITE, RENAME_EXCHANGE, RENAME_NOREPLACE,
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK,
  S_ISGID, S_ISUID, S_ISVTX,
} from '../../events/flags.js'

export type FlagTable = ReadonlyMap<string, number>

const O_DSYNC = 0o10000
export const OPEN_FLAGS: FlagTable = new Map([
  ['O_RDONLY', O_RDONLY], ['O_WRONLY', O_WRONLY], ['O_RDWR', O_RDWR],
  ['O_CREAT', O_CREAT], ['O_EXCL', O_EXCL], ['O_NOCTTY', 0o400], ['O_TRUNC', O_TRUNC],
  ['O_APPEND', O_APPEND], ['O_NONBLOCK', 0o4000], ['O_NDELAY', 0o4000], ['O_DSYNC', O_DSYNC],
  ['O_ASYNC', 0o20000], ['FASYNC', 0o20000], ['O_DIRECT', 0o40000], ['O_LARGEFILE', 0o100000],
  ['O_DIRECTORY', O_DIRECTORY], ['O_NOFOLLOW', 0o400000], ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', O_CLOEXEC], ['__O_SYNC', 0o4000000], ['O_SYNC', 0o4000000 | O_DSYNC],
  ['O_RSYNC', 0o4000000 | O_DSYNC], ['O_PATH', O_PATH], ['__O_TMPFILE', 0o20000000], ['O_TMPFILE', O_TMPFILE],
])

export const PROT_FLAGS: FlagTable = new Map([
  ['PROT_NONE', 0], ['PROT_READ', PROT_READ], ['PROT_WRITE', PROT_WRITE], ['PROT_EXEC', PROT_EXEC],
  ['PROT_SEM', 0x8], ['PROT_GROWSDOWN', 0x01000000], ['PROT_GROWSUP', 0x02000000],
])

export const MAP_SHARED = 0x01
export const MAP_SHARED_VALIDATE = 0x03
const MAP_TYPE = 0x0f
export const MAP_ANONYMOUS = 0x20
export const MAP_FIXED = 0x10
export const MAP_FLAGS: FlagTable = new Map([
  ['MAP_SHARED', MAP_SHARED], ['MAP_PRIVATE', 0x02], ['MAP_SHARED_VALIDATE', MAP_SHARED_VALIDATE],
  ['MAP_FIXED', MAP_FIXED], ['MAP_ANONYMOUS', MAP_ANONYMOUS], ['MAP_ANON', MAP_ANONYMOUS], ['MAP_32BIT', 0x40],
  ['MAP_GROWSDOWN', 0x100], ['MAP_DENYWRITE', 0x800], ['MAP_EXECUTABLE', 0x1000], ['MAP_LOCKED', 0x2000],
  ['MAP_NORESERVE', 0x4000], ['MAP_POPULATE', 0x8000], ['MAP_NONBLOCK', 0x10000], ['MAP_STACK', 0x20000],
  ['MAP_HUGETLB', 0x40000], ['MAP_SYNC', 0x80000], ['MAP_FIXED_NOREPLACE', 0x100000],
  ['MAP_UNINITIALIZED', 0x4000000],
])
/** MAP_SHARED_VALIDATE shares like MAP_SHARED; the mapping type is the low nibble, not single bits. */
export const mapShared = (flags: number): boolean => {
  const type = flags & MAP_TYPE
  return type === MAP_SHARED || type === MAP_SHARED_VALIDATE
}

export const MREMAP_FLAGS: FlagTable = new Map([['MREMAP_MAYMOVE', 1], ['MREMAP_FIXED', 2], ['MREMAP_DONTUNMAP', 4]])
export const MSYNC_FLAGS: FlagTable = new Map([['MS_ASYNC', 1], ['MS_INVALIDATE', 2], ['MS_SYNC', 4]])
export const MFD_CLOEXEC = 1
export const MFD_FLAGS: FlagTable = new Map([['MFD_CLOEXEC', MFD_CLOEXEC], ['MFD_ALLOW_SEALING', 2], ['MFD_HUGETLB', 4], ['MFD_NOEXEC_SEAL', 8], ['MFD_EXEC', 0x10]])

export const AT_FLAGS: FlagTable = new Map([
  ['AT_SYMLINK_NOFOLLOW', 0x100], ['AT_REMOVEDIR', 0x200], ['AT_EACCESS', 0x200], ['AT_SYMLINK_FOLLOW', 0x400],
  ['AT_NO_AUTOMOUNT', 0x800], ['AT_EMPTY_PATH', 0x1000], ['AT_RECURSIVE', 0x8000],
])
export const AT_REMOVEDIR = 0x200
export const AT_EMPTY_PATH = 0x1000
export const AT_SYMLINK_FOLLOW = 0x400
export const AT_SYMLINK_NOFOLLOW = 0x100

export const RENAME_FLAGS: FlagTable = new Map([
  ['RENAME_NOREPLACE', RENAME_NOREPLACE], ['RENAME_EXCHANGE', RENAME_EXCHANGE], ['RENAME_WHITEOUT', 4],
])

export const FALLOC_FLAGS: FlagTable = new Map([
  ['FALLOC_FL_KEEP_SIZE', FALLOC_FL_KEEP_SIZE], ['FALLOC_FL_PUNCH_HOLE', FALLOC_FL_PUNCH_HOLE],
  ['FALLOC_FL_NO_HIDE_STALE', 0x04], ['FALLOC_FL_COLLAPSE_RANGE', 0x08], ['FALLOC_FL_ZERO_RANGE', FALLOC_FL_ZERO_RANGE],
  ['FALLOC_FL_INSERT_RANGE', 0x20], ['FALLOC_FL_UNSHARE_RANGE', 0x40],
])

export const CLOSE_RANGE_CLOEXEC = 4
export const CLOSE_RANGE_FLAGS: FlagTable = new Map([['CLOSE_RANGE_UNSHARE', 2], ['CLOSE_RANGE_CLOEXEC', CLOSE_RANGE_CLOEXEC]])

export const FD_FLAGS: FlagTable = new Map([['FD_CLOEXEC', 1]])

export const SPLICE_FLAGS: FlagTable = new Map([
  ['SPLICE_F_MOVE', 1], ['SPLICE_F_NONBLOCK', 2], ['SPLICE_F_MORE', 4], ['SPLICE_F_GIFT', 8],
])

export const RWF_APPEND = 0x10
export const RWF_FLAGS: FlagTable = new Map([
  ['RWF_HIPRI', 0x01], ['RWF_DSYNC', 0x02], ['RWF_SYNC', 0x04], ['RWF_NOWAIT', 0x08], ['RWF_APPEND', RWF_APPEND],
])

export const CLONE_FS = 0x200
export const CLONE_FILES = 0x400
export const CLONE_THREAD = 0x10000
export const CLONE_FLAGS: FlagTable = new Map([
  ['CLONE_VM', 0x100], ['CLONE_FS', CLONE_FS], ['CLONE_FILES', CLONE_FILES], ['CLONE_SIGHAND', 0x800],
  ['CLONE_PIDFD', 0x1000], ['CLONE_PTRACE', 0x2000], ['CLONE_VFORK', 0x4000], ['CLONE_PARENT', 0x8000],
  ['CLONE_THREAD', CLONE_THREAD], ['CLONE_NEWNS', 0x20000], ['CLONE_SYSVSEM', 0x40000], ['CLONE_SETTLS', 0x80000],
  ['CLONE_PARENT_SETTID', 0x100000], ['CLONE_CHILD_CLEARTID', 0x200000], ['CLONE_DETACHED', 0x400000],
  ['CLONE_UNTRACED', 0x800000], ['CLONE_CHILD_SETTID', 0x1000000], ['CLONE_NEWCGROUP', 0x2000000],
  ['CLONE_NEWUTS', 0x4000000], ['CLONE_NEWIPC', 0x8000000], ['CLONE_NEWUSER', 0x10000000],
  ['CLONE_NEWPID', 0x20000000], ['CLONE_NEWNET', 0x40000000], ['CLONE_IO', 0x80000000],
  ['CLONE_CLEAR_SIGHAND', 0x100000000], ['CLONE_INTO_CGROUP', 0x200000000], ['CLONE_NEWTIME', 0x80],
])

const SIGNAL_NAMES = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
]
const SIGRTMIN = 34
/** Signal number of a name as strace prints it (SIGKILL, SIGRTMIN, SIGRT_3), or null. */
export const signalNumber = (name: string): number | null => {
  const i = SIGNAL_NAMES.indexOf(name)
  if (i >= 0) return i + 1
  if (name === 'SIGIOT') return 6
  if (name === 'SIGPOLL') return 29
  if (name === 'SIGRTMIN') return SIGRTMIN
  const rt = /^SIGRT_([0-9]{1,2})$/.exec(name)
  return rt !== null && Number(rt[1]) <= 30 ? SIGRTMIN + Number(rt[1]) : null
}

export const MODE_TYPES: FlagTable = new Map([
  ['S_IFSOCK', S_IFSOCK], ['S_IFREG', S_IFREG], ['S_IFBLK', S_IFBLK], ['S_IFCHR', S_IFCHR], ['S_IFIFO', S_IFIFO],
])

/** chmod's mode: strace prints octal (`04755`), older ones the special bits by name */
export const PERMISSION_NAMES: FlagTable = new Map([['S_ISUID', S_ISUID], ['S_ISGID', S_ISGID], ['S_ISVTX', S_ISVTX]])
