// What a syscall parser may know and do besides reading its arguments: who called, when, against
// which working directory, and the task-table effects of spawning and changing directory.
import * as E from 'fp-ts/lib/Either.js'
import type { Body, Draft } from '../../events/event.js'
import { DELETED_SUFFIX } from '../../events/names.js'
import type { Task } from './tasks.js'
import type { FdRef } from './values.js'
import { resolvePath } from './paths.js'

export interface Ctx {
  /** The calling task (strace's pid column) and its thread group id. */
  readonly tid: number
  readonly pid: number
  readonly ts: bigint
  readonly task: Task
  /** Whether an fd's -y decoration names a file whose bytes are content (not a pipe, a tty, ...). */
  isContent(ref: FdRef): boolean
  /** A new task created by this call. */
  spawn(child: number, thread: boolean, shareFs: boolean): void
  /** A rename succeeded: working directories it moved follow. */
  renamed(from: string, to: string, exchange: boolean): void
  /** Marks the calling process as using io_uring; true the first time (until the process exits). */
  usesIoUring(): boolean
}

export const draft = (ctx: Ctx, body: Body, data?: Uint8Array): Draft =>
  data === undefined ? { ts: ctx.ts, pid: ctx.pid, tid: ctx.tid, body } : { ts: ctx.ts, pid: ctx.pid, tid: ctx.tid, body, data }

/** -y shows the cwd on AT_FDCWD: the kernel's word, which the tracked cwd takes for the calls that
 *  show none (a chdir through a symlink is tracked by the name it was given until then). */
export const seeCwd = (ctx: Ctx, dir: FdRef | null): void => {
  if (dir?.fd === null && dir.path?.startsWith('/') === true && !dir.deleted && !dir.path.endsWith(DELETED_SUFFIX)) ctx.task.fs.cwd = dir.path
}

/** `p` as an absolute path: as is, or against the directory fd `dir` (AT_FDCWD or null: the cwd). */
export const resolveAt = (ctx: Ctx, dir: FdRef | null, p: string): E.Either<string, string> => {
  seeCwd(ctx, dir)
  if (p.startsWith('/')) return E.right(resolvePath('/', p))
  if (dir === null || dir.fd === null) return E.right(resolvePath(ctx.task.fs.cwd, p))
  if (dir.path === null || !dir.path.startsWith('/')) return E.left(`cannot resolve ${JSON.stringify(p)}: fd ${dir.fd} shows no directory path`)
  return E.right(resolvePath(dir.path, p))
}
