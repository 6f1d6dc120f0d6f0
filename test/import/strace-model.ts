// Test support for the property tests: random steps of a small process model, written out as the
// strace lines they would produce, together with the drafts the importer must read back from them.
import fc from 'fast-check'
import type { Body, Draft } from '../../src/events/index.js'
import { fdp, hexOf, str } from './strace-support.js'

const ACCESS = [['O_RDONLY', 0], ['O_WRONLY', 1], ['O_RDWR', 2]] as const
const OPEN_EXTRA = [['O_CREAT', 0o100], ['O_EXCL', 0o200], ['O_TRUNC', 0o1000], ['O_APPEND', 0o2000], ['O_CLOEXEC', 0o2000000], ['O_NONBLOCK', 0o4000], ['O_NOFOLLOW', 0o400000]] as const
const PROT = [['PROT_READ', 1], ['PROT_WRITE', 2], ['PROT_EXEC', 4]] as const
const RENAME = [['RENAME_NOREPLACE', 1], ['RENAME_EXCHANGE', 2]] as const
const FALLOC = [['FALLOC_FL_KEEP_SIZE', 1], ['FALLOC_FL_PUNCH_HOLE', 2]] as const

const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }).filter((s) => s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0'))
/** Canonical absolute paths under /r (never /dev, /proc, ...: their writes are not content). */
const absPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/r/${s.join('/')}`)
const fdNum = fc.integer({ min: 0, max: 1000 })
const size = fc.integer({ min: 0, max: 2 ** 40 })
const addr = fc.integer({ min: 0x1000, max: 0x7fffffffffff })
const subset = <T extends readonly (readonly [string, number])[]>(table: T) => fc.subarray([...table])
const names = (chosen: readonly (readonly [string, number])[], zero: string) =>
  chosen.length === 0 ? { text: zero, value: 0 } : { text: chosen.map(([n]) => n).join('|'), value: chosen.reduce((v, [, b]) => v | b, 0) }

export const stepArb = fc.oneof(
  fc.record({ op: fc.constant('open' as const), fd: fdNum, path: absPath, access: fc.constantFrom(...ACCESS), extra: subset(OPEN_EXTRA), relative: fc.boolean() }),
  fc.record({ op: fc.constant('write' as const), fd: fdNum, path: absPath, data: fc.uint8Array({ maxLength: 40 }), offset: fc.option(size), cut: fc.nat(40), vector: fc.boolean() }),
  fc.record({ op: fc.constant('pipeWrite' as const), fd: fdNum, data: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('close' as const), fd: fdNum, path: absPath }),
  fc.record({ op: fc.constant('dup' as const), fd: fdNum, newFd: fdNum, how: fc.constantFrom('dup', 'dup2', 'dup3', 'F_DUPFD', 'F_DUPFD_CLOEXEC'), path: absPath }),
  fc.record({ op: fc.constant('cloexec' as const), fd: fdNum, on: fc.boolean(), path: absPath }),
  fc.record({ op: fc.constant('seek' as const), fd: fdNum, pos: size, path: absPath }),
  fc.record({ op: fc.constant('read' as const), fd: fdNum, len: fc.integer({ min: 1, max: 1 << 20 }), path: absPath }),
  fc.record({ op: fc.constant('truncate' as const), fd: fc.option(fdNum), path: absPath, size }),
  fc.record({ op: fc.constant('allocate' as const), fd: fdNum, path: absPath, mode: subset(FALLOC), offset: size, len: size }),
  fc.record({ op: fc.constant('rename' as const), from: absPath, to: absPath, flags: subset(RENAME) }),
  fc.record({ op: fc.constant('unlink' as const), path: absPath, dir: fc.boolean() }),
  fc.record({ op: fc.constant('mkdir' as const), name: segment }),
  fc.record({ op: fc.constant('link' as const), from: absPath, to: absPath }),
  fc.record({ op: fc.constant('symlink' as const), target: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\0')), path: absPath }),
  fc.record({ op: fc.constant('flush' as const), fd: fdNum, path: absPath }),
  fc.record({ op: fc.constant('map' as const), addr, len: size, prot: subset(PROT), shared: fc.boolean(), path: absPath, offset: size }),
  fc.record({ op: fc.constant('unmap' as const), addr, len: size }),
  fc.record({ op: fc.constant('remap' as const), addr, len: size, newAddr: addr, newLen: size }),
  fc.record({ op: fc.constant('protect' as const), addr, len: size, prot: subset(PROT) }),
  fc.record({ op: fc.constant('chdir' as const), path: absPath }),
  fc.record({ op: fc.constant('spawn' as const), thread: fc.boolean() }),
  fc.record({ op: fc.constant('exit' as const), status: fc.integer({ min: 0, max: 255 }), killed: fc.boolean() }),
  fc.record({ op: fc.constant('exec' as const), path: absPath, argv: fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => !s.includes('\0')), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('failed' as const), path: absPath }),
)
export type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never

/** A step, which task takes it (an index into the live tasks), and whether strace split its line. */
export const scenarioArb = fc.array(fc.record({ who: fc.nat(), step: stepArb, split: fc.nat(1000), splitIt: fc.boolean() }), { maxLength: 40 })
export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never

interface Fs { cwd: string }
interface Task { tid: number; tgid: number; fs: Fs }

const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSEGV'] as const
const SIGNO = { SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11 } as const

/** The lines strace would write for the scenario and the drafts they must yield, in order. */
export const render = (scenario: Scenario, cwd: string): { lines: string[]; drafts: Draft[] } => {
  const lines: string[] = []
  const drafts: Draft[] = []
  const live: Task[] = []
  let nextTid = 100
  let micros = 0n
  const adopt = () => {
    const t = { tid: nextTid, tgid: nextTid, fs: { cwd } }
    nextTid++
    live.push(t)
    return t
  }
  for (const { who, step, split, splitIt } of scenario) {
    const task = live.length === 0 ? adopt() : live[who % live.length]
    micros += 1000n
    const ts = 1_700_000_000_000_000n + micros
    const stamp = (t: bigint) => `${t / 1_000_000n}.${String(t % 1_000_000n).padStart(6, '0')}`
    const emit = (body: Body, data?: Uint8Array) =>
      drafts.push(data === undefined ? { ts: ts * 1000n, pid: task.tgid, tid: task.tid, body } : { ts: ts * 1000n, pid: task.tgid, tid: task.tid, body, data })
    /** A call line, split around a signal line of the same task when the scenario says so. */
    const call = (text: string) => {
      const close = text.lastIndexOf(') = ')
      const nameEnd = text.indexOf('(') + 1
      if (!splitIt || close < nameEnd) {
        lines.push(`${task.tid} ${stamp(ts)} ${text}`)
        return
      }
      const at = nameEnd + (split % (close - nameEnd + 1))
      const name = text.slice(0, nameEnd - 1)
      lines.push(`${task.tid} ${stamp(ts)} ${text.slice(0, at)} <unfinished ...>`)
      lines.push(`${task.tid} ${stamp(ts + 1n)} --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1, si_uid=0} ---`)
      lines.push(`${task.tid} ${stamp(ts + 2n)} <... ${name} resumed>${text.slice(at)}`)
    }
    switch (step.op) {
      case 'open': {
        const extra = names(step.extra, '')
        const flags = step.access[1] | extra.value
        const flagText = extra.text === '' ? step.access[0] : `${step.access[0]}|${extra.text}`
        const dir = step.relative ? `AT_FDCWD<${hexOf(task.fs.cwd)}>` : 'AT_FDCWD'
        const arg = step.relative ? relativeTo(task.fs.cwd, step.path) : step.path
        call(`openat(${dir}, ${str(arg)}, ${flagText}, 0644) = ${fdp(step.fd, step.path)}`)
        emit({ kind: 'fd.open', fd: step.fd, path: step.path, flags, inode: null, created: (flags & 0o300) === 0o300 ? true : null })
        break
      }
      case 'write': {
        const len = step.data.length
        const cut = Math.min(step.cut, len)
        const f = fdp(step.fd, step.path)
        if (step.vector) {
          const iov = [step.data.subarray(0, cut), step.data.subarray(cut)].map((b) => `{iov_base=${str(b)}, iov_len=${b.length}}`).join(', ')
          call(step.offset === null ? `writev(${f}, [${iov}], 2) = ${len}` : `pwritev(${f}, [${iov}], 2, ${step.offset}) = ${len}`)
        } else {
          call(step.offset === null ? `write(${f}, ${str(step.data)}, ${len}) = ${len}` : `pwrite64(${f}, ${str(step.data)}, ${len}, ${step.offset}) = ${len}`)
        }
        if (len > 0) emit({ kind: 'file.write', fd: step.fd, offset: step.offset, len, known: len }, step.data)
        break
      }
      case 'pipeWrite':
        call(`write(${fdp(step.fd, 'pipe:[77]')}, ${str(step.data)}, ${step.data.length}) = ${step.data.length}`)
        break
      case 'close':
        call(`close(${fdp(step.fd, step.path)}) = 0`)
        emit({ kind: 'fd.close', fd: step.fd })
        break
      case 'dup': {
        const f = fdp(step.fd, step.path)
        const ret = fdp(step.newFd, step.path)
        const text = {
          dup: `dup(${f}) = ${ret}`,
          dup2: `dup2(${f}, ${step.newFd}) = ${ret}`,
          dup3: `dup3(${f}, ${step.newFd}, O_CLOEXEC) = ${ret}`,
          F_DUPFD: `fcntl(${f}, F_DUPFD, ${step.newFd}) = ${ret}`,
          F_DUPFD_CLOEXEC: `fcntl(${f}, F_DUPFD_CLOEXEC, ${step.newFd}) = ${ret}`,
        }[step.how]
        call(text)
        if (step.fd !== step.newFd) emit({ kind: 'fd.dup', fd: step.fd, newFd: step.newFd, cloexec: step.how === 'dup3' || step.how === 'F_DUPFD_CLOEXEC' })
        break
      }
      case 'cloexec':
        call(`fcntl(${fdp(step.fd, step.path)}, F_SETFD, ${step.on ? 'FD_CLOEXEC' : '0'}) = 0`)
        emit({ kind: 'fd.cloexec', fd: step.fd, on: step.on })
        break
      case 'seek':
        call(`lseek(${fdp(step.fd, step.path)}, ${step.pos}, SEEK_SET) = ${step.pos}`)
        emit({ kind: 'fd.seek', fd: step.fd, pos: step.pos })
        break
      case 'read':
        call(`read(${fdp(step.fd, step.path)}, ${str('ab')}..., ${step.len}) = ${step.len}`)
        emit({ kind: 'fd.read', fd: step.fd, len: step.len })
        break
      case 'truncate':
        if (step.fd === null) call(`truncate(${str(step.path)}, ${step.size}) = 0`)
        else call(`ftruncate(${fdp(step.fd, step.path)}, ${step.size}) = 0`)
        emit({ kind: 'file.truncate', path: step.fd === null ? step.path : null, fd: step.fd, size: step.size })
        break
      case 'allocate': {
        const mode = names(step.mode, '0')
        call(`fallocate(${fdp(step.fd, step.path)}, ${mode.text}, ${step.offset}, ${step.len}) = 0`)
        emit({ kind: 'file.allocate', fd: step.fd, mode: mode.value, offset: step.offset, len: step.len })
        break
      }
      case 'rename': {
        const flags = names(step.flags, '0')
        call(`renameat2(AT_FDCWD, ${str(step.from)}, AT_FDCWD, ${str(step.to)}, ${flags.text}) = 0`)
        emit({ kind: 'file.rename', from: step.from, to: step.to, flags: flags.value })
        break
      }
      case 'unlink':
        call(`unlinkat(AT_FDCWD, ${str(step.path)}, ${step.dir ? 'AT_REMOVEDIR' : '0'}) = 0`)
        emit(step.dir ? { kind: 'file.rmdir', path: step.path } : { kind: 'file.unlink', path: step.path })
        break
      case 'mkdir':
        call(`mkdir(${str(step.name)}, 0755) = 0`)
        emit({ kind: 'file.mkdir', path: task.fs.cwd === '/' ? `/${step.name}` : `${task.fs.cwd}/${step.name}` })
        break
      case 'link':
        call(`link(${str(step.from)}, ${str(step.to)}) = 0`)
        emit({ kind: 'file.link', from: step.from, to: step.to })
        break
      case 'symlink':
        call(`symlink(${str(step.target)}, ${str(step.path)}) = 0`)
        emit({ kind: 'file.symlink', target: step.target, path: step.path })
        break
      case 'flush':
        call(`fsync(${fdp(step.fd, step.path)}) = 0`)
        emit({ kind: 'file.flush', fd: step.fd })
        break
      case 'map': {
        const prot = names(step.prot, 'PROT_NONE')
        call(`mmap(NULL, ${step.len}, ${prot.text}, ${step.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}, ${fdp(3, step.path)}, ${step.offset}) = 0x${step.addr.toString(16)}`)
        emit({ kind: 'view.map', addr: step.addr, len: step.len, prot: prot.value, shared: step.shared, path: step.path, inode: null, offset: step.offset })
        break
      }
      case 'unmap':
        call(`munmap(0x${step.addr.toString(16)}, ${step.len}) = 0`)
        emit({ kind: 'view.unmap', addr: step.addr, len: step.len })
        break
      case 'remap':
        call(`mremap(0x${step.addr.toString(16)}, ${step.len}, ${step.newLen}, MREMAP_MAYMOVE) = 0x${step.newAddr.toString(16)}`)
        emit({ kind: 'view.remap', addr: step.addr, len: step.len, newAddr: step.newAddr, newLen: step.newLen })
        break
      case 'protect': {
        const prot = names(step.prot, 'PROT_NONE')
        call(`mprotect(0x${step.addr.toString(16)}, ${step.len}, ${prot.text}) = 0`)
        emit({ kind: 'view.protect', addr: step.addr, len: step.len, prot: prot.value })
        break
      }
      case 'chdir':
        call(`chdir(${str(step.path)}) = 0`)
        task.fs.cwd = step.path
        emit({ kind: 'proc.chdir', path: step.path })
        break
      case 'spawn': {
        const child: Task = { tid: nextTid++, tgid: 0, fs: step.thread ? task.fs : { cwd: task.fs.cwd } }
        child.tgid = step.thread ? task.tgid : child.tid
        live.push(child)
        call(step.thread
          ? `clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0, stack=0x7f0000, stack_size=0x7fff80} => {parent_tid=[${child.tid}]}, 88) = ${child.tid}`
          : `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f63cfc6be50) = ${child.tid}`)
        emit({ kind: 'proc.spawn', child: child.tid, thread: step.thread, shareFiles: step.thread })
        break
      }
      case 'exit': {
        const leader = task.tid === task.tgid
        const signal = SIGNALS[step.status % SIGNALS.length]
        lines.push(`${task.tid} ${stamp(ts)} ${step.killed ? `+++ killed by ${signal} +++` : `+++ exited with ${step.status} +++`}`)
        emit({ kind: 'proc.exit', status: step.killed ? -SIGNO[signal] : step.status, thread: !leader })
        for (let i = live.length - 1; i >= 0; i--) if (leader ? live[i].tgid === task.tgid : live[i] === task) live.splice(i, 1)
        break
      }
      case 'exec':
        call(`execve(${str(step.path)}, [${step.argv.map(str).join(', ')}], 0x7ffd9a274170 /* 39 vars */) = 0`)
        emit({ kind: 'proc.exec', path: step.path, argv: step.argv })
        break
      case 'failed':
        call(`openat(AT_FDCWD, ${str(step.path)}, O_RDONLY) = -1 ENOENT (No such file or directory)`)
        break
    }
  }
  return { lines, drafts }
}

/** `path` written relative to `cwd` with as many `..` as needed. */
const relativeTo = (cwd: string, path: string): string => {
  const from = cwd.split('/').filter(Boolean)
  const to = path.split('/').filter(Boolean)
  let common = 0
  while (common < from.length && common < to.length && from[common] === to[common]) common++
  const rel = [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/')
  return rel === '' ? '.' : rel
}
