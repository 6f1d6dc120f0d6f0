// The tasks the log has shown: which process (thread group) each task belongs to and the working
// directory it resolves relative paths against. Threads and CLONE_FS children share one Fs cell.

export interface Fs { cwd: string }
export interface Task { readonly tgid: number; fs: Fs }

export class Tasks {
  private readonly tasks = new Map<number, Task>()
  private readonly groups = new Map<number, Set<number>>()
  /** Tasks whose process has exited: a late `+++` line of one of its threads changes nothing. */
  private readonly gone = new Set<number>()

  get(tid: number): Task | undefined {
    return this.tasks.get(tid)
  }

  isGone(tid: number): boolean {
    return this.gone.has(tid)
  }

  /** A task first seen without a spawn: the root of the trace (or a task the log never saw born). */
  adopt(tid: number, cwd: string): Task {
    return this.add(tid, { tgid: tid, fs: { cwd } })
  }

  /** A task created by `parent` (clone/fork/vfork): a thread joins the parent's process. */
  spawn(parent: Task, child: number, thread: boolean, shareFs: boolean): Task {
    return this.add(child, { tgid: thread ? parent.tgid : child, fs: shareFs ? parent.fs : { cwd: parent.fs.cwd } })
  }

  /** rename(from, to): working directories at or below `from` are below `to` now, as the kernel's
   *  follow their directory (with `exchange`, those below `to` go to `from`). */
  renamed(from: string, to: string, exchange: boolean): void {
    const moved = (p: string, a: string, b: string): string | null => (p === a || p.startsWith(`${a}/`) ? b + p.slice(a.length) : null)
    for (const fs of new Set([...this.tasks.values()].map((t) => t.fs))) {
      fs.cwd = moved(fs.cwd, from, to) ?? (exchange ? moved(fs.cwd, to, from) : null) ?? fs.cwd
    }
  }

  /** A non-leader thread's exit. */
  exitThread(tid: number): void {
    const task = this.tasks.get(tid)
    if (task === undefined) return
    this.tasks.delete(tid)
    this.groups.get(task.tgid)?.delete(tid)
  }

  /** The process is gone with all its threads. */
  exitProcess(tgid: number): void {
    for (const tid of this.groups.get(tgid) ?? []) {
      this.tasks.delete(tid)
      this.gone.add(tid)
    }
    this.groups.delete(tgid)
  }

  /** execve in a non-leader thread: the leader is gone and `tid` takes over the process id. */
  takeOver(tid: number, tgid: number): void {
    const task = this.tasks.get(tid)
    if (task === undefined) return
    this.exitThread(tid)
    const leader = this.tasks.get(tgid)
    if (leader !== undefined) leader.fs = task.fs
    else this.add(tgid, { tgid, fs: task.fs })
  }

  private add(tid: number, task: Task): Task {
    // A recycled pid starts a new life.
    this.gone.delete(tid)
    const old = this.tasks.get(tid)
    if (old !== undefined) this.groups.get(old.tgid)?.delete(tid)
    this.tasks.set(tid, task)
    let group = this.groups.get(task.tgid)
    if (group === undefined) this.groups.set(task.tgid, (group = new Set()))
    group.add(tid)
    return task
  }
}
