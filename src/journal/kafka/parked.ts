// Records a state store could not apply (malformed, checksum mismatch, a seq gap) are parked: kept
// byte for byte in `parked.jsonl` beside the store, with the error that names topic/partition/offset,
// and reported. Never silently skipped: the file is written (and synced) before the consumer's offset
// moves past the record.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { formatErrors } from '../../events/index.js'
import { JournalError } from '../errors.js'
import { FILE_MODE } from '../files.js'

export const PARKED_FILE = 'parked.jsonl'

export const ParkedRecord = t.type({
  at: t.string, // ISO time of parking
  topic: t.string,
  partition: t.number,
  offset: t.number,
  guest: t.union([t.string, t.null]),
  error: t.string, // one line, naming topic/partition/offset
  key: t.union([t.string, t.null]), // base64
  value: t.union([t.string, t.null]), // base64
})
export type ParkedRecord = t.TypeOf<typeof ParkedRecord>

export class ParkedStore {
  private constructor(private readonly file: string, private readonly sync: boolean, private readonly records: ParkedRecord[]) {}

  static open(dir: string, sync: boolean): ParkedStore {
    const file = join(dir, PARKED_FILE)
    return new ParkedStore(file, sync, existsSync(file) ? readParked(file) : [])
  }

  all(): readonly ParkedRecord[] {
    return this.records
  }

  /** Appends and (unless the store runs without sync) fsyncs before returning. */
  add(records: readonly ParkedRecord[]): void {
    if (records.length === 0) return
    const fd = openSync(this.file, 'a', FILE_MODE)
    try {
      writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''))
      if (this.sync) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    this.records.push(...records)
  }
}

export const readParked = (file: string): ParkedRecord[] => {
  const out: ParkedRecord[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (const [i, line] of lines.entries()) {
    if (line === '') continue
    let u: unknown
    try {
      u = JSON.parse(line)
    } catch (err) {
      // a torn last line is what a crash during append leaves; anything else is damage
      if (i === lines.length - 1) break
      throw new JournalError('CORRUPT', `${file}:${i + 1}: not JSON (${err instanceof Error ? err.message : String(err)})`)
    }
    const r = ParkedRecord.decode(u)
    if (E.isLeft(r)) throw new JournalError('CORRUPT', `${file}:${i + 1}: ${formatErrors(r.left)}`)
    out.push(r.right)
  }
  return out
}
