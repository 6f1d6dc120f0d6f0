// The third trigger: close after write. The interceptor does not hold a close for a verdict (it
// cannot be refused usefully), so the recorder finds, in each batch, the writable descriptors that
// the batch closes (close, close_range, exit), and once the batch is in R(now) asks the gate about
// every such file written since its last verdict. The world's `lastWrite`/`lastVerdict` make the
// check idempotent: the verdict the gate journals is newer than the write, so a second close of a
// dup'd fd does not scan the same bytes again. The recorder judges in the background (judgments.ts)
// with closeJudge; scanClosedFiles is the same judgment in line.
import { writable, type Body, type Draft } from '../events/index.js'
import { fds, lookup, type FsNode, type World } from '../projections/index.js'
import type { Gate } from './gate.js'
import { wallClock, type DeciderOptions } from './live.js'

export interface Closed {
  readonly path: string
  readonly pid: number
  readonly tid: number
  /** the file's node once the batch is in R(now) (withNodes): a judgment that comes later finds the
   *  file under its new name if it was renamed meanwhile */
  readonly node?: number
}

/** `closed` with the node each path names in `w` (R(now) after the batch that closed them). */
export const withNodes = (w: World, closed: readonly Closed[]): Closed[] =>
  closed.map((c) => {
    const node = lookup(w, c.path)
    return node === undefined ? c : { ...c, node: node.id }
  })

/** Where the closed file is now: its path, or the name its node moved to; undefined: gone. */
const whereNow = (w: World, c: Closed): { readonly path: string; readonly node: FsNode } | undefined => {
  const node = lookup(w, c.path)
  if (c.node === undefined || node?.id === c.node) return node === undefined ? undefined : { path: c.path, node }
  const moved = w.nodes.get(c.node)
  if (moved === undefined || moved.links === 0) return undefined
  for (const [name, id] of w.names) if (id === c.node) return { path: name, node: moved }
  return undefined
}

interface Desc { readonly path: string; readonly writable: boolean }

/** Paths whose writable descriptors `drafts` close, in order, each once; `w` is R(now) before the
 *  batch. A descriptor shared with another process counts as closed when one side closes it: the
 *  file is judged early rather than late. */
export const closedForWriting = (w: World, drafts: readonly Draft[]): Closed[] => {
  const tables = new Map<number, Map<number, Desc>>()
  const table = (pid: number): Map<number, Desc> => {
    let t = tables.get(pid)
    if (t === undefined) {
      t = new Map(fds(w, pid).map((r) => [r.fd, { path: r.path, writable: r.mode.includes('w') }]))
      tables.set(pid, t)
    }
    return t
  }
  const out = new Map<string, Closed>()
  const close = (d: Draft, fd: number, t: Map<number, Desc>) => {
    const desc = t.get(fd)
    t.delete(fd)
    if (desc?.writable === true && desc.path.startsWith('/') && !out.has(desc.path)) out.set(desc.path, { path: desc.path, pid: d.pid, tid: d.tid })
  }
  for (const d of drafts) {
    const b: Body = d.body
    switch (b.kind) {
      // a file with no name (a memfd, O_TMPFILE) has none to judge it by: it is judged where it is run or opened
      case 'fd.open': table(d.pid).set(b.fd, { path: b.path, writable: writable(b.flags) && b.deleted !== true }); break
      case 'fd.dup': {
        const t = table(d.pid)
        const desc = t.get(b.fd)
        if (desc !== undefined) t.set(b.newFd, desc)
        break
      }
      case 'fd.close': close(d, b.fd, table(d.pid)); break
      case 'fd.closeRange': {
        if (b.cloexecOnly) break
        const t = table(d.pid)
        for (const fd of [...t.keys()]) if (fd >= b.first && fd <= b.last) close(d, fd, t)
        break
      }
      case 'proc.spawn':
        if (!b.thread) tables.set(b.child, new Map(table(d.pid)))
        break
      case 'proc.exit': {
        if (b.thread && d.tid !== d.pid) break
        const t = table(d.pid)
        for (const fd of [...t.keys()]) close(d, fd, t)
        break
      }
      default: break // other kinds do not open or close descriptors
    }
  }
  return [...out.values()]
}

/** After the batch is in R(now) (`w`): judges each closed file written since its last verdict and
 *  journals the gate's events under the closing task, in line (the judgment the background queue
 *  runs, on one batch). */
export const scanClosedFiles = (gate: Gate, w: () => World, closed: readonly Closed[], o: DeciderOptions): Promise<void> =>
  closeJudge(gate, w, o)(closed)

export interface CloseJudgeOptions extends Omit<DeciderOptions, 'append'> {
  /** journals verdicts; `lazy`: nobody waits for them (SerialAppends) */
  readonly append: (drafts: Draft[], lazy?: boolean) => Promise<void>
  /** runs the part that reads R(now) and content (live retention must not free bytes meanwhile) */
  readonly reading?: <T>(f: () => Promise<T>) => Promise<T>
}

/** The judgment of a batch of closed files for the background queue (Judgments): the files written
 *  since their last verdict are judged together (Gate.afterCloses) and their events journaled in one
 *  append, each under its closing task; a file renamed since its close is judged under its new name.
 *  The tracees went on meanwhile, so a write may be journaled
 *  between the read of a file and its verdict: that verdict is then newer than a write it did not
 *  see, and the file's next close is judged even so. */
export const closeJudge = (gate: Gate, w: () => World, o: CloseJudgeOptions) => {
  const stale = new Set<string>()
  const reading = o.reading ?? (<T>(f: () => Promise<T>) => f())
  return async (batch: readonly Closed[]): Promise<void> => {
    const judged = await reading(async () => {
      const world = w()
      const todo: Array<{ readonly c: Closed; readonly path: string; readonly node: number; readonly write: number }> = []
      for (const c of batch) {
        const now = whereNow(world, c)
        if (now === undefined) continue
        const { path, node } = now
        if (node.type !== 'file' || node.lastWrite === null) continue
        if (node.lastVerdict !== null && node.lastVerdict.seq > node.lastWrite.seq && !stale.has(path)) continue
        stale.delete(path)
        todo.push({ c, path, node: node.id, write: node.lastWrite.seq })
      }
      // no await between the checks above and the lookups: both see the same R(now)
      return todo.length === 0 ? [] : (await gate.afterCloses(todo.map((t) => t.path))).map((d, i) => ({ ...todo[i], d }))
    })
    const clock = o.clock ?? wallClock
    const drafts = judged.flatMap(({ c, d }) => d.events.map((body): Draft => ({ ts: clock(), pid: c.pid, tid: c.tid, body })))
    if (drafts.length === 0) return
    await o.append(drafts, true)
    const now = w()
    for (const { path, node, write, d } of judged) {
      if (d.events.length === 0) continue
      const n = lookup(now, path)
      if (n !== undefined && n.type === 'file' && (n.id !== node || (n.lastWrite?.seq ?? 0) !== write)) stale.add(path)
      o.onDecision?.(d.message, d.events)
    }
  }
}
