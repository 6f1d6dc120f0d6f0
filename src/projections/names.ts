// The name space: absolute path -> node. Renames of directories move every name below them.
import { knownEmpty, unknownContent } from './extents.js'
import { newId, type FsNode, type NodeId, type World } from './state.js'

const MAX_SYMLINKS = 40

export const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

/** Lexical join + normalisation of a symlink target against the link's directory. */
export const joinPath = (dir: string, rel: string): string => {
  const parts = (rel.startsWith('/') ? rel : `${dir}/${rel}`).split('/')
  const out: string[] = []
  for (const p of parts) {
    if (p === '' || p === '.') continue
    if (p === '..') out.pop()
    else out.push(p)
  }
  return `/${out.join('/')}`
}

export const newNode = (w: World, type: FsNode['type'], inode: string | null, known: boolean): FsNode => {
  const node: FsNode = {
    id: newId(w),
    type,
    inode,
    content: known ? knownEmpty() : unknownContent(),
    target: null,
    complete: false,
    links: 0,
    opens: 0,
    views: 0,
    unflushed: 0,
    lastWrite: null,
    lastVerdict: null,
  }
  w.nodes.set(node.id, node)
  if (inode !== null) w.byInode.set(inode, node.id)
  return node
}

/** Forget a node nothing refers to any more: no name, no open description, no view. */
export const releaseIfUnused = (w: World, node: FsNode): void => {
  if (node.links > 0 || node.opens > 0 || node.views > 0) return
  w.nodes.delete(node.id)
  if (node.inode !== null && w.byInode.get(node.inode) === node.id) w.byInode.delete(node.inode)
}

export const bindName = (w: World, path: string, node: FsNode): void => {
  const old = w.names.get(path)
  if (old === node.id) return
  if (old !== undefined) unbindName(w, path)
  w.names.set(path, node.id)
  node.links++
  // a name below one adopted as a file (opened without O_DIRECTORY, nothing of its content ever
  // known: an strace log does not say the type) shows that it is a directory
  const parentId = w.names.get(parentOf(path))
  const parent = parentId === undefined ? undefined : w.nodes.get(parentId)
  if (parent !== undefined && parent.type === 'file' && parent.content.size === null && parent.content.extents.length === 0) parent.type = 'dir'
}

export const unbindName = (w: World, path: string): void => {
  const id = w.names.get(path)
  if (id === undefined) return
  w.names.delete(path)
  const node = w.nodes.get(id)
  if (node === undefined) return
  node.links--
  if (node.opens > 0 || node.views > 0) nameGone(w, path, id)
  releaseIfUnused(w, node)
}

/** Descriptors and views that show `path` for the file it named no longer have a name (the kernel's
 *  " (deleted)"), even where the file has another. */
const nameGone = (w: World, path: string, id: NodeId): void => {
  for (const o of w.ofds.values()) if (o.node === id && o.path === path) o.nameGone = true
  for (const p of w.procs.values()) for (const v of p.views) if (v.node === id && v.path === path) v.nameGone = true
}

/** Follow symlinks in the last component and, when a name is missing, in its parent directories. */
export const resolve = (w: World, path: string): string => {
  let p = path
  for (let hops = 0; hops < MAX_SYMLINKS; hops++) {
    const id = w.names.get(p)
    const node = id === undefined ? undefined : w.nodes.get(id)
    if (node !== undefined) {
      if (node.type !== 'symlink' || node.target === null) return p
      p = joinPath(parentOf(p), node.target)
      continue
    }
    const moved = resolveParent(w, p)
    if (moved === p) return p
    p = moved
  }
  return p
}

/** A name as the kernel takes it for calls that act on the name itself (mkdir, rmdir, unlink,
 *  symlink, rename, link's two names): symlinks followed in its directories, not in its last part. */
export const resolveParent = (w: World, path: string): string => {
  const parent = parentOf(path)
  if (parent === path || parent === '/') return path
  const rp = resolve(w, parent)
  return rp === parent ? path : joinPath(rp, path.slice(parent.length + 1))
}

/** The node a path names now, or undefined. */
export const lookup = (w: World, path: string): FsNode | undefined => {
  const id = w.names.get(resolve(w, path))
  return id === undefined ? undefined : w.nodes.get(id)
}

/** The node a name itself is (a symlink is itself, not what it points to), creating an
 *  unknown-content file there if eyrie has never seen it. */
export const nodeOfName = (w: World, path: string): FsNode => {
  const p = resolveParent(w, path)
  const id = w.names.get(p)
  const node = id === undefined ? undefined : w.nodes.get(id)
  if (node !== undefined) return node
  const adopted = newNode(w, 'file', null, false)
  bindName(w, p, adopted)
  return adopted
}

/** The node a descriptor or a mapping shows (file.observe, file.sync, view.map, view.sync): by
 *  inode when eyrie knows it, whatever names it has now (unlinked, or its name another file's since
 *  a rename: the path, read from the descriptor, is only a hint); else as lookupOrAdopt. */
export const nodeShown = (w: World, path: string, inode: string | null): FsNode => nodeOfInode(w, inode) ?? lookupOrAdopt(w, path, inode)

/** The node of a file whose name is gone (a descriptor or a mapping of R(0) that /proc shows
 *  " (deleted)"): by inode when eyrie knows it, else a new one with no name. */
export const unnamedNode = (w: World, inode: string | null): FsNode => nodeOfInode(w, inode) ?? newNode(w, 'file', inode, false)

const nodeOfInode = (w: World, inode: string | null): FsNode | undefined => {
  const id = inode === null ? undefined : w.byInode.get(inode)
  return id === undefined ? undefined : w.nodes.get(id)
}

/** The node a path names, creating an unknown-content file if eyrie has never seen it. */
export const lookupOrAdopt = (w: World, path: string, inode: string | null): FsNode => {
  const known = nodeOfInode(w, inode)
  if (known !== undefined) {
    if (w.names.get(path) !== known.id) bindName(w, path, known)
    return known
  }
  const found = lookup(w, path)
  if (found !== undefined) {
    if (found.inode === null && inode !== null) {
      found.inode = inode
      w.byInode.set(inode, found.id)
    }
    return found
  }
  const node = newNode(w, 'file', inode, false)
  bindName(w, resolve(w, path), node)
  return node
}

/** Every name at or below `dir` (the directory itself included) with the node it names. */
export const namesUnder = (w: World, dir: string): Array<readonly [string, NodeId]> => {
  const prefix = dir === '/' ? '/' : `${dir}/`
  const out: Array<readonly [string, NodeId]> = []
  for (const entry of w.names) if (entry[0] === dir || entry[0].startsWith(prefix)) out.push(entry)
  return out
}

export const renamePath = (w: World, from: string, to: string, exchange: boolean, type: FsNode['type'] = 'file'): void => {
  // rename(2): when both are names of one file, nothing happens (both stay)
  if (from === to || (w.names.has(from) && w.names.get(from) === w.names.get(to))) return
  const moving = namesUnder(w, from)
  if (moving.length === 0) {
    // eyrie never saw the source: the destination now names something unknown (of the type the
    // recorder saw arrive there, if it said)
    unbindName(w, to)
    bindName(w, to, newNode(w, type, null, false))
    return
  }
  const back = exchange ? namesUnder(w, to) : []
  for (const [n] of moving) w.names.delete(n)
  for (const [n] of back) w.names.delete(n)
  // a plain rename replaces whatever `to` named; that node loses its name but may live on through an fd
  if (!exchange) for (const [n] of namesUnder(w, to)) unbindName(w, n)
  for (const [n, id] of moving) w.names.set(to + n.slice(from.length), id)
  for (const [n, id] of back) w.names.set(from + n.slice(to.length), id)
  // open descriptions and views follow their name, as /proc/PID/fd and /proc/PID/maps do; one whose
  // name is gone (nameGone) keeps it, even when it names the same file again
  const movedTo = new Map<string, { readonly to: string; readonly id: NodeId }>()
  for (const [n, id] of moving) movedTo.set(n, { to: to + n.slice(from.length), id })
  for (const [n, id] of back) movedTo.set(n, { to: from + n.slice(to.length), id })
  const follow = (x: { path: string; node: NodeId; nameGone?: boolean }): void => {
    const m = x.nameGone === true ? undefined : movedTo.get(x.path)
    if (m !== undefined && m.id === x.node) x.path = m.to
  }
  for (const o of w.ofds.values()) follow(o)
  for (const proc of w.procs.values()) {
    for (const v of proc.views) follow(v)
    // and a live process's working directory and program, as /proc/PID/cwd and exe do
    if (!proc.live) continue
    if (proc.cwd !== null) proc.cwd = movedTo.get(proc.cwd)?.to ?? proc.cwd
    if (proc.exe !== null) proc.exe = movedTo.get(proc.exe)?.to ?? proc.exe
  }
}

/** mkdir (complete: the directory starts empty, so eyrie knows all it will hold) or a directory
 *  known from a snapshot (not complete). */
export const ensureDir = (w: World, path: string, complete: boolean): void => {
  const id = w.names.get(path)
  const old = id === undefined ? undefined : w.nodes.get(id)
  if (old !== undefined && old.type === 'dir' && !complete) return
  const dir = newNode(w, 'dir', null, true)
  dir.complete = complete
  bindName(w, path, dir)
}

/** A name absent from a complete directory does not exist: a file opened there with O_CREAT is new. */
export const absentForSure = (w: World, path: string): boolean => {
  if (w.names.has(path)) return false
  const id = w.names.get(parentOf(path))
  const dir = id === undefined ? undefined : w.nodes.get(id)
  return dir !== undefined && dir.type === 'dir' && dir.complete
}

export type { NodeId }
