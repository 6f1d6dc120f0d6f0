// fast-check arbitraries of *valid* event streams: what a correct recorder could have seen from a real
// process tree. fds are used only while open and only as their mode allows, processes act only while
// alive, forks copy fd tables, exec closes CLOEXEC fds, pids are never reused, files are created
// before they are opened without O_CREAT. fast-check generates a list of abstract actions (which
// shrinks well); a small model of the kernel turns them into events, skipping actions that do not
// apply, and keeps its own answer (files and fd tables at the end) for comparison.
import fc from 'fast-check'
import { O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, withEnvelope, writable, type Body, type Event } from '../events/index.js'

export interface StreamOptions {
  readonly guest?: string
  /** every file and directory is made below this directory (default /w) */
  readonly root?: string
  readonly minActions?: number
  readonly maxActions?: number
  /** bytes per write (default 64) */
  readonly maxData?: number
  /** threads that spawn, act and exit (default true) */
  readonly threads?: boolean
}

export interface GeneratedStream {
  readonly guest: string
  readonly events: readonly Event[]
  readonly payloads: ReadonlyMap<number, Uint8Array>
  /** the model's answer at the end: every file name and its bytes */
  readonly files: ReadonlyMap<string, Uint8Array>
  /** the model's fd tables at the end: live pid -> fd -> the path it was opened by */
  readonly fds: ReadonlyMap<number, ReadonlyMap<number, string>>
  readonly dirs: readonly string[]
}

type Op =
  | 'open' | 'write' | 'pwrite' | 'read' | 'seek' | 'truncate' | 'close' | 'dup' | 'dup2' | 'cloexec'
  | 'fork' | 'exec' | 'exit' | 'thread' | 'threadExit' | 'rename' | 'unlink' | 'link' | 'mkdir' | 'flush'

/** Each action and how often it is drawn. */
const OPS: ReadonlyArray<readonly [Op, number]> = [
  ['open', 4], ['write', 5], ['pwrite', 2], ['read', 1], ['seek', 1], ['truncate', 1], ['close', 3], ['dup', 1], ['dup2', 1], ['cloexec', 1],
  ['fork', 2], ['exec', 1], ['exit', 1], ['thread', 1], ['threadExit', 1], ['rename', 2], ['unlink', 1], ['link', 1], ['mkdir', 1], ['flush', 1],
]

const readable = (flags: number): boolean => (flags & O_ACCMODE) !== O_WRONLY

interface Action { readonly op: Op; readonly a: number; readonly b: number; readonly c: number; readonly data: Uint8Array }

interface FileModel { bytes: Uint8Array }
interface OfdModel { readonly file: FileModel; path: string; readonly flags: number; pos: number }
interface FdModel { readonly ofd: OfdModel; cloexec: boolean }
interface ProcModel { readonly pid: number; fds: Map<number, FdModel>; threads: number[] }

const arbAction = (maxData: number, threads: boolean): fc.Arbitrary<Action> =>
  fc.record({
    op: fc.oneof(...OPS.filter(([op]) => threads || (op !== 'thread' && op !== 'threadExit')).map(([op, weight]) => ({ arbitrary: fc.constant(op), weight }))),
    a: fc.nat(1 << 20),
    b: fc.nat(1 << 20),
    c: fc.nat(1 << 20),
    data: fc.uint8Array({ minLength: 1, maxLength: maxData }),
  }, { noNullPrototype: true })

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]

const resize = (f: FileModel, size: number): void => {
  if (size === f.bytes.length) return
  const next = new Uint8Array(size)
  next.set(f.bytes.subarray(0, Math.min(size, f.bytes.length)))
  f.bytes = next
}

const writeAt = (f: FileModel, offset: number, data: Uint8Array): void => {
  if (offset + data.length > f.bytes.length) resize(f, offset + data.length)
  f.bytes.set(data, offset)
}

const lowestFree = (p: ProcModel, from: number): number => {
  let fd = from
  while (p.fds.has(fd)) fd++
  return fd
}

/** Turns actions into a valid stream; an action that does not apply in the current state is skipped. */
export const interpret = (actions: readonly Action[], opts: StreamOptions = {}): GeneratedStream => {
  const guest = opts.guest ?? 'generated'
  const root = opts.root ?? '/w'
  const events: Event[] = []
  const payloads = new Map<number, Uint8Array>()
  const emit = (p: ProcModel, body: Body, data?: Uint8Array, tid = p.pid): void => {
    const seq = events.length + 1
    events.push(withEnvelope(body, { guest, seq, ts: 1_700_000_000_000_000_000n + BigInt(seq) * 1000n, pid: p.pid, tid }))
    if (data !== undefined) payloads.set(seq, data)
  }
  let nextPid = 1000
  const first: ProcModel = { pid: nextPid++, fds: new Map(), threads: [] }
  const procs: ProcModel[] = [first]
  const names = new Map<string, FileModel>()
  const dirs: string[] = [root]
  emit(first, { kind: 'file.mkdir', path: root })
  const allFds = (filter: (o: OfdModel) => boolean) =>
    procs.flatMap((p) => [...p.fds].filter(([, f]) => filter(f.ofd)).map(([fd, f]) => ({ p, fd, f })))
  const actor = (p: ProcModel, n: number): number => (p.threads.length === 0 ? p.pid : pick([p.pid, ...p.threads], n))

  for (const { op, a, b, c, data } of actions) {
    switch (op) {
      case 'open': {
        const p = pick(procs, a)
        const path = `${pick(dirs, b)}/f${c % 5}`
        const existing = names.get(path)
        let flags: number
        let file: FileModel
        if (existing === undefined) {
          flags = ((c & 8) !== 0 ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | ((c & 16) !== 0 ? O_APPEND : 0)
          file = { bytes: new Uint8Array(0) }
          names.set(path, file)
        } else {
          const acc = [O_RDONLY, O_WRONLY, O_RDWR][c % 3]
          flags = acc | (acc !== O_RDONLY && (c & 16) !== 0 ? O_APPEND : 0) | (acc !== O_RDONLY && (c & 64) !== 0 ? O_TRUNC : 0)
          file = existing
          if ((flags & O_TRUNC) !== 0) resize(file, 0)
        }
        if ((c & 32) !== 0) flags |= O_CLOEXEC
        const fd = lowestFree(p, 3)
        emit(p, { kind: 'fd.open', fd, path, flags, inode: null, created: existing === undefined }, undefined, actor(p, c))
        p.fds.set(fd, { ofd: { file, path, flags, pos: 0 }, cloexec: (flags & O_CLOEXEC) !== 0 })
        break
      }
      case 'write':
      case 'pwrite': {
        const fds = allFds((o) => writable(o.flags))
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        const o = f.ofd
        const size = o.file.bytes.length
        const offset = op === 'pwrite' ? b % (size + 8) : null
        // O_APPEND writes at the end, even with an explicit offset (pwrite(2), BUGS)
        const at = (o.flags & O_APPEND) !== 0 ? size : (offset ?? o.pos)
        writeAt(o.file, at, data)
        if (offset === null) o.pos = at + data.length
        emit(p, { kind: 'file.write', fd, offset, len: data.length, known: data.length }, data, actor(p, c))
        break
      }
      case 'read': {
        const fds = allFds((o) => readable(o.flags) && o.pos < o.file.bytes.length)
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        const len = 1 + (b % (f.ofd.file.bytes.length - f.ofd.pos))
        f.ofd.pos += len
        emit(p, { kind: 'fd.read', fd, len }, undefined, actor(p, c))
        break
      }
      case 'seek': {
        const fds = allFds(() => true)
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        f.ofd.pos = b % (f.ofd.file.bytes.length + 16)
        emit(p, { kind: 'fd.seek', fd, pos: f.ofd.pos }, undefined, actor(p, c))
        break
      }
      case 'truncate': {
        const fds = allFds((o) => writable(o.flags))
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        const size = b % (f.ofd.file.bytes.length + 16)
        resize(f.ofd.file, size)
        emit(p, { kind: 'file.truncate', path: null, fd, size }, undefined, actor(p, c))
        break
      }
      case 'flush': {
        const fds = allFds((o) => writable(o.flags))
        if (fds.length === 0) break
        const { p, fd } = pick(fds, a)
        emit(p, { kind: 'file.flush', fd }, undefined, actor(p, c))
        break
      }
      case 'close': {
        const fds = allFds(() => true)
        if (fds.length === 0) break
        const { p, fd } = pick(fds, a)
        p.fds.delete(fd)
        emit(p, { kind: 'fd.close', fd }, undefined, actor(p, c))
        break
      }
      case 'cloexec': {
        const fds = allFds(() => true)
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        f.cloexec = (b & 1) === 1
        emit(p, { kind: 'fd.cloexec', fd, on: f.cloexec }, undefined, actor(p, c))
        break
      }
      case 'dup':
      case 'dup2': {
        const fds = allFds(() => true)
        if (fds.length === 0) break
        const { p, fd, f } = pick(fds, a)
        const newFd = op === 'dup' ? lowestFree(p, 3) : 3 + (b % 6)
        if (newFd === fd) break
        p.fds.set(newFd, { ofd: f.ofd, cloexec: false })
        emit(p, { kind: 'fd.dup', fd, newFd, cloexec: false }, undefined, actor(p, c))
        break
      }
      case 'fork': {
        const p = pick(procs, a)
        const child: ProcModel = { pid: nextPid++, fds: new Map([...p.fds].map(([fd, f]) => [fd, { ofd: f.ofd, cloexec: f.cloexec }])), threads: [] }
        emit(p, { kind: 'proc.spawn', child: child.pid, thread: false, shareFiles: false }, undefined, actor(p, c))
        procs.push(child)
        break
      }
      case 'exec': {
        const p = pick(procs, a)
        const path = `/usr/bin/prog${b % 3}`
        emit(p, { kind: 'proc.exec', path, argv: [path.slice(9), String(c % 100)] }, undefined, actor(p, c))
        for (const [fd, f] of [...p.fds]) if (f.cloexec) p.fds.delete(fd)
        p.threads = [] // exec ends every other thread
        break
      }
      case 'exit': {
        if (procs.length < 2) break // someone must be left to act
        const i = a % procs.length
        emit(procs[i], { kind: 'proc.exit', status: b % 3, thread: false })
        procs.splice(i, 1)
        break
      }
      case 'thread': {
        const p = pick(procs, a)
        const tid = nextPid++
        emit(p, { kind: 'proc.spawn', child: tid, thread: true, shareFiles: true }, undefined, actor(p, c))
        p.threads.push(tid)
        break
      }
      case 'threadExit': {
        const withThreads = procs.filter((p) => p.threads.length > 0)
        if (withThreads.length === 0) break
        const p = pick(withThreads, a)
        const tid = pick(p.threads, b)
        emit(p, { kind: 'proc.exit', status: 0, thread: true }, undefined, tid)
        p.threads = p.threads.filter((t) => t !== tid)
        break
      }
      case 'rename':
      case 'link': {
        const files = [...names.keys()]
        if (files.length === 0) break
        const p = pick(procs, a)
        const from = pick(files, b)
        const to = `${pick(dirs, c)}/f${(b + c) % 5}`
        if (from === to || (op === 'link' && names.has(to))) break
        const file = names.get(from)
        if (file === undefined) break
        if (op === 'rename' && names.get(to) === file) {
          // rename(2) between two names of one file does nothing: both stay
          emit(p, { kind: 'file.rename', from, to, flags: 0 }, undefined, actor(p, a))
          break
        }
        if (op === 'rename') {
          names.delete(from)
          // open descriptions follow their file to its new name, as /proc/PID/fd does; one of a file
          // unlinked from that name before keeps the old one
          for (const q of procs) for (const f of q.fds.values()) if (f.ofd.path === from && f.ofd.file === file) f.ofd.path = to
        }
        names.set(to, file) // a rename over an existing name replaces it; that file lives on through its fds
        emit(p, op === 'rename' ? { kind: 'file.rename', from, to, flags: 0 } : { kind: 'file.link', from, to }, undefined, actor(p, a))
        break
      }
      case 'unlink': {
        const files = [...names.keys()]
        if (files.length === 0) break
        const p = pick(procs, a)
        const path = pick(files, b)
        names.delete(path)
        emit(p, { kind: 'file.unlink', path }, undefined, actor(p, c))
        break
      }
      case 'mkdir': {
        const p = pick(procs, a)
        const path = `${pick(dirs, b)}/d${c % 3}`
        if (dirs.includes(path)) break
        dirs.push(path)
        emit(p, { kind: 'file.mkdir', path }, undefined, actor(p, a))
        break
      }
    }
  }
  return {
    guest,
    events,
    payloads,
    files: new Map([...names].map(([path, f]) => [path, Uint8Array.from(f.bytes)])),
    fds: new Map(procs.map((p) => [p.pid, new Map([...p.fds].map(([fd, f]) => [fd, f.ofd.path]))])),
    dirs,
  }
}

/** Valid event streams (see the top of this file), with the model's answer at the end. */
export const arbStream = (opts: StreamOptions = {}): fc.Arbitrary<GeneratedStream> =>
  fc.array(arbAction(opts.maxData ?? 64, opts.threads ?? true), { minLength: opts.minActions ?? 1, maxLength: opts.maxActions ?? 60 })
    .map((actions) => interpret(actions, opts))
