// Processes: spawning, exec, working directory. Exits are reported by strace's `+++` lines, not
// by exit/exit_group, because only those lines say which tasks really died and with what status.
import * as E from 'fp-ts/lib/Either.js'
import { Args, type Parsed } from '../args.js'
import type { Call } from '../call.js'
import { draft, resolveAt, type Ctx } from '../context.js'
import { AT_EMPTY_PATH, AT_FLAGS, CLONE_FILES, CLONE_FLAGS, CLONE_FS, CLONE_THREAD, signalNumber } from '../flags.js'
import { readFlags, readPathText, type FdRef } from '../values.js'

const none: Parsed = E.right([])

/** The shown argv; strace's `...` for elements past its limit drops them (they are unknown). */
const argvOf = (a: Args, i: number): string[] => {
  if (a.raw(i) === 'NULL') return []
  const arr = a.array(i)
  const argv: string[] = []
  for (const item of arr.items) {
    const s = readPathText(item)
    if (E.isLeft(s)) {
      a.fail(`${s.left} in argument ${i + 1} of ${a.call.name}`)
      return []
    }
    argv.push(s.right)
  }
  return argv
}

const executed = (call: Call, a: Args, ctx: Ctx, dir: FdRef | null, path: string, argv: string[]): Parsed => {
  // A failed exec leaves the old program running; `?` tells nothing about the outcome.
  if (call.ret.kind !== 'ok') return none
  return a.done(() => {
    const abs = resolveAt(ctx, dir, path)
    if (E.isLeft(abs)) return abs
    return [draft(ctx, { kind: 'proc.exec', path: abs.right, argv })]
  })
}

export const parseExecve = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  return executed(call, a, ctx, null, path, argvOf(a, 1))
}

/** execveat(dirfd, path, argv, envp, flags); AT_EMPTY_PATH with "" runs the fd's own file. */
export const parseExecveat = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const dir = a.fd(0)
  const path = a.path(1)
  const argv = argvOf(a, 2)
  const flags = a.flags(4, AT_FLAGS)
  if (path === '' && (flags & AT_EMPTY_PATH) === 0 && call.ret.kind === 'ok') a.fail('empty path without AT_EMPTY_PATH in argument 2 of execveat')
  return executed(call, a, ctx, dir, path, argv)
}

const isSignal = (name: string): boolean => signalNumber(name) !== null

const spawned = (call: Call, a: Args, ctx: Ctx, flags: number): Parsed => {
  if (call.ret.kind !== 'ok') return none // a failed clone created no task
  const child = call.ret.value
  return a.done(() => {
    const thread = (flags & CLONE_THREAD) !== 0
    ctx.spawn(child, thread, (flags & CLONE_FS) !== 0)
    return [draft(ctx, { kind: 'proc.spawn', child, thread, shareFiles: (flags & CLONE_FILES) !== 0 })]
  })
}

/** clone(child_stack=..., flags=CLONE_...|SIGCHLD, ...): the exit signal shares the flags word. */
export const parseClone = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const text = call.args.find((x) => x.startsWith('flags='))
  let flags = 0
  if (text === undefined) a.fail('missing flags= argument of clone')
  else {
    const f = readFlags(text.slice('flags='.length), CLONE_FLAGS, isSignal)
    if (E.isLeft(f)) a.fail(`${f.left} in the flags of clone`)
    else flags = f.right
  }
  return spawned(call, a, ctx, flags)
}

/** clone3({flags=..., exit_signal=..., ...} => {parent_tid=[N]}, size). */
export const parseClone3 = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const args = a.struct(0)
  const text = args.get('flags')
  let flags = 0
  if (text === undefined) a.fail('missing flags in argument 1 of clone3')
  else {
    const f = readFlags(text, CLONE_FLAGS)
    if (E.isLeft(f)) a.fail(`${f.left} in argument 1 of clone3`)
    else flags = f.right
  }
  return spawned(call, a, ctx, flags)
}

/** fork and vfork copy the fd table and the fs (vfork shares memory, not files). */
export const parseFork = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  if (a.length > 0) a.fail(`unexpected arguments of ${call.name}`)
  return spawned(call, a, ctx, 0)
}

/** exit/exit_group: the `+++ exited with N +++` line that follows is the exit. */
export const parseExit = (call: Call, _ctx: Ctx): Parsed => {
  const a = new Args(call)
  a.int(0)
  return a.done(() => [])
}

export const parseChdir = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const path = a.path(0)
  if (call.ret.kind !== 'ok') return none // a failed chdir stays where it was
  return a.done(() => {
    const abs = resolveAt(ctx, null, path)
    if (E.isLeft(abs)) return abs
    ctx.task.fs.cwd = abs.right
    return [draft(ctx, { kind: 'proc.chdir', path: abs.right })]
  })
}

export const parseFchdir = (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  if (call.ret.kind !== 'ok') return none // a failed fchdir stays where it was
  return a.done(() => {
    if (fd.path === null || !fd.path.startsWith('/')) return E.left(`fd ${fd.fd ?? 'AT_FDCWD'} shows no directory path in argument 1 of fchdir`)
    ctx.task.fs.cwd = fd.path
    return [draft(ctx, { kind: 'proc.chdir', path: fd.path })]
  })
}

const RING = 'anon_inode:[io_uring]'

/** io_uring_setup(entries, params) = ring fd. What the ring carries out strace cannot show (no call
 *  per operation): the process is reported instead (proc.ioUring), as the interceptor does. */
export const parseIoUringSetup = (call: Call, ctx: Ctx): Parsed => {
  if (call.ret.kind !== 'ok') return none
  ctx.usesIoUring()
  return E.right([draft(ctx, { kind: 'proc.ioUring', via: 'setup', fd: call.ret.value })])
}

/** io_uring_enter/io_uring_register(fd, ...): a ring this process did not make in the log (inherited,
 *  received) is reported once per process; `fd` null when the call named a registered ring index. */
const ringUse = (via: 'enter' | 'register') => (call: Call, ctx: Ctx): Parsed => {
  const a = new Args(call)
  const fd = a.fd(0)
  if (call.ret.kind !== 'ok') return none // a failed call used no ring
  return a.done(() => (ctx.usesIoUring() ? [draft(ctx, { kind: 'proc.ioUring', via, fd: fd.fd !== null && fd.fd >= 0 && fd.path === RING ? fd.fd : null })] : []))
}
export const parseIoUringEnter = ringUse('enter')
export const parseIoUringRegister = ringUse('register')
