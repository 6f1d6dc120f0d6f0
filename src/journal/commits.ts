// When a write is done, and what happens when one fails.
import { statfsSync } from 'node:fs'
import { JournalError } from './errors.js'

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === 'object' && u !== null && typeof Reflect.get(u, 'then') === 'function'

/** lmdb-js rejects every promise of a failed transaction with 'Commit failed (see commitError for
 *  details)' and puts the real error (EIO from a short write on a full disk, MDB_MAP_FULL, ...) in a
 *  separate promise, `commitError`. Some of those promises are lmdb-js's own and nobody can await
 *  them; left alone they would end the process as unhandled rejections before the journal says what
 *  went wrong. Failures already reported here are therefore recognised by their commitError and
 *  dropped; any other unhandled rejection is thrown on, as Node would have. */
const reported = new WeakSet<object>()
let listening = false
const dropReported = (reason: unknown): void => {
  const commitError: unknown = typeof reason === 'object' && reason !== null ? Reflect.get(reason, 'commitError') : undefined
  if (typeof commitError === 'object' && commitError !== null && reported.has(commitError)) return
  throw reason
}

/** The real error behind a failed lmdb-js commit, when it says where to find it. */
const realCause = async (cause: unknown): Promise<unknown> => {
  const commitError: unknown = typeof cause === 'object' && cause !== null ? Reflect.get(cause, 'commitError') : undefined
  if (!isThenable(commitError) || typeof commitError !== 'object' || commitError === null) return cause
  reported.add(commitError)
  if (!listening) {
    listening = true
    process.on('unhandledRejection', dropReported)
  }
  try {
    await commitError
    return cause
  } catch (real) {
    return real
  }
}

/** How much room is left where the journal lives: a failed commit on a full disk says so. */
export const freeSpace = (path: string): string => {
  try {
    const s = statfsSync(path)
    const free = Number(s.bavail) * Number(s.bsize)
    return free < 1 << 20 ? ` (the file system holding the journal is full: ${free} bytes free)` : ''
  } catch {
    return ''
  }
}

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
      async (failed: unknown) => {
        const cause = await realCause(failed)
        const error = new JournalError('IO', `journal ${this.path}: ${what}: commit failed: ${message(cause)}${freeSpace(this.path)}`, where, { cause })
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
