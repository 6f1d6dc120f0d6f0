// Where the journal lives on disk and who may write it.
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { JournalError } from './errors.js'

/** `$EYRIE_JOURNAL` if set, else `./journal`, resolved against cwd. */
export const defaultJournalDir = (env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string => {
  const configured = env.EYRIE_JOURNAL
  return configured !== undefined && configured !== '' ? resolve(cwd, configured) : resolve(cwd, 'journal')
}

export const DATA_FILE = 'data.mdb'
export const WRITER_LOCK = 'writer.lock'
/** LMDB's two meta pages (4 KiB pages here; a larger page size only makes the file larger). */
export const LMDB_HEADER_BYTES = 2 * 4096
/** The journal holds the bytes processes wrote: owner only. */
export const DIR_MODE = 0o700
export const FILE_MODE = 0o600

/** Create the directory (0700) for a writer; a reader needs an existing journal. */
export const prepareDir = (dir: string, readOnly: boolean): string => {
  if (readOnly) {
    const data = statSync(join(dir, DATA_FILE), { throwIfNoEntry: false })
    if (data === undefined) throw new JournalError('NOT_FOUND', `no journal at ${dir} (${DATA_FILE} is missing)`)
    // LMDB creates the file empty and then writes its two meta pages; lmdb-js, opening the empty
    // file read-only, dies of SIGSEGV (a reader racing `eyrie record`'s first milliseconds did)
    if (data.size < LMDB_HEADER_BYTES) {
      throw new JournalError('NOT_FOUND', `journal ${dir} is being created (${DATA_FILE} has no LMDB header yet): open it again once its writer has started`)
    }
  } else {
    // An existing directory keeps its mode: it may be shared (the repository's journal/ holds a README).
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  }
  return realpathSync(dir)
}

const heldHere = new Set<string>()

const errnoOf = (err: unknown): unknown => (err instanceof Error ? Reflect.get(err, 'code') : undefined)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoOf(err) === 'EPERM'
  }
}

/** One writer per journal: seqs are assigned from counters in the writer's memory, so a second writer
 *  would hand out the same seqs. LMDB serialises the transactions but cannot know that. The lock is a
 *  file holding the writer's pid; a lock whose process is gone is stale and taken over. */
export const lockWriter = (dir: string): (() => void) => {
  const file = join(dir, WRITER_LOCK)
  if (heldHere.has(dir)) throw new JournalError('USAGE', `journal ${dir} is already open for writing in this process`)
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', FILE_MODE)
      try {
        writeSync(fd, `${process.pid}\n`)
      } finally {
        closeSync(fd)
      }
      break
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST' || attempt > 0) {
        throw new JournalError('IO', `cannot lock journal ${dir} for writing: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err })
      }
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new JournalError('USAGE', `journal ${dir} is open for writing by process ${pid}`)
      }
      unlinkSync(file)
    }
  }
  heldHere.add(dir)
  return () => {
    heldHere.delete(dir)
    unlinkSync(file)
  }
}
