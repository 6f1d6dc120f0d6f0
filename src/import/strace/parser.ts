// The stateful part of the importer: joins <unfinished ...>/<... resumed> halves per task, knows
// which process each task belongs to, and holds back the lines of a task born while its parent's
// clone has not returned yet, so that every proc.spawn comes before its child's events.
import type { Draft } from '../../events/event.js'
import { parseCallText } from './call.js'
import type { Ctx } from './context.js'
import { parseLine, type Line } from './line.js'
import { isContentPath } from './paths.js'
import { PARSERS, SPAWNS } from './table.js'
import { Tasks, type Task } from './tasks.js'

/** One input line's outcome: the drafts it yields (often none), or why it could not be read. */
export type ParsedLine = { line: number; drafts: Draft[] } | { line: number; error: string }

export interface StraceOptions {
  /** The working directory the traced command started in (strace does not log it). */
  readonly cwd: string
  /** Whether a -y path names a file whose bytes are content; default: isContentPath. */
  readonly isContent?: (path: string) => boolean
  /** Most lines held back for tasks whose parent's clone has not returned; beyond, they are read
   *  as tasks of their own (the log then lacks their spawn). Default 100000. */
  readonly holdLimit?: number
}

interface Pending { readonly name: string; readonly head: string; readonly ts: bigint }
interface Held { readonly line: number; readonly parsed: Line }

const UNFINISHED = ' <unfinished ...>'

export class StraceParser {
  private readonly tasks = new Tasks()
  private readonly pending = new Map<number, Pending>()
  private spawning = 0
  private readonly held = new Map<number, Held[]>()
  /** Processes reported by proc.ioUring. */
  private readonly ioUring = new Set<number>()
  private heldCount = 0
  private readonly isContent: (path: string) => boolean
  private readonly holdLimit: number

  constructor(private readonly opts: StraceOptions) {
    this.isContent = opts.isContent ?? isContentPath
    this.holdLimit = opts.holdLimit ?? 100_000
  }

  /** Read line number `line` (1-based). Returns its outcome, possibly after (or instead of) the
   *  outcomes of held-back lines it released; a held-back line returns nothing now. */
  feed(line: number, text: string): ParsedLine[] {
    if (text.trim() === '') return []
    const parsed = parseLine(text)
    if (parsed._tag === 'Left') return [{ line, error: parsed.left }]
    const tid = parsed.right.tid
    if (this.tasks.get(tid) === undefined) {
      const queue = this.held.get(tid)
      // The last threads of a process that has exited: nothing left to report.
      if (queue === undefined && this.tasks.isGone(tid) && (parsed.right.kind === 'exited' || parsed.right.kind === 'killed')) return [{ line, drafts: [] }]
      if (queue !== undefined || this.spawning > 0) {
        if (queue === undefined) this.held.set(tid, [{ line, parsed: parsed.right }])
        else queue.push({ line, parsed: parsed.right })
        if (++this.heldCount > this.holdLimit) return this.releaseAll()
        return []
      }
      this.tasks.adopt(tid, this.opts.cwd)
    }
    return this.handle(line, parsed.right)
  }

  /** The input has ended: lines still held back belong to tasks whose spawn the log never showed. */
  end(): ParsedLine[] {
    return this.releaseAll()
  }

  /** One line's outcome, then the held-back lines it let go (a child's, once its spawn is known). */
  private handle(line: number, l: Line): ParsedLine[] {
    const out = this.handleOne(line, l)
    out.push(...this.releaseIfIdle())
    return out
  }

  private handleOne(line: number, l: Line): ParsedLine[] {
    const task = this.taskOf(l.tid)
    switch (l.kind) {
      case 'signal':
        return [{ line, drafts: [] }]
      case 'exited':
      case 'killed':
        return [{ line, drafts: this.exit(l.tid, task, l.ts, l.kind === 'exited' ? l.status : -l.signal) }]
      case 'superseded': {
        // execve in thread `by` of this process: that thread now carries the process id, and its
        // old task id is gone (the old leader's task id lives on in it).
        const gone = this.taskOf(l.by)
        const d: Draft = { ts: l.ts, pid: gone.tgid, tid: l.by, body: { kind: 'proc.exit', status: 0, thread: true } }
        this.tasks.takeOver(l.by, gone.tgid)
        return [{ line, drafts: l.by === gone.tgid ? [] : [d] }]
      }
      case 'unfinished': {
        const at = l.movedTo ?? l.tid
        // An exec from a thread takes over the leader's id; whatever the old leader was doing ends.
        const clash = l.movedTo === null ? this.pending.get(at) : undefined
        this.setPending(at, { name: l.name, head: l.head, ts: l.ts })
        if (clash !== undefined) return [{ line, error: `${l.name} started while ${clash.name} of task ${at} was unfinished` }]
        return [{ line, drafts: [] }]
      }
      case 'resumed': {
        const p = this.pending.get(l.tid)
        if (p === undefined) return [{ line, error: `${l.name} resumed without an unfinished ${l.name}` }]
        this.clearPending(l.tid)
        if (p.name !== l.name) return [{ line, error: `${l.name} resumed while ${p.name} was unfinished` }]
        const joined = p.head.trimEnd() + l.rest
        if (joined.endsWith(UNFINISHED)) {
          this.setPending(l.tid, { name: p.name, head: joined.slice(0, -UNFINISHED.length), ts: p.ts })
          return [{ line, drafts: [] }]
        }
        return this.call(line, l.tid, task, p.ts, l.name, joined)
      }
      case 'call':
        return this.call(line, l.tid, task, l.ts, l.name, l.text)
    }
  }

  private call(line: number, tid: number, task: Task, ts: bigint, name: string, text: string): ParsedLine[] {
    const parser = PARSERS.get(name)
    if (parser === undefined) return [{ line, error: `unknown system call ${name}` }]
    const split = parseCallText(name, text)
    if (split._tag === 'Left') return [{ line, error: split.left }]
    const children: number[] = []
    const ctx: Ctx = {
      tid,
      pid: task.tgid,
      ts,
      task,
      isContent: (ref) => ref.path !== null && this.isContent(ref.path),
      spawn: (child, thread, shareFs) => {
        this.tasks.spawn(task, child, thread, shareFs)
        children.push(child)
      },
      renamed: (from, to, exchange) => this.tasks.renamed(from, to, exchange),
      usesIoUring: () => {
        if (this.ioUring.has(task.tgid)) return false
        this.ioUring.add(task.tgid)
        return true
      },
    }
    const result = parser({ name, args: split.right.args, ret: split.right.ret, tid, ts }, ctx)
    const out: ParsedLine[] = [result._tag === 'Left' ? { line, error: result.left } : { line, drafts: result.right }]
    for (const child of children) out.push(...this.release(child))
    return out
  }

  private exit(tid: number, task: Task, ts: bigint, status: number): Draft[] {
    this.clearPending(tid)
    const leader = tid === task.tgid
    const d: Draft = { ts, pid: task.tgid, tid, body: { kind: 'proc.exit', status, thread: !leader } }
    if (!leader) {
      this.tasks.exitThread(tid)
      return [d]
    }
    for (const t of [...this.pending.keys()]) if (this.tasks.get(t)?.tgid === task.tgid) this.clearPending(t)
    this.tasks.exitProcess(task.tgid)
    this.ioUring.delete(task.tgid) // the pid may come back as another process
    return [d]
  }

  private taskOf(tid: number): Task {
    return this.tasks.get(tid) ?? this.tasks.adopt(tid, this.opts.cwd)
  }

  private setPending(tid: number, p: Pending): void {
    this.clearPending(tid)
    this.pending.set(tid, p)
    if (SPAWNS.has(p.name)) this.spawning++
  }

  private clearPending(tid: number): void {
    const p = this.pending.get(tid)
    if (p === undefined) return
    this.pending.delete(tid)
    if (SPAWNS.has(p.name)) this.spawning--
  }

  /** Replay the held-back lines of a task that is now known. */
  private release(tid: number): ParsedLine[] {
    const queue = this.held.get(tid)
    if (queue === undefined) return []
    this.held.delete(tid)
    this.heldCount -= queue.length
    if (this.tasks.get(tid) === undefined) this.tasks.adopt(tid, this.opts.cwd)
    const out: ParsedLine[] = []
    for (const h of queue) out.push(...this.handle(h.line, h.parsed))
    return out
  }

  /** No clone is pending, so no held-back task can still turn out to be a child. */
  private releaseIfIdle(): ParsedLine[] {
    return this.spawning === 0 && this.held.size > 0 ? this.releaseAll() : []
  }

  private releaseAll(): ParsedLine[] {
    const out: ParsedLine[] = []
    while (this.held.size > 0) {
      const [tid] = this.held.keys()
      out.push(...this.release(tid))
    }
    return out
  }
}
