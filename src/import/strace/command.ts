// The one strace command line whose logs the importer reads. The parser relies on each option:
// -f follows the whole tree (and prefixes every line with the task id), -ttt gives epoch timestamps,
// -xx prints every string byte as \xNN (so quotes, commas and '>' inside data never need escaping
// rules), -y decorates every fd with the path it names, -s 1 MiB keeps written bytes unless a single
// buffer is larger than that (then the tail is unknown, not guessed).

/** The calls that change file state (or the process/fd bookkeeping needed to interpret them). */
export const STRACE_CALLS: readonly string[] = [
  'open', 'openat', 'openat2', 'creat', 'memfd_create', 'open_by_handle_at',
  'write', 'pwrite64', 'writev', 'pwritev', 'pwritev2',
  'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'ioctl', 'lseek', 'read', 'readv',
  'ftruncate', 'truncate', 'fallocate',
  'rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'link', 'linkat', 'symlink', 'symlinkat',
  'mkdir', 'mkdirat', 'mknod', 'mknodat', 'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'fchownat', 'lchown', 'rmdir', 'fsync', 'fdatasync',
  'mmap', 'munmap', 'mremap', 'mprotect', 'msync', 'madvise',
  'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'exit', 'exit_group',
  'copy_file_range', 'sendfile', 'splice', 'io_submit', 'chdir', 'fchdir',
  // a Unix socket bound to a name makes a node
  'bind',
  // not file state, but where it escapes: a process using io_uring is reported (proc.ioUring)
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
]

/** Bytes of one string argument strace shows before it truncates it with `...`. */
export const STRACE_STRING_LIMIT = 1048576

/** The full argv (starting with 'strace') that traces `cmd` into `logFile`. */
export const straceArgv = (logFile: string, cmd: readonly string[]): string[] => [
  'strace', '-f', '-ttt', '-xx', '-y', '-s', String(STRACE_STRING_LIMIT),
  '-o', logFile, '-e', `trace=${STRACE_CALLS.join(',')}`,
  // '--' so that a command whose name starts with '-' is not taken for an option.
  '--', ...cmd,
]
