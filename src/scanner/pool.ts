// Bounded parallelism towards clamd, and a breaker that stops knocking on a door that is not there.
//
// Slots: at most `size` INSTREAM requests at once (clamscan opens one connection per request, so a
// slot is a connection). Independent scans run side by side; the rest queue in arrival order, except
// that a caller a tracee waits for (exec/open) may go to the front, ahead of background judgments.
// Breaker: after a failure, requests fail at once for `retryAfterMs` instead of each waiting out its
// own timeout (a dead clamd must cost an exec microseconds, not seconds); then one request probes,
// and a success closes the breaker again, so scanning resumes by itself when clamd is back.

export class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`connection pool size must be a positive integer, got ${size}`)
    this.free = size
  }

  /** Requests currently holding a slot. */
  get busy(): number {
    return this.size - this.free
  }

  get queued(): number {
    return this.waiting.length
  }

  /** Runs `task` in a slot; `front`: ahead of every waiting task (a tracee waits for this one). */
  async run<T>(task: () => Promise<T>, front = false): Promise<T> {
    if (this.free > 0) this.free--
    else await new Promise<void>((res) => (front ? this.waiting.unshift(res) : this.waiting.push(res)))
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      // hand the slot straight to the next waiter: `free` stays as it is
      if (next !== undefined) next()
      else this.free++
    }
  }
}

export type BreakerState = { readonly open: false } | { readonly open: true; readonly reason: string; readonly until: number }

export class Breaker {
  private state: BreakerState = { open: false }
  private probing = false

  constructor(readonly retryAfterMs: number, private readonly now: () => number = Date.now) {}

  /** null: go ahead (maybe as the probe); a string: fail now with this reason. */
  admit(): string | null {
    if (!this.state.open) return null
    if (this.now() >= this.state.until && !this.probing) {
      this.probing = true
      return null
    }
    return `${this.state.reason} (clamd failed ${this.retryAfterMs > 0 ? `less than ${this.retryAfterMs} ms ago; retrying after that` : 'just now'})`
  }

  success(): void {
    this.state = { open: false }
    this.probing = false
  }

  failure(reason: string): void {
    this.probing = false
    if (this.retryAfterMs > 0) this.state = { open: true, reason, until: this.now() + this.retryAfterMs }
  }

  get current(): BreakerState {
    return this.state
  }
}
