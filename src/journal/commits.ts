// When a write is done, and what happens when one fails.
import { JournalError } from './errors.js'

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === 'object' && u !== null && typeof Reflect.get(u, 'then') === 'function'

export class Commits {
  private tail: Promise<void> = Promise.resolve()
  /** The first failed commit. Seqs were handed out for data that is not there, so it poisons the
   *  journal: later appends, flush and close report it even if nobody awaited the failed write. */
  failure: JournalError | undefined

  constructor(private readonly path: string, private readonly noSync: boolean) {}

  /** Durable per the sync policy: after the fsync that follows the commit (lmdb-js overlappingSync
   *  commits first, syncs after), or at commit with noSync. */
  track(put: Promise<boolean>, what: string, where: { guest?: string; seq?: number }): Promise<void> {
    const flushed: unknown = Reflect.get(put, 'flushed') // set by lmdb-js when separateFlushed is on
    const durable = this.noSync || !isThenable(flushed) ? put : Promise.all([put, flushed])
    const done = durable.then(
      () => undefined,
      (cause: unknown) => {
        const error = new JournalError('IO', `journal ${this.path}: ${what}: commit failed: ${message(cause)}`, where, { cause })
        this.failure ??= error
        throw error
      },
    )
    done.catch(() => {}) // not unhandled: this.failure carries it to the next append/flush/close
    this.tail = done
    return done
  }

  /** Waits for every write tracked so far (commits complete in order, so the last one suffices). */
  async flush(): Promise<void> {
    await this.tail.catch(() => {})
    if (this.failure !== undefined) throw this.failure
  }
}
