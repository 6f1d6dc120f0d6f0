// `kafka.json` in a state store: which topic the store mirrors and, per partition, the offset to resume
// from. Written after the store's own commit is durable (write a temporary file, fsync, rename, fsync
// the directory), so after a crash the store is at or ahead of these offsets, never behind: records
// read twice are dropped as duplicates by (guest, seq).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { formatErrors, Nat } from '../../events/index.js'
import { JournalError } from '../errors.js'
import { FILE_MODE } from '../files.js'

export const OFFSETS_FILE = 'kafka.json'

const OffsetsFile = t.type({
  format: t.literal(1),
  topic: t.string,
  partitions: Nat,
  /** Resume offset per partition, indexed by partition. */
  next: t.array(Nat),
})
type OffsetsFile = t.TypeOf<typeof OffsetsFile>

export class Offsets {
  private constructor(private readonly dir: string, private readonly sync: boolean, private readonly state: OffsetsFile) {}

  /** The store's offsets, or zeros for a new store; refuses a store that mirrors another topic. */
  static load(dir: string, topic: string, partitions: number, sync: boolean): Offsets {
    const file = join(dir, OFFSETS_FILE)
    if (!existsSync(file)) return new Offsets(dir, sync, { format: 1, topic, partitions, next: new Array<number>(partitions).fill(0) })
    let u: unknown
    try {
      u = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new JournalError('CORRUPT', `${file}: not JSON (${err instanceof Error ? err.message : String(err)})`)
    }
    const state = OffsetsFile.decode(u)
    if (E.isLeft(state)) throw new JournalError('CORRUPT', `${file}: ${formatErrors(state.left)}`)
    const s = state.right
    if (s.topic !== topic) throw new JournalError('USAGE', `state store ${dir} mirrors topic ${s.topic}, not ${topic}: use another --state directory`)
    if (s.partitions > partitions || s.next.length !== s.partitions) {
      throw new JournalError('USAGE', `state store ${dir} knows ${s.partitions} partitions of ${topic}, the broker ${partitions}: partitions were removed or the topic was recreated; use a new state directory`)
    }
    // Partitions added to the topic start from 0. (Adding partitions moves guests: see docs/kafka.md.)
    return new Offsets(dir, sync, { ...s, partitions, next: [...s.next, ...new Array<number>(partitions - s.partitions).fill(0)] })
  }

  get partitions(): number {
    return this.state.partitions
  }

  next(partition: number): number {
    return this.state.next[partition] ?? 0
  }

  all(): readonly number[] {
    return this.state.next
  }

  /** Records new resume offsets; durable when this returns. */
  save(next: ReadonlyMap<number, number>): void {
    let changed = false
    for (const [p, offset] of next) {
      if (this.state.next[p] !== offset) {
        this.state.next[p] = offset
        changed = true
      }
    }
    if (!changed) return
    writeAtomic(this.dir, OFFSETS_FILE, `${JSON.stringify(this.state)}\n`, this.sync)
  }
}

/** Writes a small file so that a reader sees the old or the new content, never a mix; with `sync`,
 *  durable on return (file and directory fsynced). */
export const writeAtomic = (dir: string, name: string, text: string, sync: boolean): void => {
  const file = join(dir, name)
  const tmp = `${file}.tmp`
  const fd = openSync(tmp, 'w', FILE_MODE)
  try {
    writeSync(fd, text)
    if (sync) fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  if (sync) {
    const dirFd = openSync(dir, 'r')
    try {
      fsyncSync(dirFd)
    } finally {
      closeSync(dirFd)
    }
  }
}
