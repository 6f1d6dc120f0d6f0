// R(0) of a process tree from /proc: for each process its parent, program, working directory,
// threads, fds (position and flags from fdinfo, identity from stat) and file mappings, plus the files
// those refer to. Taken while the tracer holds every task stopped, so the parts agree; read with
// synchronous calls, since the tasks wait for it and nothing else is to be done meanwhile: a round
// trip through libuv's pool per read made a recorded command's start wait ~4 ms for its 14 reads.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type BigIntStats } from 'node:fs'
import { DELETED_SUFFIX, nameFromBytes, nameToBytes, withoutDeleted, O_CLOEXEC, PROT_EXEC, PROT_READ, PROT_WRITE, type Draft } from '../events/index.js'
import type { FdSnap, FileSnap, MapSnap, Positions, ProcSnap, Snapshot } from '../events/index.js'
import { ppidIn, procStat } from './procStat.js'

export interface SnapshotOptions {
  /** Which fds to include: every one, or only these (a recorded command's starting process: 0-2). */
  readonly fds: 'all' | readonly number[]
  /** Include file mappings (not for a recorded command's starting process: exec replaces them). */
  readonly maps: boolean
  /** which positions the events that follow keep exact (absent: all) */
  readonly positions?: Positions
}

/** `dev:ino` as the native side writes it: st_dev as the C library's dev_t, in decimal. */
const inodeOf = (dev: bigint, ino: bigint): string => `${dev}:${ino}`

/** glibc's makedev, for the "major:minor" of /proc/PID/maps. */
const makedev = (major: bigint, minor: bigint): bigint =>
  ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn)

/** Reads that lose a race with an exiting process say so with undefined, not an exception. */
const gone = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ESRCH' || err.code === 'EACCES')

const maybe = <A>(f: () => A): A | undefined => {
  try {
    return f()
  } catch (err) {
    if (gone(err)) return undefined
    throw err
  }
}

/** A link's target as a name (src/events/names.ts): readlink's bytes, not a lossy UTF-8 string. */
const linkName = (link: string): string | undefined => {
  const b = maybe(() => readlinkSync(link, { encoding: 'buffer' }))
  return b === undefined ? undefined : nameFromBytes(b)
}

/** A name /proc shows for a descriptor or a mapping: without the kernel's " (deleted)", and whether
 *  that name is gone (a file may be called "x (deleted)": then the name holds that very file). */
const shownName = (raw: string, inode: string | null): { readonly path: string; readonly deleted: boolean } => {
  if (!raw.endsWith(DELETED_SUFFIX)) return { path: raw, deleted: false }
  const st = maybe(() => lstatSync(nameToBytes(raw), { bigint: true }))
  if (st !== undefined && inode !== null && inodeOf(st.dev, st.ino) === inode) return { path: raw, deleted: false }
  return { path: withoutDeleted(raw), deleted: true }
}

/** Permission bits and owner, as the interceptor's events carry them. */
const attributesOf = (st: BigIntStats): { mode: number; uid: number; gid: number } => ({ mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) })

const numbers = (dir: string): number[] =>
  (maybe(() => readdirSync(dir)) ?? []).map(Number).filter(Number.isSafeInteger).sort((a, b) => a - b)

const fdSnap = (pid: number, fd: number, files: Map<string, FileSnap>): FdSnap | undefined => {
  const link = `/proc/${pid}/fd/${fd}`
  const path = linkName(link)
  const info = maybe(() => readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))
  if (path === undefined || info === undefined) return undefined
  const pos = Number(/^pos:\s*(\d+)/m.exec(info)?.[1] ?? 0)
  const rawFlags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8)
  const st = maybe(() => statSync(link, { bigint: true }))
  const inode = st === undefined ? null : inodeOf(st.dev, st.ino)
  const shown = path.startsWith('/') ? shownName(path, inode) : { path, deleted: false }
  if (st !== undefined && path.startsWith('/') && !shown.deleted && (st.isFile() || st.isDirectory())) {
    files.set(path, { path, type: st.isFile() ? 'file' : 'dir', size: st.isFile() ? Number(st.size) : null, inode, target: null, ...attributesOf(st) })
  }
  return { fd, path: shown.path, flags: rawFlags & ~O_CLOEXEC, pos, cloexec: (rawFlags & O_CLOEXEC) !== 0, inode, ...(shown.deleted ? { deleted: true } : {}) }
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s+(.*)$/

const mapSnaps = (pid: number, files: Map<string, FileSnap>): MapSnap[] => {
  // latin1: one character per byte, so a name's bytes can be taken back out of the line
  const text = maybe(() => readFileSync(`/proc/${pid}/maps`, 'latin1')) ?? ''
  const out: MapSnap[] = []
  for (const line of text.split('\n')) {
    const m = MAPS_LINE.exec(line)
    if (m === null) continue
    const [, start, end, perms, offset, major, minor, ino, raw] = m
    if (!raw.startsWith('/') || ino === '0') continue
    const addr = parseInt(start, 16)
    const inode = inodeOf(makedev(BigInt(`0x${major}`), BigInt(`0x${minor}`)), BigInt(ino))
    const { path, deleted } = shownName(nameFromBytes(Buffer.from(raw, 'latin1')), inode)
    const prot = (perms[0] === 'r' ? PROT_READ : 0) | (perms[1] === 'w' ? PROT_WRITE : 0) | (perms[2] === 'x' ? PROT_EXEC : 0)
    out.push({ addr, len: parseInt(end, 16) - addr, prot, shared: perms[3] === 's', path, inode, offset: parseInt(offset, 16), ...(deleted ? { deleted } : {}) })
    if (!deleted && !files.has(path)) {
      const st = maybe(() => statSync(nameToBytes(path), { bigint: true }))
      if (st?.isFile() === true) files.set(path, { path, type: 'file', size: Number(st.size), inode: inodeOf(st.dev, st.ino), target: null, ...attributesOf(st) })
    }
  }
  return out
}

const procSnap = (pid: number, opts: SnapshotOptions, files: Map<string, FileSnap>): ProcSnap | undefined => {
  const stat = procStat(pid)
  if (stat === null) return undefined
  const wanted = opts.fds === 'all' ? numbers(`/proc/${pid}/fd`) : opts.fds
  const fds: FdSnap[] = []
  for (const fd of wanted) {
    const s = fdSnap(pid, fd, files)
    if (s !== undefined) fds.push(s)
  }
  return {
    pid,
    ppid: ppidIn(stat),
    exe: linkName(`/proc/${pid}/exe`) ?? '',
    cwd: linkName(`/proc/${pid}/cwd`) ?? '',
    threads: numbers(`/proc/${pid}/task`),
    fds,
    maps: opts.maps ? mapSnaps(pid, files) : [],
  }
}

/** The snapshot Draft of these processes (thread group ids); processes that vanished are left out. */
export const takeSnapshot = (pids: readonly number[], opts: SnapshotOptions): Draft => {
  const ts = BigInt(Date.now()) * 1_000_000n  // not after the events that follow it
  const files = new Map<string, FileSnap>()
  const procs: ProcSnap[] = []
  for (const pid of pids) {
    const p = procSnap(pid, opts, files)
    if (p !== undefined) procs.push(p)
  }
  const root = pids[0] ?? 0
  const body: Snapshot = { kind: 'snapshot', procs, files: [...files.values()], ...(opts.positions === undefined ? {} : { positions: opts.positions }) }
  return { ts, pid: root, tid: root, body }
}
