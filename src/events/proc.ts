// Process lifecycle: the envelope's pid/tid is the acting task.
import * as t from 'io-ts'
import { AbsPath, Int, Nat, nullable } from './codecs.js'

/** fork/vfork/clone: `child` is the new task. A thread shares the process (pid stays the parent's). */
export const ProcSpawn = t.type({
  kind: t.literal('proc.spawn'),
  child: Nat,
  thread: t.boolean,
  /** CLONE_FILES: the child shares the parent's fd table instead of copying it. */
  shareFiles: t.boolean,
})
export type ProcSpawn = t.TypeOf<typeof ProcSpawn>

/** execve/execveat: `path` is the file exec'd, argv as the call gave it; `exe`, where the kernel runs
 *  another program for it (a script's interpreter: /proc/PID/exe), that program. */
export const ProcExec = t.intersection([t.type({ kind: t.literal('proc.exec'), path: AbsPath, argv: t.array(t.string) }), t.partial({ exe: AbsPath })])
export type ProcExec = t.TypeOf<typeof ProcExec>

/** exit (thread: true) or exit_group / death by signal (thread: false). */
export const ProcExit = t.type({ kind: t.literal('proc.exit'), status: Int, thread: t.boolean })
export type ProcExit = t.TypeOf<typeof ProcExit>

/** The process's parent exited and the kernel gave it another: `ppid` (init, or the nearest
 *  subreaper), as /proc/PID/stat says. */
export const ProcReparent = t.type({ kind: t.literal('proc.reparent'), ppid: Nat })
export type ProcReparent = t.TypeOf<typeof ProcReparent>

export const ProcChdir = t.type({ kind: t.literal('proc.chdir'), path: AbsPath })
export type ProcChdir = t.TypeOf<typeof ProcChdir>

/** The process uses io_uring. What it submits through a ring (IORING_OP_WRITE, OPENAT, RENAMEAT,
 *  UNLINKAT, ...) the kernel carries out without a system call per operation, so eyrie does not see
 *  it: from this event on, the file state this process changes is incomplete. `via`: `setup`, it made
 *  a ring (io_uring_setup; `fd` is the ring); `enter`/`register`, it used a ring it did not make while
 *  traced (inherited across fork, received over a socket; `fd` null when the call named a registered
 *  ring index); `held`, attach found a ring among its fds (anon_inode:[io_uring]) made before eyrie
 *  came. The fold marks the process (Proc.ioUring); it keeps no file state for it. */
export const ProcIoUring = t.type({
  kind: t.literal('proc.ioUring'),
  via: t.keyof({ setup: null, enter: null, register: null, held: null }),
  fd: nullable(Nat),
})
export type ProcIoUring = t.TypeOf<typeof ProcIoUring>

export const procCodecs = {
  'proc.spawn': ProcSpawn,
  'proc.exec': ProcExec,
  'proc.exit': ProcExit,
  'proc.chdir': ProcChdir,
  'proc.ioUring': ProcIoUring,
  'proc.reparent': ProcReparent,
} as const
