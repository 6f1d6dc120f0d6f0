// Writes reach LMDB in call order, even when some must first wait for their blob bytes to be durable
// (blobs.ts): a later batch committed before an earlier one would leave a gap below the guest's last
// seq, and a guest record, checkpoint or forget committed ahead of the events it describes could
// outlive them in a crash. A write with nothing to wait for, behind nothing, runs at once (in the
// caller's event turn, as before); otherwise it queues. Writes that become ready together run in one
// turn, so lmdb-js commits them in one transaction.

interface Waiting {
  ready: boolean
  readonly run: () => Promise<void>
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

export class Ordered {
  private readonly waiting: Waiting[] = []

  /** @param poisoned the journal's first failure, if any: queued writes behind a failed one never run. */
  constructor(private readonly poisoned: () => unknown, private readonly poison: (err: unknown) => void) {}

  /** Runs `run` (which issues puts synchronously and returns their commit) once `ready` has resolved
   *  and every write submitted before has run. A rejected `ready` poisons the journal. */
  submit(ready: Promise<void> | undefined, run: () => Promise<void>): Promise<void> {
    if (ready === undefined && this.waiting.length === 0) return run()
    return new Promise<void>((resolve, reject) => {
      const item: Waiting = { ready: ready === undefined, run, resolve, reject }
      this.waiting.push(item)
      ready?.then(
        () => {
          item.ready = true
          this.drain()
        },
        (err: unknown) => {
          this.poison(err)
          this.drain()
        },
      )
    })
  }

  get idle(): boolean {
    return this.waiting.length === 0
  }

  private drain(): void {
    const failure = this.poisoned()
    if (failure !== undefined) {
      for (const item of this.waiting.splice(0)) item.reject(failure)
      return
    }
    for (let item = this.waiting[0]; item !== undefined && item.ready; item = this.waiting[0]) {
      this.waiting.shift()
      try {
        item.run().then(item.resolve, item.reject)
      } catch (err) {
        item.reject(err)
      }
    }
  }
}
