// The third trigger: close after write. The interceptor does not hold a close for a verdict (it
// cannot be refused usefully), so the recorder finds, in each batch, the writable descriptors that
// the batch closes (close, close_range, exit), and once the batch is in R(now) asks the gate about
// every such file written since its last verdict. The world's `lastWrite`/`lastVerdict` make the
// check idempotent: the verdict the gate journals is newer than the write, so a second close of a
// dup'd fd does not scan the same bytes again.
import { writable, type Body, type Draft } from '../events/index.js'
import { fds, lookup, type World } from '../projections/index.js'
import type { Gate } from './gate.js'
import { wallClock, type DeciderOptions } from './live.js'

export interface Closed {
  readonly path: string
  readonly pid: number
  readonly tid: number
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
      case 'fd.open': table(d.pid).set(b.fd, { path: b.path, writable: writable(b.flags) }); break
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
 *  journals the gate's events under the closing task. */
export const scanClosedFiles = async (gate: Gate, w: () => World, closed: readonly Closed[], o: DeciderOptions): Promise<void> => {
  for (const c of closed) {
    const node = lookup(w(), c.path)
    if (node === undefined || node.type !== 'file' || node.lastWrite === null) continue
    if (node.lastVerdict !== null && node.lastVerdict.seq > node.lastWrite.seq) continue
    const d = await gate.afterClose(c.path)
    if (d.events.length === 0) continue
    const clock = o.clock ?? wallClock
    await o.append(d.events.map((body): Draft => ({ ts: clock(), pid: c.pid, tid: c.tid, body })))
    o.onDecision?.(d.message, d.events)
  }
}
