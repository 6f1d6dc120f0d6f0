// Processes and their fd tables: fork copies the table (sharing open file descriptions), CLONE_FILES
// and threads share the table itself, exec closes CLOEXEC fds and unshares, exit closes everything.
import { O_APPEND, writable } from '../events/index.js'
import { releaseIfUnused } from './names.js'
import { newId, type FdTable, type Ofd, type Proc, type World } from './state.js'

const newTable = (w: World): FdTable => {
  const t: FdTable = { id: newId(w), refs: 1, fds: new Map() }
  w.tables.set(t.id, t)
  return t
}

/** The process a task belongs to; a pid eyrie has never seen (the traced command's first process
 *  in an strace log) is adopted with what little is known. */
export const procOf = (w: World, pid: number, seq: number): Proc => {
  const p = w.procs.get(pid)
  // an exited pid that acts again was reused by a process whose spawn eyrie did not see
  if (p !== undefined && p.live) return p
  const proc: Proc = { pid, ppid: 0, exe: null, argv: [], cwd: null, live: true, status: null, table: newTable(w).id, views: [], startSeq: seq, endSeq: null }
  w.procs.set(pid, proc)
  return proc
}

export const tableOf = (w: World, p: Proc): FdTable => {
  const t = w.tables.get(p.table)
  if (t === undefined) throw new Error(`bug: process ${p.pid} has no fd table ${p.table}`)
  return t
}

export const ofdOf = (w: World, p: Proc, fd: number): Ofd | undefined => {
  const e = tableOf(w, p).fds.get(fd)
  return e === undefined ? undefined : w.ofds.get(e.ofd)
}

/** The open file description behind a live process's fd, read only (ofdOf as the fold sees it,
 *  for code that looks at R(t) before folding an event into it). */
export const descriptionOf = (w: World, pid: number, fd: number): Ofd | undefined => {
  const p = w.procs.get(pid)
  const e = p === undefined || !p.live ? undefined : w.tables.get(p.table)?.fds.get(fd)
  return e === undefined ? undefined : w.ofds.get(e.ofd)
}

/** Where a write through `o` lands in a file of `size` bytes: at the end on an O_APPEND description
 *  (even with an explicit offset: Linux pwrite appends on such fds, pwrite(2) BUGS) or for the call's
 *  own `append` (pwritev2's RWF_APPEND), else at its offset, else at the description's position.
 *  null: a place eyrie does not know. */
export const writeOffset = (o: Ofd, size: number | null, offset: number | null, append = false): number | null =>
  append || (o.flags & O_APPEND) !== 0 ? size : offset ?? o.pos

const releaseOfd = (w: World, id: number): void => {
  const o = w.ofds.get(id)
  if (o === undefined || --o.refs > 0) return
  w.ofds.delete(id)
  const node = w.nodes.get(o.node)
  if (node === undefined) return
  node.opens--
  releaseIfUnused(w, node)
}

export const closeFd = (w: World, t: FdTable, fd: number): boolean => {
  const e = t.fds.get(fd)
  if (e === undefined) return false
  t.fds.delete(fd)
  releaseOfd(w, e.ofd)
  return true
}

export const installFd = (w: World, t: FdTable, fd: number, ofd: Ofd, cloexec: boolean): void => {
  closeFd(w, t, fd)
  ofd.refs++
  t.fds.set(fd, { ofd: ofd.id, cloexec })
}

/** Whether the recording keeps this description's position (World.positions). */
export const positionKept = (w: World, flags: number): boolean => w.positions === 'all' || (w.positions === 'writable' && writable(flags))

export const newOfd = (w: World, node: number, path: string, flags: number, pos: number): Ofd => {
  const o: Ofd = { id: newId(w), node, path, flags, pos: positionKept(w, flags) ? pos : null, refs: 0 }
  w.ofds.set(o.id, o)
  const n = w.nodes.get(node)
  if (n !== undefined) n.opens++
  return o
}

const copyTable = (w: World, from: FdTable): FdTable => {
  const t = newTable(w)
  for (const [fd, e] of from.fds) {
    const o = w.ofds.get(e.ofd)
    if (o !== undefined) o.refs++
    t.fds.set(fd, { ofd: e.ofd, cloexec: e.cloexec })
  }
  return t
}

const dropTable = (w: World, id: number): void => {
  const t = w.tables.get(id)
  if (t === undefined || --t.refs > 0) return
  for (const fd of [...t.fds.keys()]) closeFd(w, t, fd)
  w.tables.delete(id)
}

export const dropViews = (w: World, p: Proc): void => {
  for (const v of p.views) {
    const node = w.nodes.get(v.node)
    if (node === undefined) continue
    node.views--
    releaseIfUnused(w, node)
  }
  p.views = []
}

export const spawn = (w: World, parent: Proc, child: number, shareFiles: boolean, seq: number): void => {
  const old = w.procs.get(child)
  if (old !== undefined && old.live) exit(w, old, null, seq) // a recycled pid whose exit eyrie missed
  let table: number
  if (shareFiles) {
    tableOf(w, parent).refs++
    table = parent.table
  } else table = copyTable(w, tableOf(w, parent)).id
  const views = parent.views.map((v) => ({ ...v }))
  for (const v of views) {
    const node = w.nodes.get(v.node)
    if (node !== undefined) node.views++
  }
  w.procs.set(child, {
    pid: child,
    ppid: parent.pid,
    exe: parent.exe,
    argv: parent.argv,
    cwd: parent.cwd,
    live: true,
    status: null,
    table,
    views,
    startSeq: seq,
    endSeq: null,
  })
}

export const exec = (w: World, p: Proc, path: string, argv: string[]): void => {
  let t = tableOf(w, p)
  if (t.refs > 1) {
    // exec unshares a table shared through CLONE_FILES
    const own = copyTable(w, t)
    t.refs--
    p.table = own.id
    t = own
  }
  for (const [fd, e] of [...t.fds]) if (e.cloexec) closeFd(w, t, fd)
  dropViews(w, p)
  p.exe = path
  p.argv = argv
  for (const [tid, pid] of [...w.threads]) if (pid === p.pid) w.threads.delete(tid)
}

export const exit = (w: World, p: Proc, status: number | null, seq: number): void => {
  if (!p.live) return
  dropTable(w, p.table)
  dropViews(w, p)
  p.live = false
  p.status = status
  p.endSeq = seq
  for (const [tid, pid] of [...w.threads]) if (pid === p.pid) w.threads.delete(tid)
}
