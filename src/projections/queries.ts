// Read-only answers over a world: what `eyrie at T ...` prints. Pure; nothing here mutates.
import { O_ACCMODE, O_APPEND, O_RDONLY, O_RDWR, O_WRONLY, S_ISGID, S_ISUID, S_ISVTX } from '../events/index.js'
import { readPlan, type Piece } from './extents.js'
import { lookup, namesUnder, resolve } from './names.js'
import type { FsNode, NodeId, Ofd, World } from './state.js'

/** Attributes: a symlink's mode is always 0777; null: not known (a file the recording never opened) */
export interface LsEntry extends Attributes {
  readonly path: string
  readonly type: FsNode['type']
  readonly size: number | null
  readonly unknownBytes: number | null
  readonly target: string | null
  readonly lastWriteSeq: number | null
  readonly writerPid: number | null
  readonly writerExe: string | null
  /** its size and bytes are as last read back and may lack some written since (readBackNote) */
  readonly lagging: boolean
}

const unknownBytes = (n: FsNode): number | null =>
  n.content.size === null ? null : readPlan(n.content).reduce((acc, p) => acc + ('unknown' in p ? p.end - p.start : 0), 0)

export const ls = (w: World, dir = '/'): LsEntry[] => {
  const out: LsEntry[] = []
  const held = heldForWriting(w)
  for (const [path, id] of namesUnder(w, dir)) {
    const n = w.nodes.get(id)
    if (n === undefined) continue
    out.push({
      path,
      type: n.type,
      ...attributesOf(n),
      mode: n.type === 'symlink' ? 0o777 : (n.mode ?? null),
      size: n.type === 'file' ? n.content.size : null,
      unknownBytes: n.type === 'file' ? unknownBytes(n) : null,
      target: n.target,
      lastWriteSeq: n.lastWrite?.seq ?? null,
      writerPid: n.lastWrite?.pid ?? null,
      writerExe: n.lastWrite === null ? null : (w.procs.get(n.lastWrite.pid)?.exe ?? null),
      lagging: held.has(id),
    })
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** What the world last saw of a node's permission bits (07777) and owner; null: not known. */
export interface Attributes { readonly mode: number | null; readonly uid: number | null; readonly gid: number | null }

export const attributesOf = (n: FsNode | undefined): Attributes => ({ mode: n?.mode ?? null, uid: n?.uid ?? null, gid: n?.gid ?? null })

/** A change between two states: a part both know, and differently (learning one is no change). */
export const attributesDiffer = (a: Attributes, b: Attributes): boolean => {
  const changed = (x: number | null, y: number | null): boolean => x !== null && y !== null && x !== y
  return changed(a.mode, b.mode) || changed(a.uid, b.uid) || changed(a.gid, b.gid)
}

const TYPE_LETTERS: Record<FsNode['type'], string> = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', socket: 's', char: 'c', block: 'b' }

/** As ls -l shows a mode: `-rwsr-xr-x`; `?` for each permission when they are not known. */
export const modeString = (type: FsNode['type'], mode: number | null): string => {
  if (mode === null) return `${TYPE_LETTERS[type]}?????????`
  const triple = (shift: number, special: number, on: string, off: string): string => {
    const r = (mode >> shift) & 4 ? 'r' : '-'
    const w = (mode >> shift) & 2 ? 'w' : '-'
    const x = (mode >> shift) & 1
    return r + w + ((mode & special) !== 0 ? (x ? on : off) : x ? 'x' : '-')
  }
  return TYPE_LETTERS[type] + triple(6, S_ISUID, 's', 'S') + triple(3, S_ISGID, 's', 'S') + triple(0, S_ISVTX, 't', 'T')
}

/** owner:group as numbers (the guest's names need not be the host's), `?` where not known */
export const ownerString = (uid: number | null, gid: number | null): string => `${uid ?? '?'}:${gid ?? '?'}`

export const accessMode = (flags: number): string => {
  const acc = flags & O_ACCMODE
  const m = acc === O_RDONLY ? 'r' : acc === O_WRONLY ? 'w' : acc === O_RDWR ? 'rw' : '?'
  return (flags & O_APPEND) !== 0 ? `${m}a` : m
}

export interface FdRow {
  readonly pid: number
  readonly fd: number
  readonly path: string
  readonly mode: string
  /** null: unknown (the recording did not see the calls that move it) */
  readonly pos: number | null
  readonly cloexec: boolean
  /** the name it shows was unlinked or replaced (the kernel's " (deleted)"), or the file has none */
  readonly deleted: boolean
}

/** Every descriptor of every live process (or of `pid`), by pid and then fd, with its open file description. */
function* liveFds(w: World, pid?: number): Generator<{ readonly pid: number; readonly fd: number; readonly cloexec: boolean; readonly ofd: Ofd }> {
  for (const p of w.procs.values()) {
    if (!p.live || (pid !== undefined && p.pid !== pid)) continue
    for (const [fd, e] of [...(w.tables.get(p.table)?.fds ?? [])].sort((a, b) => a[0] - b[0])) {
      const ofd = w.ofds.get(e.ofd)
      if (ofd !== undefined) yield { pid: p.pid, fd, cloexec: e.cloexec, ofd }
    }
  }
}

/** Whether the name a descriptor or view shows is gone, as the kernel's " (deleted)" says: only a
 *  file's name can be (a pipe's or a socket's, "pipe:[N]", is no name in the tree). */
const shownGone = (w: World, x: { readonly node: NodeId; readonly path: string; readonly nameGone?: boolean }): boolean =>
  x.path.startsWith('/') && (x.nameGone === true || (w.nodes.get(x.node)?.links ?? 0) === 0)

export const fds = (w: World, pid?: number): FdRow[] =>
  [...liveFds(w, pid)].map(({ pid, fd, cloexec, ofd: o }) => ({ pid, fd, path: o.path, mode: accessMode(o.flags), pos: o.pos, cloexec, deleted: shownGone(w, o) }))

export interface MapRow {
  readonly pid: number
  readonly start: number
  readonly end: number
  readonly prot: string
  readonly shared: boolean
  readonly offset: number
  readonly path: string
  /** as FdRow.deleted */
  readonly deleted: boolean
}

const protString = (prot: number): string => `${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}${prot & 4 ? 'x' : '-'}`

export const maps = (w: World, pid?: number): MapRow[] => {
  const out: MapRow[] = []
  for (const p of w.procs.values()) {
    if (!p.live || (pid !== undefined && p.pid !== pid)) continue
    for (const v of p.views) out.push({ pid: p.pid, start: v.addr, end: v.addr + v.len, prot: protString(v.prot), shared: v.shared, offset: v.offset, path: v.path, deleted: shownGone(w, v) })
  }
  return out
}

export interface PsRow {
  readonly pid: number
  readonly ppid: number
  readonly exe: string | null
  readonly argv: readonly string[]
  readonly cwd: string | null
  readonly live: boolean
  readonly status: number | null
  readonly fds: number
  readonly startSeq: number
  readonly endSeq: number | null
  /** seq from which it used io_uring (file changes through the ring are not journaled), or null */
  readonly ioUring: number | null
}

export const ps = (w: World): PsRow[] =>
  [...w.procs.values()]
    .map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      exe: p.exe,
      argv: p.argv,
      cwd: p.cwd,
      live: p.live,
      status: p.status,
      fds: p.live ? (w.tables.get(p.table)?.fds.size ?? 0) : 0,
      startSeq: p.startSeq,
      endSeq: p.endSeq,
      ioUring: p.ioUring ?? null,
    }))
    .sort((a, b) => a.startSeq - b.startSeq || a.pid - b.pid)

/** Processes that used io_uring up to this world's seq, each with the seq it started: the file state
 *  is incomplete wherever they submitted file operations through a ring (eyrie sees no call for them). */
export const ioUringUsers = (w: World): Array<{ readonly pid: number; readonly seq: number }> =>
  [...w.procs.values()].flatMap((p) => (p.ioUring === undefined ? [] : [{ pid: p.pid, seq: p.ioUring }])).sort((a, b) => a.seq - b.seq || a.pid - b.pid)

/** One line saying so, or null when no process used io_uring. */
export const ioUringNote = (w: World): string | null => {
  const users = ioUringUsers(w)
  if (users.length === 0) return null
  const who = users.map((u) => `${u.pid} (from #${u.seq})`).join(', ')
  return `file state at #${w.seq} is incomplete: process${users.length > 1 ? 'es' : ''} ${who} used io_uring, whose file operations are not journaled`
}

/** Record's read-back mode (its snapshot says positions 'none') reads a written file back where it
 *  can be observed, not at each write: while a live process holds the file open for writing, its
 *  content at #seq is as last read back and may lack bytes written since. Says so, or null (no such
 *  holder, another mode, or the file read back at this very seq). */
export const readBackNote = (w: World, path: string): string | null => {
  const node = lookup(w, path)
  const holders = node === undefined ? undefined : heldForWriting(w).get(node.id)
  if (node === undefined || holders === undefined) return null
  const asOf = node.lastWrite === null ? 'as first seen' : `as read back at #${node.lastWrite.seq}`
  return `${path} at #${w.seq}: held open for writing by ${holders.join(', ')}; recorded writes are read back where they can be observed (closes, opens by others, exec, exit, a writer's own calls up to 1 MiB), so this is the content ${asOf} and may lack bytes written since`
}

/** In read-back mode, the files whose content may lag (readBackNote), each with its holders
 *  ("PID (fd N)"); empty in another mode. */
export const heldForWriting = (w: World): Map<NodeId, string[]> => {
  const out = new Map<NodeId, string[]>()
  if (w.positions !== 'none') return out
  for (const { pid, fd, ofd } of liveFds(w)) {
    if ((ofd.flags & O_ACCMODE) === O_RDONLY || ofd.path.startsWith('/dev/') || ofd.path.startsWith('/proc/')) continue // devices and /proc are not read back
    const node = w.nodes.get(ofd.node)
    if (node === undefined || node.type !== 'file' || node.lastWrite?.seq === w.seq) continue // read back at this very seq
    const list = out.get(node.id)
    if (list === undefined) out.set(node.id, [`${pid} (fd ${fd})`])
    else list.push(`${pid} (fd ${fd})`)
  }
  return out
}

/** The paper's per-guest open-file table: every file with fds or views, and its write buffer. */
export interface OpenFileRow {
  readonly path: string
  readonly deleted: boolean
  readonly fds: ReadonlyArray<{ readonly pid: number; readonly fd: number; readonly mode: string }>
  readonly views: ReadonlyArray<{ readonly pid: number; readonly start: number; readonly end: number; readonly shared: boolean }>
  readonly unflushed: number
}

export const openFiles = (w: World): OpenFileRow[] => {
  const rows = new Map<number, { path: string; fds: { pid: number; fd: number; mode: string }[]; views: { pid: number; start: number; end: number; shared: boolean }[] }>()
  const row = (node: number, path: string) => {
    let r = rows.get(node)
    if (r === undefined) rows.set(node, (r = { path, fds: [], views: [] }))
    return r
  }
  for (const p of w.procs.values()) {
    if (!p.live) continue
    for (const [fd, e] of w.tables.get(p.table)?.fds ?? []) {
      const o = w.ofds.get(e.ofd)
      if (o !== undefined) row(o.node, o.path).fds.push({ pid: p.pid, fd, mode: accessMode(o.flags) })
    }
    for (const v of p.views) row(v.node, v.path).views.push({ pid: p.pid, start: v.addr, end: v.addr + v.len, shared: v.shared })
  }
  return [...rows].map(([node, r]) => ({
    path: r.path,
    deleted: r.path.startsWith('/') && (w.nodes.get(node)?.links ?? 0) === 0, // a pipe has no name to lose
    fds: r.fds,
    views: r.views,
    unflushed: w.nodes.get(node)?.unflushed ?? 0,
  })).sort((a, b) => (a.path < b.path ? -1 : 1))
}

const kindName = { fifo: 'a named pipe', socket: 'a Unix socket', char: 'a character device', block: 'a block device' } as const

/** What `cat` needs: the pieces of a file's content, or why there are none. */
export type ContentPlan =
  | { readonly ok: true; readonly path: string; readonly size: number | null; readonly pieces: readonly Piece[] }
  | { readonly ok: false; readonly reason: string }

export const contentPlan = (w: World, path: string): ContentPlan => {
  const node = lookup(w, path)
  if (node === undefined) return { ok: false, reason: `no file ${path} at #${w.seq}` }
  if (node.type === 'dir') return { ok: false, reason: `${path} is a directory` }
  if (node.type !== 'file' && node.type !== 'symlink') return { ok: false, reason: `${path} is a ${node.type} (${kindName[node.type]}): it holds no content` }
  return { ok: true, path: resolve(w, path), size: node.content.size, pieces: readPlan(node.content) }
}
