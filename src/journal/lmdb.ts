// The embedded journal: one LMDB environment (lmdb-js) with its named databases, plus segment files
// for large payloads (blobs.ts); every value checksummed. On-disk format: journal/README.md.
//
// Writes: seqs are assigned synchronously from per-guest counters held by the one writer; every put of
// one append() is issued in the same event turn, and lmdb-js commits all writes of an event turn in one
// transaction (eventTurnBatching), so a batch is never half visible and concurrent appends share
// commits. A batch with large payloads first writes them to the current segment and waits for their
// fdatasync; its puts (and those of every write submitted after it) then run in order (ordered.ts).
// Reads: lmdb-js read transactions are MVCC snapshots; they never block the writer, and another
// process reads the same files.
import { open, type RootDatabase, type RootDatabaseOptions } from 'lmdb'
import type { Journal } from './journal.js'
import { JournalError } from './errors.js'
import { FILE_MODE, lockWriter, prepareDir } from './files.js'
import { checkFormat, openDbs } from './lmdbDbs.js'
import type { CompactedChecks } from './compactedChecks.js'
import { LmdbJournal } from './lmdbJournal.js'

export { defaultJournalDir } from './files.js'
export { JOURNAL_FORMAT } from './lmdbDbs.js'
export { BLOB_FROM } from './lmdbJournal.js'

export interface LmdbJournalOptions {
  readonly readOnly?: boolean
  /** No fsync: a commit is visible at once, but a machine crash may lose recent commits or damage the
   *  file. For tests and throw-away recordings. */
  readonly noSync?: boolean
  /** Told about damage the journal routes around (a corrupt checkpoint skipped for an older one).
   *  Default: a process warning. */
  readonly onCorruption?: (error: JournalError) => void
  /** Events per array yielded by read(). */
  readonly readBatch?: number
  /** LMDB's MDB_WRITEMAP: commits write into the file mapping instead of copying pages out. On this
   *  project's benchmark it raises 1 MiB payload throughput (one copy fewer) and lowers the small-event
   *  rate; LMDB also warns it gives up protection against stray native writes and suits data that
   *  fits in RAM. Off by default; read-only openers ignore it. */
  readonly writeMap?: boolean
  /** Payloads of at least this many bytes go to blob segments instead of LMDB (default 64 KiB). */
  readonly blobFrom?: number
  /** Blob segments hold at most this many bytes, unless one batch alone is larger (default 64 MiB). */
  readonly segmentBytes?: number
  /** When the crc of a compacted value is checked: the first time this instance reads it (default),
   *  or on every read (compactedChecks.ts). */
  readonly compactedChecks?: CompactedChecks
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export const openLmdbJournal = async (dir: string, opts: LmdbJournalOptions = {}): Promise<Journal> => {
  const readOnly = opts.readOnly === true
  const path = prepareDir(dir, readOnly)
  const release = readOnly ? () => {} : lockWriter(path)
  let root: RootDatabase | undefined
  try {
    // permissionsMode is an lmdb-js option its typings omit: the mode of data.mdb/lock.mdb when created.
    const options: RootDatabaseOptions & { permissionsMode: number } = {
      noSubdir: false, // a directory name with a dot must not turn into a file name
      maxDbs: 16,
      readOnly,
      noSync: opts.noSync === true,
      separateFlushed: true,
      permissionsMode: FILE_MODE,
      useWritemap: opts.writeMap === true,
    }
    const env = open(path, options)
    root = env
    // the writer creates the databases and the format record in one transaction: one sync, not ten
    const opened = () => {
      const dbs = openDbs(path, env)
      checkFormat(path, dbs, readOnly)
      return dbs
    }
    const dbs = readOnly ? opened() : env.transactionSync(opened)
    const journal = new LmdbJournal(path, opts, env, release, dbs)
    if (!readOnly) journal.loadCounters()
    return journal
  } catch (err) {
    if (root !== undefined) await root.close()
    release()
    if (err instanceof JournalError) throw err
    throw new JournalError('IO', `cannot open journal ${path}: ${message(err)}`, {}, { cause: err })
  }
}
