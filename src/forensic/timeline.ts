// `timeline PATH`: every version of what PATH named, one row per event that changed it (a write, a
// truncate, a rename onto or away from it, an unlink, a chmod or chown, ...). One pass of the fold over the journal;
// digests are computed as the pass goes, and a version that only appended to a fully known previous
// version extends that version's hash instead of re-reading the file.
import { createHash, type Hash } from 'node:crypto'
import { O_TRUNC, type Event } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import { attributesDiffer, attributesOf, decodeWorld, descriptionOf, emptyWorld, evolve, lookup, readPlan, sharedRanges, writeOffset, type Attributes, type FsNode, type World } from '../projections/index.js'
import { hashPieces, PayloadCache, planRange, type Range } from './content.js'

/** A version with its permission bits and owner (Attributes; null: not known). */
export interface Version extends Attributes {
  readonly seq: number
  readonly ts: bigint
  /** the event that made this version */
  readonly kind: Event['kind']
  readonly pid: number
  readonly exe: string | null
  /** what PATH names now: absent after an unlink or a rename away */
  readonly type: FsNode['type'] | 'absent'
  /** the file's identity in the fold; a new id at the same path is a replacement */
  readonly node: number | null
  readonly size: number | null
  readonly unknownBytes: number | null
  readonly sha256: string | null
}

export interface TimelineOptions {
  /** versions made by events after this seq (default 0: all) */
  readonly from?: number
  readonly to?: number
  readonly onProgress?: (done: number, total: number) => void
}

/** The node an fd-based event acts on, without adopting anything (this runs before evolve). */
const nodeOfFd = (w: World, pid: number, fd: number): FsNode | undefined => {
  const p = w.procs.get(pid)
  if (p === undefined || !p.live) return undefined
  const e = w.tables.get(p.table)?.fds.get(fd)
  const o = e === undefined ? undefined : w.ofds.get(e.ofd)
  return o === undefined ? undefined : w.nodes.get(o.node)
}

/** Does this event change the content of `node`? Decided before evolve for fd-based kinds (the fd may
 *  be gone after) and after it for path-based ones (the name may be bound by it). */
const touchesBefore = (w: World, e: Event, node: FsNode | undefined): boolean => {
  if (node === undefined) return false
  switch (e.kind) {
    case 'file.write':
    case 'file.allocate':
    case 'file.clone':
      return nodeOfFd(w, e.pid, e.fd) === node
    case 'view.remove': {
      const p = w.procs.get(e.pid)
      return p !== undefined && sharedRanges(p, e.addr, e.len).some((r) => r.node === node.id)
    }
    case 'file.truncate':
      return e.fd !== null && nodeOfFd(w, e.pid, e.fd) === node
    default:
      return false
  }
}

const touchesAfter = (w: World, e: Event, node: FsNode | undefined): boolean => {
  if (node === undefined) return false
  switch (e.kind) {
    case 'file.truncate':
      return e.path !== null && lookup(w, e.path) === node
    case 'file.observe':
    case 'file.sync':
    case 'view.sync':
      return lookup(w, e.path) === node || (e.inode !== null && w.byInode.get(e.inode) === node.id)
    case 'fd.open':
      return (e.flags & O_TRUNC) !== 0 && nodeOfFd(w, e.pid, e.fd) === node
    case 'snapshot':
      return true
    default:
      return false
  }
}

interface Running { readonly node: FsNode; readonly size: number; readonly hash: Hash }

export const timeline = async (j: Journal, guest: string, path: string, opts: TimelineOptions = {}): Promise<Version[]> => {
  const last = await j.lastSeq(guest)
  const to = Math.min(opts.to ?? last, last)
  const from = Math.max(0, opts.from ?? 0)
  const cp = from === 0 ? undefined : await j.checkpointAtOrBefore(guest, from)
  const w = cp === undefined ? emptyWorld() : decodeWorld(cp.state)
  const cache = new PayloadCache(j, guest)
  const versions: Version[] = []
  let running: Running | undefined // the hash of the latest version, while it is fully known
  let current = lookup(w, path)

  const record = async (e: Event, node: FsNode | undefined, appendFrom: number | null): Promise<void> => {
    const exe = w.procs.get(e.pid)?.exe ?? null
    const seen = attributesOf(node)
    if (node === undefined || node.type !== 'file') {
      running = undefined
      versions.push({ seq: e.seq, ts: e.ts, kind: e.kind, pid: e.pid, exe, type: node?.type ?? 'absent', node: node?.id ?? null, size: null, unknownBytes: null, sha256: null, ...seen })
      return
    }
    const c = node.content
    let hash: Hash
    let unknown: Range[]
    if (appendFrom !== null && running !== undefined && running.node === node && c.size !== null && c.size >= running.size && running.size === appendFrom) {
      hash = running.hash.copy()
      unknown = await hashPieces(cache, planRange(c, running.size, c.size), hash)
    } else {
      hash = createHash('sha256')
      unknown = await hashPieces(cache, readPlan(c), hash)
    }
    const unknownBytes = unknown.reduce((n, r) => n + r.end - r.start, 0)
    const complete = unknownBytes === 0 && c.size !== null
    running = complete && c.size !== null ? { node, size: c.size, hash } : undefined
    versions.push({
      seq: e.seq, ts: e.ts, kind: e.kind, pid: e.pid, exe, type: 'file', node: node.id, size: c.size, unknownBytes: c.size === null ? null : unknownBytes,
      sha256: complete ? hash.copy().digest('hex') : null, ...seen,
    })
  }

  const start = w.seq + 1
  let done = 0
  for await (const batch of j.read(guest, start, to)) {
    for (const e of batch) {
      const before = current
      const sizeBefore = before?.type === 'file' ? before.content.size : null
      const touched = touchesBefore(w, e, before)
      const appends = touched && e.kind === 'file.write' && sizeBefore !== null && isAppend(w, e, before, sizeBefore)
      const attributes = attributesOf(before)
      evolve(w, e)
      current = lookup(w, path)
      const chmodded = current === before && current !== undefined && ((e.kind === 'file.chmod' || e.kind === 'file.chown') ? lookupChanged(w, e, current) : attributesDiffer(attributes, attributesOf(current)))
      if (current !== before || touched || chmodded || touchesAfter(w, e, current)) {
        if (e.seq > from) await record(e, current, appends && current === before ? sizeBefore : null)
      }
    }
    done += batch.length
    opts.onProgress?.(done, to - start + 1)
  }
  return versions
}

/** A chmod or chown names this node (by name, or by inode where the name is another's now; a chown
 *  of a symlink itself only that symlink). */
const lookupChanged = (w: World, e: Extract<Event, { kind: 'file.chmod' | 'file.chown' }>, node: FsNode): boolean => {
  if (e.kind === 'file.chown' && e.nofollow === true) return w.names.get(e.path) === node.id
  return lookup(w, e.path) === node || (e.inode !== undefined && e.inode !== null && w.byInode.get(e.inode) === node.id)
}

/** A write that lands at or past the old end leaves [0, old size) as it was (where it lands: the
 *  fold's rule, writeOffset). */
const isAppend = (w: World, e: Extract<Event, { kind: 'file.write' }>, node: FsNode | undefined, size: number): boolean => {
  const o = descriptionOf(w, e.pid, e.fd)
  if (o === undefined || node === undefined) return false
  const offset = writeOffset(o, size, e.offset, e.append === true)
  return offset !== null && offset >= size
}
