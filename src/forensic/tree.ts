// `at T tree`: the process tree at T, each process with its program and open files. Pure.
import { accessMode, type World } from '../projections/index.js'
import { DELETED_SUFFIX } from '../events/index.js'

/** An open file as the process sees it now: its current name (after renames), or the name it was
 *  opened by and `deleted` when it has none left. */
export interface OpenFile {
  readonly fd: number
  readonly path: string
  readonly mode: string
  /** null: unknown (the recording did not see the calls that move it) */
  readonly pos: number | null
  readonly cloexec: boolean
  readonly deleted: boolean
}

export interface TreeNode {
  readonly pid: number
  readonly ppid: number
  readonly exe: string | null
  readonly argv: readonly string[]
  readonly cwd: string | null
  readonly live: boolean
  readonly status: number | null
  readonly threads: readonly number[]
  readonly files: readonly OpenFile[]
  readonly children: readonly TreeNode[]
}

export interface TreeOptions {
  /** include processes that had exited by T (default: only live ones, and exited ancestors of live ones) */
  readonly all?: boolean
}

/** Roots are processes whose parent eyrie does not show (not seen, or not kept). Children by start. */
export const processTree = (w: World, opts: TreeOptions = {}): TreeNode[] => {
  const threads = new Map<number, number[]>()
  for (const [tid, pid] of w.threads) {
    const list = threads.get(pid)
    if (list === undefined) threads.set(pid, [tid])
    else list.push(tid)
  }
  const nameOf = currentNames(w)
  const filesOf = (table: number): OpenFile[] =>
    [...(w.tables.get(table)?.fds ?? [])].sort((a, b) => a[0] - b[0]).flatMap(([fd, e]) => {
      const o = w.ofds.get(e.ofd)
      if (o === undefined) return []
      const now = w.names.get(o.path) === o.node ? o.path : nameOf.get(o.node)
      return [{ fd, path: now ?? o.path, mode: accessMode(o.flags), pos: o.pos, cloexec: e.cloexec, deleted: now === undefined }]
    })
  const procs = [...w.procs.values()].sort((a, b) => a.startSeq - b.startSeq || a.pid - b.pid)
  const children = new Map<number, number[]>()
  for (const p of procs) {
    const list = children.get(p.ppid)
    if (list === undefined) children.set(p.ppid, [p.pid])
    else list.push(p.pid)
  }
  // keep a process if it is shown itself or has a shown descendant (an exited shell whose child runs on)
  const keep = new Map<number, boolean>()
  const kept = (pid: number, depth: number): boolean => {
    const known = keep.get(pid)
    if (known !== undefined) return known
    const p = w.procs.get(pid)
    keep.set(pid, false) // a ppid cycle (pid reuse) must end
    const mine = p !== undefined && (opts.all === true || p.live)
    const k = (depth < 4096 && (children.get(pid) ?? []).map((c) => kept(c, depth + 1)).some(Boolean)) || mine
    keep.set(pid, k)
    return k
  }
  const build = (pid: number, seen: Set<number>): TreeNode | undefined => {
    const p = w.procs.get(pid)
    if (p === undefined || seen.has(pid) || !kept(pid, 0)) return undefined
    seen.add(pid)
    const kids = (children.get(pid) ?? []).map((c) => build(c, seen)).filter((n): n is TreeNode => n !== undefined)
    return {
      pid: p.pid, ppid: p.ppid, exe: p.exe, argv: p.argv, cwd: p.cwd, live: p.live, status: p.status,
      threads: (threads.get(pid) ?? []).sort((a, b) => a - b),
      files: p.live ? filesOf(p.table) : [],
      children: kids,
    }
  }
  const seen = new Set<number>()
  const roots: TreeNode[] = []
  for (const p of procs) {
    if (w.procs.has(p.ppid) && p.ppid !== p.pid) continue
    const n = build(p.pid, seen)
    if (n !== undefined) roots.push(n)
  }
  // processes only reachable through a cycle of recycled pids still show, as roots
  for (const p of procs) {
    if (seen.has(p.pid)) continue
    const n = build(p.pid, seen)
    if (n !== undefined) roots.push(n)
  }
  return roots
}

/** node -> its first name in path order (only nodes some fd refers to). */
const currentNames = (w: World): Map<number, string> => {
  const wanted = new Set<number>()
  for (const o of w.ofds.values()) wanted.add(o.node)
  const out = new Map<number, string>()
  for (const [path, id] of w.names) {
    if (!wanted.has(id)) continue
    const had = out.get(id)
    if (had === undefined || path < had) out.set(id, path)
  }
  return out
}

/** Human form: one line per process (pid, state, program, argv), its open files indented below. */
export const formatTree = (roots: readonly TreeNode[]): string => {
  const lines: string[] = []
  const walk = (n: TreeNode, prefix: string, last: boolean, root: boolean): void => {
    const branch = root ? '' : last ? '└─ ' : '├─ '
    const state = n.live ? '' : ` [exited ${n.status ?? '?'}]`
    const args = n.argv.length > 0 ? `  ${n.argv.join(' ').slice(0, 100)}` : ''
    const thr = n.threads.length > 0 ? ` (+${n.threads.length} thread${n.threads.length === 1 ? '' : 's'})` : ''
    lines.push(`${prefix}${branch}${n.pid} ${n.exe ?? '?'}${thr}${state}${args}`)
    const inner = root ? '' : `${prefix}${last ? '   ' : '│  '}`
    const bar = n.children.length > 0 ? '│  ' : '   '
    for (const f of n.files) lines.push(`${inner}${bar}  fd ${f.fd} ${f.mode}${f.cloexec ? ' cloexec' : ''} ${f.path}${f.deleted ? DELETED_SUFFIX : ''}`)
    n.children.forEach((c, i) => walk(c, inner, i === n.children.length - 1, false))
  }
  for (const r of roots) walk(r, '', true, true)
  return lines.join('\n')
}
