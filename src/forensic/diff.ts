// `diff T1 T2`: what changed between two states of one guest. Node ids are assigned by the fold and
// kept in checkpoints, so the same file has the same id in both worlds: that is how a rename is told
// from a delete plus a create, and a replacement (`mv new old`) from an edit in place.
import type { Journal } from '../journal/journal.js'
import { worldAt } from '../engine/replay.js'
import { accessMode, attributesDiffer, attributesOf, heldForWriting, type Attributes, type FsNode, type NodeId, type World } from '../projections/index.js'
import { digestOf, PayloadCache, sameContent, type Digest } from './content.js'

export interface Side extends Attributes {
  readonly type: FsNode['type']
  readonly size: number | null
  readonly sha256: string | null
  readonly unknownBytes: number | null
  readonly target: string | null
}

export type FileChange =
  | { readonly change: 'created'; readonly path: string; readonly after: Side; readonly linkOf: string | null }
  | { readonly change: 'deleted'; readonly path: string; readonly before: Side; readonly stillOpen: boolean }
  /** same path; `replaced`: another file now has the name (from `from`, if it had a name at T1) */
  | { readonly change: 'changed'; readonly path: string; readonly before: Side; readonly after: Side; readonly replaced: boolean; readonly from: string | null }
  | { readonly change: 'renamed'; readonly path: string; readonly from: string; readonly before: Side; readonly after: Side; readonly contentChanged: boolean }

export interface ProcChange {
  readonly pid: number
  readonly ppid: number
  readonly exe: string | null
  readonly argv: readonly string[]
  readonly started: boolean
  readonly exited: boolean
  readonly status: number | null
  /** exec'd during the interval (a process that lived at both ends and runs another program now) */
  readonly execFrom: string | null
}

export interface FdChange {
  readonly pid: number
  readonly fd: number
  readonly change: 'opened' | 'closed' | 'reopened'
  readonly path: string
  readonly mode: string
  readonly before: string | null // path at T1 for reopened
  readonly reason: 'exit' | null
}

export interface Moment { readonly seq: number; readonly ts: bigint | null }

export interface Diff {
  readonly guest: string
  readonly from: Moment
  readonly to: Moment
  readonly files: readonly FileChange[]
  /** files that existed before eyrie first saw them, after T1 (read, mapped, stat'd), and were not
   *  written: not changes, so listed apart */
  readonly firstSeen: readonly string[]
  /** changed files held open for writing at T1 or T2 in read-back mode: that side is as last read
   *  back and may lack bytes written since (projections' readBackNote) */
  readonly lagging: readonly string[]
  readonly procs: readonly ProcChange[]
  readonly fds: readonly FdChange[]
  /** every event in (from, to], by kind: what a state diff cannot show (an fd opened and closed in between) */
  readonly activity: { readonly events: number; readonly byKind: Readonly<Record<string, number>>; readonly bytesWritten: number }
}

export interface DiffOptions {
  /** count the events in between (reads them all); default true */
  readonly activity?: boolean
  readonly onProgress?: (done: number, total: number, what: string) => void
}

const inverse = (w: World): Map<NodeId, string[]> => {
  const out = new Map<NodeId, string[]>()
  for (const [path, id] of w.names) {
    const list = out.get(id)
    if (list === undefined) out.set(id, [path])
    else list.push(path)
  }
  return out
}

const UNKNOWN_FILE: Side = { type: 'file', size: null, sha256: null, unknownBytes: null, target: null, mode: null, uid: null, gid: null }

const parentOf = (p: string): string => p.slice(0, Math.max(1, p.lastIndexOf('/')))
const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

/** A node eyrie met after it existed: a file or fifo, socket or device of unknown content, or a
 *  directory it did not see made (a name's parents, a directory opened). */
const metExisting = (n: FsNode): boolean => (n.type === 'dir' ? !n.complete : n.type !== 'symlink' && n.content.size === null)

/** Met as a file of unknown content and never written, then found to be a directory or a device (an
 *  open showed it): what it was all along, not a change. */
const typeLearned = (a: FsNode, b: FsNode): boolean =>
  a.type === 'file' && a.content.size === null && a.content.extents.length === 0 && a.lastWrite === null && b.type !== 'file' && b.type !== 'symlink'

export const diff = async (j: Journal, guest: string, s1: number, s2: number, opts: DiffOptions = {}): Promise<Diff> => {
  const w1 = await worldAt(j, guest, s1)
  const w2 = await worldAt(j, guest, s2)
  const cache = new PayloadCache(j, guest)
  const digests = new Map<FsNode, Digest>()
  const side = async (n: FsNode): Promise<Side> => {
    const seen = attributesOf(n)
    if (n.type !== 'file') return { type: n.type, size: null, sha256: null, unknownBytes: null, target: n.target, ...seen }
    let d = digests.get(n)
    if (d === undefined) digests.set(n, (d = await digestOf(cache, n.content)))
    return { type: n.type, size: d.size, sha256: d.sha256, unknownBytes: d.unknownBytes, target: null, ...seen }
  }
  /** Two states of a node differ when their extents differ and their digests do not prove otherwise,
   *  or when both know its permissions or owner and they differ (learning them is no change). */
  const differs = async (a: FsNode, b: FsNode, sa: Side, sb: Side): Promise<boolean> => {
    if (a.type !== b.type) return !typeLearned(a, b)
    if (a.target !== b.target) return true
    if (attributesDiffer(sa, sb)) return true
    if (a.type !== 'file' || sameContent(a.content, b.content)) return false
    return sa.sha256 === null || sa.sha256 !== sb.sha256 || sa.size !== sb.size
  }
  const names1 = inverse(w1)
  const names2 = inverse(w2)
  const paths = [...new Set([...w1.names.keys(), ...w2.names.keys()])].sort()
  const files: FileChange[] = []
  const firstSeen: string[] = []
  let done = 0
  for (const path of paths) {
    opts.onProgress?.(++done, paths.length, 'files')
    const id1 = w1.names.get(path)
    const id2 = w2.names.get(path)
    const n1 = id1 === undefined ? undefined : w1.nodes.get(id1)
    const n2 = id2 === undefined ? undefined : w2.nodes.get(id2)
    if (n2 !== undefined && id2 !== undefined) {
      const old = w1.nodes.get(id2)
      const oldNames = names1.get(id2) ?? []
      if (n1 !== undefined && id1 === id2) {
        const [before, after] = [await side(n1), await side(n2)]
        if (await differs(n1, n2, before, after)) files.push({ change: 'changed', path, before, after, replaced: false, from: null })
      } else if (n1 !== undefined) {
        files.push({ change: 'changed', path, before: await side(n1), after: await side(n2), replaced: true, from: oldNames.find((p) => p !== path && !names2.get(id2)?.includes(p)) ?? null })
      } else if (old !== undefined && oldNames.length > 0) {
        const from = oldNames.find((p) => w2.names.get(p) !== id2)
        if (from === undefined) files.push({ change: 'created', path, after: await side(n2), linkOf: oldNames[0] })
        else {
          const [before, after] = [await side(old), await side(n2)]
          const contentChanged = await differs(old, n2, before, after)
          // a file carried along by its directory's rename says nothing new
          const dirFrom = w1.names.get(parentOf(from))
          const carried = !contentChanged && dirFrom !== undefined && w2.names.get(parentOf(path)) === dirFrom && parentOf(from) !== parentOf(path)
          if (!carried) files.push({ change: 'renamed', path, from, before, after, contentChanged })
        }
      } else if (metExisting(n2)) {
        // it existed before eyrie met it: unchanged unless written since
        if (n2.lastWrite === null) firstSeen.push(path)
        else files.push({ change: 'changed', path, before: UNKNOWN_FILE, after: await side(n2), replaced: false, from: null })
      } else files.push({ change: 'created', path, after: await side(n2), linkOf: null })
    } else if (n1 !== undefined && id1 !== undefined) {
      // a name that went away: reported under its new name if the file still has one
      if ((names2.get(id1) ?? []).length > 0) continue
      files.push({ change: 'deleted', path, before: await side(n1), stillOpen: w2.nodes.has(id1) })
    }
  }
  const [held1, held2] = [heldForWriting(w1), heldForWriting(w2)]
  const lags = (f: FileChange): boolean => {
    const [id1, id2] = [w1.names.get(f.change === 'renamed' ? f.from : f.path), w2.names.get(f.path)]
    return (id1 !== undefined && held1.has(id1)) || (id2 !== undefined && held2.has(id2))
  }
  const activity = opts.activity === false ? { events: s2 - s1, byKind: {}, bytesWritten: 0 } : await countActivity(j, guest, s1, s2, opts.onProgress)
  return {
    guest,
    from: { seq: s1, ts: await tsOf(j, guest, s1) },
    to: { seq: s2, ts: await tsOf(j, guest, s2) },
    files: files.sort(byPath),
    firstSeen,
    lagging: files.filter(lags).map((f) => f.path),
    procs: procChanges(w1, w2, s1),
    fds: fdChanges(w1, w2),
    activity,
  }
}

const tsOf = async (j: Journal, guest: string, seq: number): Promise<bigint | null> => {
  if (seq === 0) return null
  for await (const batch of j.read(guest, seq, seq)) if (batch.length > 0) return batch[0].ts
  return null
}

const procChanges = (w1: World, w2: World, s1: number): ProcChange[] => {
  const out: ProcChange[] = []
  for (const p of w2.procs.values()) {
    const started = p.startSeq > s1
    const exited = p.endSeq !== null && p.endSeq > s1
    const before = w1.procs.get(p.pid)
    const execFrom = !started && before !== undefined && before.startSeq === p.startSeq && before.exe !== p.exe ? before.exe : null
    if (started || exited || execFrom !== null) out.push({ pid: p.pid, ppid: p.ppid, exe: p.exe, argv: p.argv, started, exited, status: p.status, execFrom })
  }
  return out.sort((a, b) => a.pid - b.pid)
}

interface FdState { readonly ofd: number; readonly path: string; readonly mode: string }

const fdStates = (w: World): Map<number, { startSeq: number; fds: Map<number, FdState> }> => {
  const out = new Map<number, { startSeq: number; fds: Map<number, FdState> }>()
  for (const p of w.procs.values()) {
    if (!p.live) continue
    const fds = new Map<number, FdState>()
    for (const [fd, e] of w.tables.get(p.table)?.fds ?? []) {
      const o = w.ofds.get(e.ofd)
      if (o !== undefined) fds.set(fd, { ofd: o.id, path: o.path, mode: accessMode(o.flags) })
    }
    out.set(p.pid, { startSeq: p.startSeq, fds })
  }
  return out
}

const fdChanges = (w1: World, w2: World): FdChange[] => {
  const a = fdStates(w1)
  const b = fdStates(w2)
  const out: FdChange[] = []
  for (const [pid, before] of a) {
    const after = b.get(pid)
    const same = after !== undefined && after.startSeq === before.startSeq
    for (const [fd, s] of before.fds) {
      const now = same ? after.fds.get(fd) : undefined
      if (now === undefined) out.push({ pid, fd, change: 'closed', path: s.path, mode: s.mode, before: null, reason: same ? null : 'exit' })
      else if (now.ofd !== s.ofd) out.push({ pid, fd, change: 'reopened', path: now.path, mode: now.mode, before: s.path, reason: null })
    }
  }
  for (const [pid, after] of b) {
    const before = a.get(pid)
    const same = before !== undefined && before.startSeq === after.startSeq
    for (const [fd, s] of after.fds) if (!same || !before.fds.has(fd)) out.push({ pid, fd, change: 'opened', path: s.path, mode: s.mode, before: null, reason: null })
  }
  return out.sort((x, y) => x.pid - y.pid || x.fd - y.fd)
}

const countActivity = async (j: Journal, guest: string, s1: number, s2: number, onProgress?: DiffOptions['onProgress']) => {
  const byKind: Record<string, number> = {}
  let events = 0
  let bytesWritten = 0
  if (s2 > s1) {
    for await (const batch of j.read(guest, s1 + 1, s2)) {
      for (const e of batch) {
        byKind[e.kind] = (byKind[e.kind] ?? 0) + 1
        if (e.kind === 'file.write') bytesWritten += e.len
      }
      events += batch.length
      onProgress?.(events, s2 - s1, 'events')
    }
  }
  return { events, byKind, bytesWritten }
}
