// One parser per system call, by name. Every name strace is told to trace has an entry, so a
// name missing here is a line this importer cannot interpret.
import type { Parsed } from './args.js'
import type { Call } from './call.js'
import type { Ctx } from './context.js'
import * as fd from './calls/fd.js'
import * as file from './calls/file.js'
import * as proc from './calls/proc.js'
import * as view from './calls/view.js'
import * as write from './calls/write.js'

export type CallParser = (call: Call, ctx: Ctx) => Parsed

export const PARSERS: ReadonlyMap<string, CallParser> = new Map<string, CallParser>([
  ['open', fd.parseOpen], ['openat', fd.parseOpenat], ['openat2', fd.parseOpenat2], ['creat', fd.parseCreat], ['memfd_create', fd.parseMemfdCreate],
  ['open_by_handle_at', fd.parseOpenByHandleAt],
  ['close', fd.parseClose], ['close_range', fd.parseCloseRange],
  ['dup', fd.parseDup], ['dup2', fd.parseDup2], ['dup3', fd.parseDup3], ['fcntl', fd.parseFcntl], ['ioctl', fd.parseIoctl],
  ['lseek', fd.parseLseek], ['read', fd.parseRead], ['readv', fd.parseRead],
  ['write', write.parseWrite], ['pwrite64', write.parsePwrite64], ['writev', write.parseWritev],
  ['pwritev', write.parsePwritev], ['pwritev2', write.parsePwritev2],
  ['copy_file_range', write.parseCopyFileRange], ['io_submit', write.parseIoSubmit], ['sendfile', write.parseSendfile], ['splice', write.parseSplice],
  ['truncate', file.parseTruncate], ['ftruncate', file.parseFtruncate], ['fallocate', file.parseFallocate],
  ['rename', file.parseRename], ['renameat', file.parseRenameat], ['renameat2', file.parseRenameat2],
  ['unlink', file.parseUnlink], ['unlinkat', file.parseUnlinkat], ['rmdir', file.parseRmdir],
  ['link', file.parseLink], ['linkat', file.parseLinkat], ['symlink', file.parseSymlink], ['symlinkat', file.parseSymlinkat],
  ['mkdir', file.parseMkdir], ['mkdirat', file.parseMkdirat],
  ['mknod', file.parseMknod], ['mknodat', file.parseMknodat], ['bind', file.parseBind], ['chmod', file.parseChmod], ['fchmodat', file.parseFchmodat], ['fchmod', file.parseFchmod], ['chown', file.parseChown], ['lchown', file.parseLchown], ['fchownat', file.parseFchownat], ['fchown', file.parseFchown], ['fsync', file.parseFsync], ['fdatasync', file.parseFsync],
  ['mmap', view.parseMmap], ['munmap', view.parseMunmap], ['mremap', view.parseMremap],
  ['mprotect', view.parseMprotect], ['msync', view.parseMsync], ['madvise', view.parseMadvise],
  ['execve', proc.parseExecve], ['execveat', proc.parseExecveat],
  ['clone', proc.parseClone], ['clone3', proc.parseClone3], ['fork', proc.parseFork], ['vfork', proc.parseFork],
  ['exit', proc.parseExit], ['exit_group', proc.parseExit], ['chdir', proc.parseChdir], ['fchdir', proc.parseFchdir],
  ['io_uring_setup', proc.parseIoUringSetup], ['io_uring_enter', proc.parseIoUringEnter], ['io_uring_register', proc.parseIoUringRegister],
])

/** Calls that create a task: while one is unfinished, lines of unknown tasks may be its child's. */
export const SPAWNS: ReadonlySet<string> = new Set(['clone', 'clone3', 'fork', 'vfork'])
