// Background judging of files closed after writing. A close cannot be refused (the call happened), so
// the recorder does not hold the tracees while clamd judges what they wrote: it queues the paths and
// lets them go on. The queue
//   - coalesces: a path queued again before its judgment starts is judged once, on the latest content
//     (a path queued while it is being judged waits and is judged again after);
//   - runs up to `workers` judgments at once (the scanner's connection pool bounds clamd itself), each
//     on up to `batch` paths, so the scanner can send small files to clamd together: a smaller batch
//     waits up to `lingerMs` for more, and only while no other judgment runs;
//   - is bounded: enqueue() resolves only once at most `bound` paths wait (the tracees wait meanwhile:
//     nothing is dropped, memory stays bounded);
//   - is a barrier: settle(path) resolves once no judgment of the path is pending or running (an exec
//     or open of a file that was just written waits for its verdict, which may have quarantined it);
//   - drains: drain() resolves once everything queued is judged (and journaled, by `judge`);
//   - never swallows an error: a judgment that throws is kept in `errors` and reported to `onError`.
// Also here: the serialized appender every journal write of a recording goes through, and the guard
// that keeps live retention from freeing bytes a judgment is reading.
import type { Draft } from '../events/index.js'
import { reasonOf } from './errors.js'
import type { Closed } from './closes.js'

export interface JudgmentsOptions {
  /** judges these files and journals the verdicts; throws only for a bug (scanner failures are verdicts) */
  readonly judge: (batch: readonly Closed[]) => Promise<void>
  /** judgments at once; the scanner's connection pool size */
  readonly workers: number
  /** most paths waiting before enqueue() makes its caller wait; default 256 */
  readonly bound?: number
  /** most paths per judgment; default 64 */
  readonly batch?: number
  /** how long a batch smaller than that may wait for more paths, ms; default 20 (0: none) */
  readonly lingerMs?: number
  readonly onError?: (error: unknown, batch: readonly Closed[]) => void
}

export interface JudgmentsStats {
  /** paths handed to enqueue() */
  queued: number
  /** of those, already waiting (judged once for both) */
  coalesced: number
  /** judge() calls, and the paths they got */
  batches: number
  judged: number
  /** judgments started at once for settle() (an exec or open of a waiting path) */
  urgent: number
  /** enqueue() calls that had to wait for room */
  waited: number
  /** most paths ever waiting (enqueue adds a whole batch of closes before it waits) */
  peak: number
}

export const DEFAULT_BOUND = 256
export const DEFAULT_BATCH = 64
export const DEFAULT_LINGER_MS = 20

export class Judgments {
  readonly stats: JudgmentsStats = { queued: 0, coalesced: 0, batches: 0, judged: 0, urgent: 0, waited: 0, peak: 0 }
  readonly errors: Array<{ readonly paths: readonly string[]; readonly error: unknown }> = []
  readonly bound: number
  private readonly pending = new Map<string, Closed>()
  private readonly running = new Map<string, Promise<void>>()
  private active = 0
  /** when the oldest waiting path was queued (about) */
  private since = 0
  private timer: NodeJS.Timeout | undefined
  private room: Array<() => void> = []
  private idle: Array<() => void> = []

  constructor(private readonly o: JudgmentsOptions) {
    this.bound = o.bound ?? DEFAULT_BOUND
    if (!Number.isInteger(this.bound) || this.bound < 1) throw new RangeError(`judgment queue bound must be a positive integer, got ${this.bound}`)
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`judgment workers must be a positive integer, got ${o.workers}`)
  }

  /** Paths waiting (not yet started). */
  get waiting(): number {
    return this.pending.size
  }

  /** Judgments under way. */
  get busy(): number {
    return this.active
  }

  /** Queues these closes; resolves once at most `bound` paths wait. */
  async enqueue(closed: readonly Closed[]): Promise<void> {
    if (this.pending.size === 0) this.since = performance.now()
    for (const c of closed) {
      this.stats.queued++
      if (this.pending.has(c.path)) this.stats.coalesced++
      this.pending.set(c.path, c) // a waiting path keeps its place; the latest closer is named
    }
    this.stats.peak = Math.max(this.stats.peak, this.pending.size)
    this.pump()
    if (this.pending.size <= this.bound) return
    this.stats.waited++
    while (this.pending.size > this.bound) await new Promise<void>((res) => this.room.push(res))
  }

  /** Resolves once no judgment of `path` is waiting or running; a waiting one starts at once. */
  async settle(path: string): Promise<void> {
    for (;;) {
      const running = this.running.get(path)
      if (running !== undefined) {
        await running
        continue
      }
      const c = this.pending.get(path)
      if (c === undefined) return
      this.pending.delete(path)
      this.stats.urgent++
      this.start([c])
      this.wake()
    }
  }

  /** Resolves once every queued path is judged. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.active > 0) await new Promise<void>((res) => this.idle.push(res))
  }

  private pump(): void {
    // a full batch starts at once (up to `workers` of them); a smaller one once the oldest waiting
    // path has waited `lingerMs` and no judgment runs: meanwhile closes gather into big batches,
    // which the scanner sends to clamd in few requests
    const full = this.o.batch ?? DEFAULT_BATCH
    const linger = this.o.lingerMs ?? DEFAULT_LINGER_MS
    while (this.active < this.o.workers && this.pending.size > 0) {
      if (this.pending.size < full) {
        const wait = this.since + linger - performance.now()
        if (this.active > 0) break // its end pumps again
        if (wait > 0) {
          this.timer ??= setTimeout(() => {
            this.timer = undefined
            this.pump()
          }, wait)
          break
        }
      }
      const batch: Closed[] = []
      for (const [path, c] of this.pending) {
        if (batch.length >= (this.o.batch ?? DEFAULT_BATCH)) break
        if (this.running.has(path)) continue // judged again once the running judgment is done
        batch.push(c)
      }
      if (batch.length === 0) break
      for (const c of batch) this.pending.delete(c.path)
      this.since = performance.now()
      this.start(batch)
    }
    this.wake()
  }

  private start(batch: readonly Closed[]): void {
    this.active++
    this.stats.batches++
    this.stats.judged += batch.length
    let judged: Promise<void>
    try {
      judged = this.o.judge(batch)
    } catch (error) {
      judged = Promise.reject(error)
    }
    const done: Promise<void> = judged.catch((error: unknown) => {
      this.errors.push({ paths: batch.map((c) => c.path), error })
      this.o.onError?.(error, batch)
    }).finally(() => {
      for (const c of batch) if (this.running.get(c.path) === done) this.running.delete(c.path)
      this.active--
      this.pump()
    })
    for (const c of batch) this.running.set(c.path, done)
  }

  private wake(): void {
    if (this.pending.size <= this.bound) for (const f of this.room.splice(0)) f()
    if (this.pending.size === 0 && this.active === 0) for (const f of this.idle.splice(0)) f()
  }
}

/** One line for a judgment that failed (a bug, not a scanner failure: those are verdicts). */
export const describeJudgmentError = (error: unknown, batch: readonly Closed[]): string =>
  `bug: judging ${batch.length === 1 ? batch[0].path : `${batch.length} closed files (${batch[0]?.path}, ...)`} failed: ${reasonOf(error)}`

/** A batch handed to the journal: in R(now) already (folded), readable once `visible` settles (it
 *  never rejects: a failed commit is `committed`'s to report), durable once `committed` resolves. */
export interface Appended {
  readonly visible: Promise<void>
  readonly committed: Promise<void>
}

/** Every journal write of a recording in one line: batches of the interceptor, decisions, background
 *  verdicts. Appended in call order, one group at a time; drafts that queued up meanwhile are appended
 *  together. A lazy push (a background verdict: nobody waits for it) starts no append of its own: it
 *  rides along with the next eager one, or goes after `lazyMs`, or at once while someone hurries (an
 *  exec waiting for a verdict, the end of the run). A commit costs the tracees waiting behind it a
 *  few milliseconds: one per closed file would cost more than the scans. The next group goes once
 *  the last is visible (not durable: a tracee's question needs the batch before it in R(now), not on
 *  disk); `after` (live retention) runs between groups once the last is durable, and its failure
 *  fails every later push. Each push resolves once its drafts are committed, or rejects with the
 *  commit's error. */
export class SerialAppends {
  private queue: Array<{ readonly drafts: Draft[]; readonly lazy: boolean; readonly settle: (a: Appended) => void; readonly reject: (e: unknown) => void }> = []
  private flowing = false
  private hurrying = 0
  private timer: NodeJS.Timeout | null = null
  private emptied: Array<() => void> = []
  private last: Appended = { visible: Promise.resolve(), committed: Promise.resolve() }
  private failure: { readonly error: unknown } | undefined
  /** appends made, and drafts they carried */
  readonly stats = { commits: 0, drafts: 0 }

  /** @param append appends and folds synchronously (Ingest.append) */
  constructor(private readonly append: (drafts: Draft[]) => Appended, private readonly o: { readonly lazyMs?: number; readonly after?: () => Promise<void> } = {}) {}

  push(drafts: Draft[], lazy = false): Promise<void> {
    if (drafts.length === 0) return Promise.resolve()
    return this.enqueue(drafts, lazy).then((a) => a.committed)
  }

  /** Appends now, behind whatever waits: resolves once the drafts are in R(now), with their commit. */
  pushNow(drafts: Draft[]): Promise<Appended> {
    if (drafts.length === 0) return Promise.resolve(this.last)
    return this.enqueue(drafts, false)
  }

  /** Settles once everything appended so far is visible to readers. */
  visible(): Promise<void> {
    return this.last.visible
  }

  /** Resolves once everything pushed so far is committed (or failed): lazy pushes go at once. */
  async flush(): Promise<void> {
    if (this.flowing || this.queue.length > 0) {
      this.hurrying++
      try {
        const done = new Promise<void>((res) => this.emptied.push(res))
        this.kick()
        await done
      } finally {
        this.hurrying--
      }
    }
    await this.last.committed.catch(() => {}) // its pushers have the error
  }

  /** While `p` runs, lazy pushes are committed at once. */
  async hurry<T>(p: Promise<T>): Promise<T> {
    this.hurrying++
    this.kick()
    try {
      return await p
    } finally {
      this.hurrying--
    }
  }

  private enqueue(drafts: Draft[], lazy: boolean): Promise<Appended> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error)
    return new Promise<Appended>((settle, reject) => {
      this.queue.push({ drafts, lazy, settle, reject })
      this.kick()
    })
  }

  private urgent(): boolean {
    return this.queue.length > 0 && (this.hurrying > 0 || this.queue.some((q) => !q.lazy))
  }

  private kick(): void {
    if (this.flowing) return
    if (this.urgent()) {
      void this.flow()
      return
    }
    if (this.queue.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null
        if (!this.flowing && this.queue.length > 0) void this.flow()
      }, this.o.lazyMs ?? 20)
    }
  }

  private async flow(): Promise<void> {
    this.flowing = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    do {
      const group = this.queue.splice(0)
      if (this.failure !== undefined) {
        for (const g of group) g.reject(this.failure.error)
        continue
      }
      const drafts = group.length === 1 ? group[0].drafts : group.flatMap((g) => g.drafts)
      let appended: Appended
      try {
        appended = this.append(drafts)
      } catch (err) {
        for (const g of group) g.reject(err)
        continue
      }
      this.last = appended
      this.stats.commits++
      this.stats.drafts += drafts.length
      for (const g of group) g.settle(appended)
      await appended.visible
      // a failed commit is its pushers' to report (the journal refuses what follows); `after` runs
      // only after a durable one, and its own failure fails every later push
      if (this.o.after !== undefined && (await appended.committed.then(() => true, () => false))) {
        try {
          await this.o.after()
        } catch (error) {
          this.failure ??= { error }
        }
      }
    } while (this.urgent())
    this.flowing = false
    if (this.queue.length === 0) for (const f of this.emptied.splice(0)) f()
    this.kick()
  }
}

/** Commits nobody waits for now whose failure must not be lost: `settled()` waits for every one
 *  added so far (it never rejects); `failure` is the first that failed. */
export class Later {
  private readonly pending = new Set<Promise<void>>()
  failure: { readonly error: unknown } | undefined

  add(p: Promise<void>): void {
    this.pending.add(p)
    p.then(
      () => this.pending.delete(p),
      (error: unknown) => {
        this.pending.delete(p)
        this.failure ??= { error }
      },
    )
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending])
  }
}

/** Shared sections (judgments reading content from R(now)) and exclusive ones (live retention freeing
 *  payloads): an exclusive section waits for the shared ones under way and holds new ones back. */
export class ReadGuard {
  private readers = 0
  private writer: Promise<void> | null = null
  private drained: Array<() => void> = []

  async shared<T>(f: () => Promise<T>): Promise<T> {
    while (this.writer !== null) await this.writer
    this.readers++
    try {
      return await f()
    } finally {
      this.readers--
      if (this.readers === 0) for (const r of this.drained.splice(0)) r()
    }
  }

  async exclusive<T>(f: () => Promise<T>): Promise<T> {
    while (this.writer !== null) await this.writer
    let release: () => void = () => {}
    this.writer = new Promise<void>((res) => (release = res))
    try {
      while (this.readers > 0) await new Promise<void>((res) => this.drained.push(res))
      return await f()
    } finally {
      this.writer = null
      release()
    }
  }
}
