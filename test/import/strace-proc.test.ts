// Processes and threads: clone/clone3/fork/vfork, exits, exec (also from a thread), chdir/fchdir.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StraceParser } from '../../src/import/strace/index.js'
import { at, bodiesOf, draftsOf, fdp, parseAll, str } from './strace-support.js'

const THREAD_FLAGS = 'CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID'
const clone3Thread = (child: number) =>
  `clone3({flags=${THREAD_FLAGS}, child_tid=0x7f63ceed4990, parent_tid=0x7f63ceed4990, exit_signal=0, stack=0x7f63ce6d4000, stack_size=0x7fff80, tls=0x7f63ceed46c0} => {parent_tid=[${child}]}, 88) = ${child}`
const forkClone = (child: number) => `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f63cfc6be50) = ${child}`

const who = (ds: Awaited<ReturnType<typeof draftsOf>>) => ds.map((d) => [d.pid, d.tid, d.body.kind])

test('given a fork by clone, then proc.spawn names the child, which acts as its own process', async () => {
  const d = await draftsOf([
    at(10, forkClone(11)),
    at(11, `openat(AT_FDCWD, ${str('c.txt')}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = ${fdp(7, '/w/c.txt')}`),
    at(11, 'exit_group(3) = ?'),
    at(11, '+++ exited with 3 +++'),
    at(10, '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=11, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---'),
  ])
  assert.deepEqual(d[0].body, { kind: 'proc.spawn', child: 11, thread: false, shareFiles: false })
  assert.deepEqual(who(d), [[10, 10, 'proc.spawn'], [11, 11, 'fd.open'], [11, 11, 'proc.exit']])
  assert.deepEqual(d[2].body, { kind: 'proc.exit', status: 3, thread: false })
})

test('given a thread made by clone3, then its calls carry the process id and its exit is a thread exit', async () => {
  const d = await draftsOf([
    at(10, clone3Thread(12)),
    at(12, `write(${fdp(7, '/w/b.txt')}, ${str('thread')}, 6) = 6`),
    at(12, 'exit(0) = ?'),
    at(12, '+++ exited with 0 +++'),
    at(10, 'exit_group(0) = ?'),
    at(10, '+++ exited with 0 +++'),
  ])
  assert.deepEqual(d[0].body, { kind: 'proc.spawn', child: 12, thread: true, shareFiles: true })
  assert.deepEqual(who(d), [[10, 10, 'proc.spawn'], [10, 12, 'file.write'], [10, 12, 'proc.exit'], [10, 10, 'proc.exit']])
  assert.deepEqual(d.map((x) => (x.body.kind === 'proc.exit' ? x.body.thread : null)), [null, null, true, false])
})

test('given a vfork whose child runs before the parent returns, then the spawn comes before the child\'s events', async () => {
  const out = await parseAll([
    at(10, 'vfork( <unfinished ...>'),
    at(13, `execve(${str('/usr/bin/mkdir')}, [${str('mkdir')}, ${str('-p')}, ${str('/tmp/dd')}], 0x5650b7c740d8 /* 39 vars */ <unfinished ...>`),
    at(10, '<... vfork resumed>) = 13'),
    at(13, '<... execve resumed>) = 0'),
    at(13, `mkdir(${str('/tmp/dd')}, 0777) = 0`),
  ])
  const flat = out.flatMap((p) => ('drafts' in p ? p.drafts.map((d) => [p.line, d.pid, d.body.kind]) : [[p.line, 'error']]))
  assert.deepEqual(flat, [[3, 10, 'proc.spawn'], [4, 13, 'proc.exec'], [5, 13, 'file.mkdir']])
  assert.deepEqual(out.map((p) => p.line), [1, 3, 2, 4, 5])
})

test('given a child born while its parent\'s clone is unfinished, then its held lines come out right after the spawn, as a thread', async () => {
  const d = await draftsOf([
    at(10, `clone3({flags=${THREAD_FLAGS}, exit_signal=0, stack=0x7f0, stack_size=0x7fff80, tls=0x7f1} <unfinished ...>`),
    at(12, `write(${fdp(7, '/w/t')}, ${str('t')}, 1) = 1`),
    at(10, '<... clone3 resumed> => {parent_tid=[12]}, 88) = 12'),
  ])
  assert.deepEqual(who(d), [[10, 10, 'proc.spawn'], [10, 12, 'file.write']])
})

test('given a task the log never saw spawned, then it is its own process once no clone is pending', async () => {
  const d = await draftsOf([at(20, `write(${fdp(3, '/w/x')}, ${str('x')}, 1) = 1`)])
  assert.deepEqual(who(d), [[20, 20, 'file.write']])
})

test('given a process killed by a signal, then its exit status is the negated signal number', async () => {
  const b = await bodiesOf([at(10, forkClone(11)), at(11, '+++ killed by SIGKILL +++'), at(10, '+++ killed by SIGSEGV (core dumped) +++')])
  assert.deepEqual(b.slice(1), [{ kind: 'proc.exit', status: -9, thread: false }, { kind: 'proc.exit', status: -11, thread: false }])
})

test('given execve and execveat, when they succeed, then proc.exec has the resolved path and the argv; a failed one changes nothing', async () => {
  const b = await bodiesOf([
    at(10, `execve(${str('/root/.cargo/bin/bash')}, [${str('bash')}], 0x7ffc8e86fa30 /* 39 vars */) = -1 ENOENT (No such file or directory)`),
    at(10, `execve(${str('./t')}, [${str('./t')}, ${str('x y')}], 0x7ffe5ed3b3b0 /* 39 vars */) = 0`),
    at(10, `execveat(${fdp(12, '/usr/bin/true')}, "", [${str('true')}], 0x7ffe /* 0 vars */, AT_EMPTY_PATH) = 0`),
  ])
  assert.deepEqual(b, [
    { kind: 'proc.exec', path: '/w/t', argv: ['./t', 'x y'] },
    { kind: 'proc.exec', path: '/usr/bin/true', argv: ['true'] },
  ])
})

test('given execve in a non-leader thread, then the thread\'s old id exits and the exec is the process\'s', async () => {
  const d = await draftsOf([
    at(10, clone3Thread(12)),
    at(12, `execve(${str('/bin/true')}, [${str('/bin/true')}], 0x7ffe5ed3b3b0 /* 39 vars */ <pid changed to 10 ...>`),
    at(10, '+++ superseded by execve in pid 12 +++'),
    at(10, '<... execve resumed>) = 0'),
    at(10, `openat(AT_FDCWD, ${str('rel')}, O_RDONLY) = 3`),
    at(10, 'exit_group(0) = ?'),
    at(10, '+++ exited with 0 +++'),
  ])
  assert.deepEqual(who(d), [[10, 10, 'proc.spawn'], [10, 12, 'proc.exit'], [10, 10, 'proc.exec'], [10, 10, 'fd.open'], [10, 10, 'proc.exit']])
  assert.deepEqual(d[1].body, { kind: 'proc.exit', status: 0, thread: true })
})

test('given chdir in a forked child, then relative paths of the child move and the parent\'s do not', async () => {
  const b = await bodiesOf([
    at(10, forkClone(11)),
    at(11, `chdir(${str('sub')}) = 0`),
    at(11, `mkdir(${str('x')}, 0777) = 0`),
    at(10, `mkdir(${str('y')}, 0777) = 0`),
  ])
  assert.deepEqual(b.slice(1), [{ kind: 'proc.chdir', path: '/w/sub' }, { kind: 'file.mkdir', path: '/w/sub/x' }, { kind: 'file.mkdir', path: '/w/y' }])
})

test('given chdir in a thread (CLONE_FS), then the whole process resolves against the new directory', async () => {
  const b = await bodiesOf([at(10, clone3Thread(12)), at(12, `chdir(${str('/srv')}) = 0`), at(10, `unlink(${str('z')}) = 0`)])
  assert.deepEqual(b.slice(1), [{ kind: 'proc.chdir', path: '/srv' }, { kind: 'file.unlink', path: '/srv/z' }])
})

test('given fchdir and a failed chdir, then only the successful change is reported and tracked', async () => {
  const b = await bodiesOf([
    at(10, `fchdir(${fdp(3, '/w/d')}) = 0`),
    at(10, `chdir(${str('nope')}) = -1 ENOENT (No such file or directory)`),
    at(10, `rename(${str('../a')}, ${str('b')}) = 0`),
  ])
  assert.deepEqual(b, [{ kind: 'proc.chdir', path: '/w/d' }, { kind: 'file.rename', from: '/w/a', to: '/w/d/b', flags: 0 }])
})

test('given chdir through a symlink, when a call shows the kernel\'s cwd on AT_FDCWD, then later relative names (.. included) resolve against it; a rename of the cwd\'s directory moves it', async () => {
  const b = await bodiesOf([
    at(10, `chdir(${str('link')}) = 0`), // link -> a/b: the kernel's cwd is /w/a/b
    at(10, `openat(AT_FDCWD</w/a/b>, ${str('f')}, O_RDONLY) = ${fdp(3, '/w/a/b/f')}`),
    at(10, `mkdir(${str('../x')}, 0777) = 0`),
    at(10, `rename(${str('/w/a')}, ${str('/w/c')}) = 0`),
    at(10, `unlink(${str('f')}) = 0`),
  ])
  assert.deepEqual(b.filter((x) => x.kind !== 'fd.open'), [
    { kind: 'proc.chdir', path: '/w/link' },
    { kind: 'file.mkdir', path: '/w/a/x' },
    { kind: 'file.rename', from: '/w/a', to: '/w/c', flags: 0 },
    { kind: 'file.unlink', path: '/w/c/b/f' },
  ])
})

test('given fork and a failed clone, then only the fork spawns', async () => {
  const b = await bodiesOf([at(10, 'fork() = 15'), at(10, 'clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)')])
  assert.deepEqual(b, [{ kind: 'proc.spawn', child: 15, thread: false, shareFiles: false }])
})

test('given the leader blocked in a call when a thread execs, then the exec takes over without an error', async () => {
  const d = await draftsOf([
    at(10, clone3Thread(12)),
    at(10, `read(${fdp(0, '/w/in')},  <unfinished ...>`),
    at(12, `execve(${str('/bin/true')}, [${str('true')}], 0x7ffe /* 1 var */ <pid changed to 10 ...>`),
    at(10, '+++ superseded by execve in pid 12 +++'),
    at(10, '<... execve resumed>) = 0'),
  ])
  assert.deepEqual(who(d), [[10, 10, 'proc.spawn'], [10, 12, 'proc.exit'], [10, 10, 'proc.exec']])
})

test('given a log cut while a clone was unfinished, then the held lines of the unknown task come out at the end as its own process', async () => {
  const out = await parseAll([
    at(10, 'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>'),
    at(11, `mkdir(${str('m')}, 0777) = 0`),
  ])
  assert.deepEqual(out.map((p) => ('drafts' in p ? [p.line, p.drafts.map((x) => [x.pid, x.body.kind])] : p.error)), [[1, []], [2, [[11, 'file.mkdir']]]])
})

test('given more held lines than the limit, then they are read as tasks of their own rather than kept', async () => {
  const parser = new StraceParser({ cwd: '/w', holdLimit: 2 })
  assert.deepEqual(parser.feed(1, at(10, 'vfork( <unfinished ...>')), [{ line: 1, drafts: [] }])
  assert.deepEqual(parser.feed(2, at(11, `mkdir(${str('a')}, 0777) = 0`)), [])
  assert.deepEqual(parser.feed(3, at(11, `mkdir(${str('b')}, 0777) = 0`)), [])
  const released = parser.feed(4, at(11, `mkdir(${str('c')}, 0777) = 0`))
  assert.deepEqual(released.map((p) => p.line), [2, 3, 4])
})

test('given io_uring calls, then setup reports the process with its ring, a use of a ring it did not make is reported once, and failed calls nothing', async () => {
  const ring = (fd: number) => `${fd}<${'anon_inode:[io_uring]'.split('').map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}>`
  const d = await draftsOf([
    at(10, `io_uring_setup(4, {flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=4, cq_entries=8}) = ${ring(4)}`),
    at(10, `io_uring_enter(${ring(4)}, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 1`),
    at(10, forkClone(11)),
    at(11, 'io_uring_enter(9, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = -1 EBADF (Bad file descriptor)'),
    at(11, `io_uring_enter(${ring(4)}, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 1`),
    at(11, `io_uring_register(${ring(4)}, IORING_REGISTER_BUFFERS, 0x1000, 1) = 0`),
    at(11, 'exit_group(0) = ?'),
    at(11, '+++ exited with 0 +++'),
  ])
  assert.deepEqual(d.filter((x) => x.body.kind === 'proc.ioUring').map((x) => [x.pid, x.body]), [
    [10, { kind: 'proc.ioUring', via: 'setup', fd: 4 }],
    [11, { kind: 'proc.ioUring', via: 'enter', fd: 4 }],
  ])
})
