// The journal's named LMDB databases, their keys, and the format record that says which on-disk
// format they hold (journal/README.md).
import type { Database, RootDatabase } from 'lmdb'
import { JournalError } from './errors.js'
import { formatFromValue, formatValue } from './values.js'

/** The on-disk format this eyrie reads and writes (journal/README.md). 1: no `meta` database, every
 *  payload in LMDB. 2: large payloads in blob segments, the `meta`, `blobs` and `segments` databases. */
export const JOURNAL_FORMAT = 2

export type SeqKey = [string, number]
/** [guest, checkpoint seq, base] */
export type CompactedKey = [string, number, number]

export interface Dbs {
  readonly events: Database<Uint8Array, SeqKey>
  readonly payloads: Database<Uint8Array, SeqKey>
  readonly blobs: Database<Uint8Array, SeqKey>
  readonly checkpoints: Database<Uint8Array, SeqKey>
  readonly compacted: Database<Uint8Array, CompactedKey>
  readonly sources: Database<Uint8Array, CompactedKey>
  readonly guests: Database<Uint8Array, string>
  readonly segments: Database<Uint8Array, number>
  readonly meta: Database<Uint8Array, string>
}

/** Opens the named databases. A read-only opener cannot create them: lmdb-js then returns undefined,
 *  which is named here rather than failing later on the first read. */
export const openDbs = (path: string, env: RootDatabase): Dbs => {
  const missing: string[] = []
  const db = <K extends SeqKey | CompactedKey | string | number>(name: string): Database<Uint8Array, K> => {
    const opened = env.openDB<Uint8Array, K>(name, { encoding: 'binary', keyEncoding: 'ordered-binary' }) as Database<Uint8Array, K> | undefined
    if (opened === undefined) missing.push(name)
    return opened as Database<Uint8Array, K>
  }
  const dbs = {
    events: db<SeqKey>('events'),
    payloads: db<SeqKey>('payloads'),
    blobs: db<SeqKey>('blobs'),
    checkpoints: db<SeqKey>('checkpoints'),
    compacted: db<CompactedKey>('compacted'),
    sources: db<CompactedKey>('sources'),
    guests: db<string>('guests'),
    segments: db<number>('segments'),
    meta: db<string>('meta'),
  }
  if (missing.length > 0) {
    // format 1 had no `meta`, `blobs` or `segments`: say so when that is what this is
    const format1 = missing.every((n) => n === 'meta' || n === 'blobs' || n === 'segments') && missing.includes('meta') &&
      dbs.guests !== undefined && dbs.guests.getKeysCount({ limit: 1 }) > 0
    if (format1) throw formatOne(path)
    throw new JournalError('DECODE', `journal ${path} has no ${missing.join(', ')} database${missing.length > 1 ? 's' : ''}: ` +
      'not an eyrie journal, or its writer has not created them yet (open it again once `eyrie record` has started)')
  }
  return dbs
}

const formatOne = (path: string): JournalError =>
  new JournalError('DECODE', `journal ${path} is format 1 (written by an earlier eyrie); this eyrie reads format ${JOURNAL_FORMAT} only: ` +
    'export it with the eyrie that wrote it (`eyrie export jsonl`) and import that here')

/** A journal says which format it is in; one without that record is format 1 if it holds anything,
 *  and new otherwise (the writer records the format before its first append). */
export const checkFormat = (path: string, dbs: Dbs, readOnly: boolean): void => {
  const value = dbs.meta.get('format')
  if (value === undefined) {
    const empty = dbs.guests.getKeysCount({ limit: 1 }) === 0
    if (!empty) throw formatOne(path)
    if (!readOnly) dbs.meta.putSync('format', formatValue(JOURNAL_FORMAT))
    return
  }
  const format = formatFromValue(value)
  if (format !== JOURNAL_FORMAT) {
    throw new JournalError('DECODE', `journal ${path} is format ${format}; this eyrie reads format ${JOURNAL_FORMAT} only${format > JOURNAL_FORMAT ? ' (a newer eyrie wrote it)' : ''}`)
  }
}
