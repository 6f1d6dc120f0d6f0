// evolve(world, event) -> world: the one pure fold behind every answer. Total and exhaustive: a new
// event kind fails to compile until it is handled here. An event that refers to something eyrie
// never saw (an fd opened before tracing) changes nothing but the anomaly count.
import { absurd } from 'fp-ts/lib/function.js'
import {
  FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_TRUNC,
  PERMISSION_BITS, RENAME_EXCHANGE, SETFL_FLAGS, S_ISGID, S_ISUID, S_IXGRP, madeByMknod, writable,
  type Event, type EventOf, type MapSnap, type Snapshot,
} from '../events/index.js'
import { cloneRange, collapseRange, insertRange, punchHole, putBytes, putZeros, truncateTo, unknownContent } from './extents.js'
import { absentForSure, bindName, ensureDir, lookup, lookupOrAdopt, newNode, nodeOfName, nodeShown, renamePath, resolve, resolveParent, unbindName, unnamedNode } from './names.js'
import { closeFd, exec, exit, installFd, newOfd, ofdOf, positionKept, procOf, spawn, tableOf, writeOffset } from './procs.js'
import type { FsNode, Proc, View, World } from './state.js'
import { mapView, protectView, remapView, sharedRanges, unmapView } from './views.js'

export const evolve = (w: World, e: Event): World => {
  w.seq = e.seq
  switch (e.kind) {
    case 'snapshot': return applySnapshot(w, e)
    case 'proc.spawn': {
      const parent = procOf(w, e.pid, e.seq)
      if (e.thread) w.threads.set(e.child, parent.pid)
      else spawn(w, parent, e.child, e.shareFiles, e.seq)
      return w
    }
    case 'proc.exec': exec(w, procOf(w, e.pid, e.seq), e.exe ?? e.path, e.argv); return w
    case 'proc.exit': {
      if (e.thread && e.tid !== e.pid) w.threads.delete(e.tid)
      else exit(w, procOf(w, e.pid, e.seq), e.status, e.seq)
      return w
    }
    case 'proc.chdir': procOf(w, e.pid, e.seq).cwd = e.path; return w
    case 'proc.reparent': procOf(w, e.pid, e.seq).ppid = e.ppid; return w
    case 'proc.ioUring': {
      // no file state: what goes through the ring is not seen; the process is marked so answers say so
      const p = procOf(w, e.pid, e.seq)
      p.ioUring ??= e.seq
      return w
    }
    case 'fd.open': return openFd(w, e)
    case 'fd.dup': {
      const p = procOf(w, e.pid, e.seq)
      const o = ofdOf(w, p, e.fd)
      if (o === undefined) {
        // newFd now names something eyrie never saw: at least it no longer names its old file
        closeFd(w, tableOf(w, p), e.newFd)
        return anomaly(w)
      }
      if (e.fd !== e.newFd) installFd(w, tableOf(w, p), e.newFd, o, e.cloexec)
      return w
    }
    case 'fd.close':
      // a failed close still releases the fd on Linux, so sources report it whatever the result
      if (!closeFd(w, tableOf(w, procOf(w, e.pid, e.seq)), e.fd)) w.anomalies++
      return w
    case 'fd.closeRange': {
      const t = tableOf(w, procOf(w, e.pid, e.seq))
      for (const [fd, entry] of [...t.fds]) {
        if (fd < e.first || fd > e.last) continue
        if (e.cloexecOnly) entry.cloexec = true
        else closeFd(w, t, fd)
      }
      return w
    }
    case 'fd.cloexec': {
      const entry = tableOf(w, procOf(w, e.pid, e.seq)).fds.get(e.fd)
      if (entry === undefined) return anomaly(w)
      entry.cloexec = e.on
      return w
    }
    case 'fd.setfl': {
      // the description's: every fd that shares it (dup, fork) writes so from now on
      const o = ofdOf(w, procOf(w, e.pid, e.seq), e.fd)
      if (o === undefined) return anomaly(w)
      o.flags = (o.flags & ~SETFL_FLAGS) | (e.flags & SETFL_FLAGS)
      return w
    }
    case 'fd.seek': {
      const o = ofdOf(w, procOf(w, e.pid, e.seq), e.fd)
      if (o === undefined) return anomaly(w)
      o.pos = positionKept(w, o.flags) ? e.pos : null
      return w
    }
    case 'fd.read': {
      const o = ofdOf(w, procOf(w, e.pid, e.seq), e.fd)
      if (o === undefined) return anomaly(w)
      if (o.pos !== null) o.pos += e.len
      return w
    }
    case 'file.write': return writeFile(w, e)
    case 'file.truncate': {
      const node = e.fd !== null ? nodeOfFd(w, procOf(w, e.pid, e.seq), e.fd) : e.path !== null ? lookupOrAdopt(w, e.path, null) : undefined
      if (node === undefined) return anomaly(w)
      truncateTo(node.content, e.size)
      node.lastWrite = { seq: e.seq, pid: e.pid }
      return w
    }
    case 'file.allocate': return allocate(w, e)
    case 'file.clone': return cloneFile(w, e)
    // names as the kernel takes them: symlinks followed in their directories (a path an importer
    // did not canonicalise), never in their last part (link(2) links a symlink itself)
    case 'file.rename': renamePath(w, resolveParent(w, e.from), resolveParent(w, e.to), (e.flags & RENAME_EXCHANGE) !== 0, e.type); return w
    case 'file.unlink': unbindName(w, resolveParent(w, e.path)); return w
    case 'file.link': {
      const held = e.fd === undefined ? undefined : nodeOfFd(w, procOf(w, e.pid, e.seq), e.fd)
      const node = held ?? (e.inode !== undefined ? unnamedNode(w, e.inode) : e.follow === true ? lookupOrAdopt(w, e.from, null) : nodeOfName(w, e.from))
      bindName(w, resolveParent(w, e.to), node)
      return w
    }
    case 'file.symlink': {
      const node = newNode(w, 'symlink', null, true)
      node.target = e.target
      bindName(w, resolveParent(w, e.path), node)
      return w
    }
    case 'file.mkdir': {
      const path = resolveParent(w, e.path)
      ensureDir(w, path, true)
      const dir = lookup(w, path)
      if (dir !== undefined) seeAttributes(dir, e)
      return w
    }
    case 'file.chmod': nodeShown(w, e.path, e.inode ?? null).mode = e.mode & PERMISSION_BITS; return w
    case 'file.chown': {
      const node = e.nofollow === true ? nodeOfName(w, e.path) : nodeShown(w, e.path, e.inode ?? null)
      if (e.uid !== null) node.uid = e.uid
      if (e.gid !== null) node.gid = e.gid
      // Linux (since 2.2.13, root too): a chown of anything but a directory, even to -1 -1, takes
      // set-user-ID away, and set-group-ID where the group may execute
      if (node.type !== 'dir' && node.mode !== undefined) node.mode &= ~(S_ISUID | ((node.mode & S_IXGRP) !== 0 ? S_ISGID : 0))
      return w
    }
    case 'file.mknod': {
      const type = madeByMknod(e.mode)
      if (type === undefined) return anomaly(w)  // the kernel makes no such node (EINVAL)
      bindName(w, resolveParent(w, e.path), newNode(w, type, null, true))
      return w
    }
    case 'file.rmdir': unbindName(w, resolveParent(w, e.path)); return w
    case 'file.flush': {
      const node = nodeOfFd(w, procOf(w, e.pid, e.seq), e.fd)
      if (node === undefined) return anomaly(w)
      node.unflushed = 0
      return w
    }
    case 'file.observe': {
      const node = nodeShown(w, e.path, e.inode)
      // the kernel is the truth: what was observed replaces what eyrie believed
      if (e.size !== null) truncateTo(node.content, e.size)
      putBytes(node.content, e.offset, e.len, e.seq, e.known)
      return w
    }
    case 'file.sync': {
      // read back from the file: the kernel is the truth about its size and these bytes. It was read
      // through an fd: by inode it is the file even after an unlink or rename; the name is a hint
      const node = nodeShown(w, e.path, e.inode)
      truncateTo(node.content, e.size)
      putBytes(node.content, e.offset, e.len, e.seq, e.known)
      node.unflushed += e.len
      node.lastWrite = { seq: e.seq, pid: e.pid }
      return w
    }
    // a copy leaves the guest's file where it was (it had no name); eyrie's copy is outside the guest
    case 'file.quarantine': if (e.copied !== true) renamePath(w, e.path, e.to, false); return w
    case 'view.map': {
      const node = e.deleted === true ? unnamedNode(w, e.inode) : nodeShown(w, e.path, e.inode)
      mapView(w, procOf(w, e.pid, e.seq), viewOf(e, node))
      return w
    }
    case 'view.unmap': unmapView(w, procOf(w, e.pid, e.seq), e.addr, e.len); return w
    case 'view.remap': remapView(w, procOf(w, e.pid, e.seq), e.addr, e.len, e.newAddr, e.newLen); return w
    case 'view.protect': protectView(w, procOf(w, e.pid, e.seq), e.addr, e.len, e.prot); return w
    case 'view.remove':
      for (const r of sharedRanges(procOf(w, e.pid, e.seq), e.addr, e.len)) {
        const node = w.nodes.get(r.node)
        if (node !== undefined) punchHole(node.content, r.offset, r.len)
      }
      return w
    case 'view.sync': {
      const node = nodeShown(w, e.path, e.inode)
      putBytes(node.content, e.offset, e.len, e.seq, e.known)
      node.lastWrite = { seq: e.seq, pid: e.pid }
      return w
    }
    case 'scan.verdict': {
      const node = lookup(w, e.path)
      if (node !== undefined) node.lastVerdict = { seq: e.seq, verdict: e.verdict, signature: e.signature }
      return w
    }
    // a denial changes no file state: the call did not happen; the event explains why
    case 'access.denied': return w
    default: return absurd(e)
  }
}

/** What an open or a mkdir saw of a node's permissions and owner (a stat), where it says. */
const seeAttributes = (node: FsNode, e: { readonly mode?: number; readonly uid?: number; readonly gid?: number }): void => {
  if (e.mode !== undefined) node.mode = e.mode & PERMISSION_BITS
  if (e.uid !== undefined) node.uid = e.uid
  if (e.gid !== undefined) node.gid = e.gid
}

const anomaly = (w: World): World => {
  w.anomalies++
  return w
}

const nodeOfFd = (w: World, p: Proc, fd: number): FsNode | undefined => {
  const o = ofdOf(w, p, fd)
  return o === undefined ? undefined : w.nodes.get(o.node)
}

const openFd = (w: World, e: EventOf<'fd.open'>): World => {
  const p = procOf(w, e.pid, e.seq)
  const unnamed = e.deleted === true // O_TMPFILE and memfd_create make a file no name binds
  const path = unnamed ? e.path : resolve(w, e.path)
  let node: FsNode
  if (unnamed) node = e.created === true ? newNode(w, 'file', e.inode, true) : unnamedNode(w, e.inode)
  else if (e.created === true || (e.created === null && (e.flags & O_CREAT) !== 0 && absentForSure(w, path))) {
    // a new file: known to be empty, whatever eyrie believed the name held before
    node = newNode(w, 'file', e.inode, true)
    bindName(w, path, node)
  } else {
    node = lookupOrAdopt(w, path, e.inode)
    if ((e.flags & O_DIRECTORY) !== 0 && node.type === 'file' && node.content.size === null) node.type = 'dir'
    // a node eyrie knew nothing of (adopted as a file) is what the open found: a device, a fifo
    if (e.special !== undefined && node.type === 'file' && node.content.size === null && node.content.extents.length === 0) node.type = e.special
  }
  seeAttributes(node, e)
  if ((e.flags & O_TRUNC) !== 0 && writable(e.flags) && node.type === 'file') truncateTo(node.content, 0)
  // O_CREAT without `created` may or may not have made the file: its content stays unknown, not empty
  const o = newOfd(w, node.id, path, e.flags, 0)
  if (unnamed) o.nameGone = true
  installFd(w, tableOf(w, p), e.fd, o, (e.flags & O_CLOEXEC) !== 0)
  return w
}

const writeFile = (w: World, e: EventOf<'file.write'>): World => {
  const o = ofdOf(w, procOf(w, e.pid, e.seq), e.fd)
  if (o === undefined) return anomaly(w)
  const node = w.nodes.get(o.node)
  if (node === undefined) return anomaly(w)
  const c = node.content
  const offset = writeOffset(o, c.size, e.offset, e.append === true)
  if (offset === null) {
    // appended to a file of unknown size, or written at a position the recording does not know:
    // the bytes land somewhere eyrie cannot place
    node.content = unknownContent()
    if ((o.flags & O_APPEND) !== 0) o.pos = 0
    return anomaly(w)
  }
  putBytes(c, offset, e.len, e.seq, e.known)
  if (e.offset === null && o.pos !== null) o.pos = offset + e.len
  node.unflushed += e.len
  node.lastWrite = { seq: e.seq, pid: e.pid }
  return w
}

const cloneFile = (w: World, e: EventOf<'file.clone'>): World => {
  const p = procOf(w, e.pid, e.seq)
  const into = nodeOfFd(w, p, e.fd)
  if (into === undefined) return anomaly(w)
  const from = nodeOfFd(w, p, e.srcFd)
  const fromSize = from?.content.size ?? null
  const len = e.len > 0 ? e.len : fromSize === null ? null : Math.max(0, fromSize - e.srcOffset)
  // a source eyrie never saw, or one of unknown size cloned to its end: what it put there is unknown
  if (len === null) into.content = unknownContent()
  else if (from === undefined) putBytes(into.content, e.destOffset, len, e.seq, 0)
  else cloneRange(from.content, e.srcOffset, len, into.content, e.destOffset)
  into.lastWrite = { seq: e.seq, pid: e.pid }
  return from === undefined ? anomaly(w) : w
}

const allocate = (w: World, e: EventOf<'file.allocate'>): World => {
  const node = nodeOfFd(w, procOf(w, e.pid, e.seq), e.fd)
  if (node === undefined) return anomaly(w)
  const c = node.content
  // these two move the bytes after the range (the kernel allows no other flag with them)
  if ((e.mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) !== 0) {
    if ((e.mode & FALLOC_FL_COLLAPSE_RANGE) !== 0) collapseRange(c, e.offset, e.len)
    else insertRange(c, e.offset, e.len)
    return w
  }
  const keepSize = (e.mode & FALLOC_FL_KEEP_SIZE) !== 0
  const oldSize = c.size
  // PUNCH_HOLE comes with KEEP_SIZE (the kernel refuses it alone)
  if ((e.mode & FALLOC_FL_PUNCH_HOLE) !== 0) punchHole(c, e.offset, e.len)
  else if ((e.mode & FALLOC_FL_ZERO_RANGE) !== 0) putZeros(c, e.offset, e.len)
  else if (c.size !== null && e.offset + e.len > c.size) putZeros(c, c.size, e.offset + e.len - c.size)
  if (keepSize && oldSize !== null && c.size !== null && c.size > oldSize) truncateTo(c, oldSize)
  return w
}

/** The view a mapping (a view.map, a snapshot's) makes of its file. */
const viewOf = (m: Omit<MapSnap, 'inode'>, node: FsNode): View =>
  ({ addr: m.addr, len: m.len, prot: m.prot, shared: m.shared, node: node.id, path: m.path, offset: m.offset, ...(m.deleted === true ? { nameGone: true } : {}) })

const applySnapshot = (w: World, e: Snapshot & { seq: number }): World => {
  w.positions = e.positions ?? 'all'
  for (const f of e.files) {
    if (f.type === 'dir') {
      ensureDir(w, f.path, false)
      const dir = lookup(w, f.path)
      if (dir !== undefined) seeAttributes(dir, f)
    } else if (f.type === 'symlink') {
      const node = newNode(w, 'symlink', f.inode, true)
      node.target = f.target
      bindName(w, f.path, node)
    } else {
      const node = lookupOrAdopt(w, f.path, f.inode)
      if (f.size !== null && node.content.size === null && node.content.extents.length === 0) node.content.size = f.size
      seeAttributes(node, f)
    }
  }
  for (const s of e.procs) {
    const p = procOf(w, s.pid, e.seq)
    p.ppid = s.ppid
    p.exe = s.exe
    p.cwd = s.cwd
    for (const tid of s.threads) if (tid !== s.pid) w.threads.set(tid, s.pid)
    const t = tableOf(w, p)
    for (const f of s.fds) {
      const node = f.deleted === true ? unnamedNode(w, f.inode) : f.path.startsWith('/') ? lookupOrAdopt(w, f.path, f.inode) : newNode(w, 'file', f.inode, false)
      const o = newOfd(w, node.id, f.path, f.flags, f.pos)
      if (f.deleted === true) o.nameGone = true
      installFd(w, t, f.fd, o, f.cloexec)
    }
    for (const m of s.maps) {
      const node = m.deleted === true ? unnamedNode(w, m.inode) : lookupOrAdopt(w, m.path, m.inode)
      mapView(w, p, viewOf(m, node))
    }
  }
  return w
}

/** Fold a sequence of events into a world. */
export const fold = (w: World, events: Iterable<Event>): World => {
  for (const e of events) evolve(w, e)
  return w
}
