// A state store: a local LMDB journal that mirrors some partitions of a journal topic, plus the offsets
// to resume from (kafka.json) and the records it could not apply (parked.jsonl). Kafka is the journal;
// the store is what queries read (events, payloads, checkpoints) and can always be rebuilt from Kafka.
//
// Applying a partition's records, in offset order:
//   - events with seq <= the guest's last are duplicates (a producer retry, a redelivery, a re-read
//     after a crash) and are dropped; seq == last + 1 is appended; a later seq is a gap: the record is
//     parked and the guest waits for the missing seq (its recorder re-sending), while other guests go on;
//   - chunk records wait in memory for the events record that names them; the resume offset never
//     passes a chunk still waiting, so a restart reads it again;
//   - a malformed record (bad checksum, bad codec, not an eyrie record) is parked with an error that
//     names topic/partition/offset; its guest is marked in its meta (`kafka.parked`) until its stream
//     goes on intact (the next seq arrives).
// The store's commit is durable before the resume offsets are written, and both before the caller
// commits anything to Kafka.
import * as E from 'fp-ts/lib/Either.js'
import type { Body, Draft, Event } from '../../events/index.js'
import type { Journal } from '../journal.js'
import { JournalError } from '../errors.js'
import { checkGuest } from '../checks.js'
import { openLmdbJournal } from '../lmdb.js'
import { decodeRecord, isEntry, joinChunks, type Entry } from './message.js'
import { Offsets } from './offsets.js'
import { ParkedStore, type ParkedRecord } from './parked.js'
import type { FetchedRecord } from './fetch.js'

export const PARKED_META = 'kafka.parked'

export interface StateStoreOptions {
  /** No fsync (the LMDB store, the offsets, the parked file): for temporary stores. */
  readonly noSync?: boolean
  /** Told about every parked record, after it is safely written. */
  readonly onParked?: (record: ParkedRecord) => void
}

export interface Applied {
  /** Events appended to the store, per guest, in seq order. */
  readonly events: ReadonlyMap<string, readonly Event[]>
  readonly duplicates: number
  readonly parked: readonly ParkedRecord[]
}

interface WaitingChunks {
  readonly guest: string
  readonly seq: number
  readonly count: number
  readonly parts: Array<Uint8Array | undefined>
  /** Offset of each part, for the resume offset and for errors. */
  readonly offsets: number[]
}

const bodyOf = (e: Event): Body => {
  const { guest: _g, seq: _s, ts: _t, pid: _p, tid: _i, ...body } = e
  return body
}

const draftOf = (entry: Entry): Draft =>
  entry.data === undefined
    ? { ts: entry.event.ts, pid: entry.event.pid, tid: entry.event.tid, body: bodyOf(entry.event) }
    : { ts: entry.event.ts, pid: entry.event.pid, tid: entry.event.tid, body: bodyOf(entry.event), data: entry.data }

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export class StateStore {
  private readonly last = new Map<string, number>()
  private readonly stalledGuests = new Map<string, string>()
  private readonly position: number[]
  private readonly waiting = new Map<number, Map<string, WaitingChunks>>()

  private constructor(
    readonly dir: string,
    readonly topic: string,
    readonly journal: Journal,
    private readonly offsets: Offsets,
    private readonly parkedStore: ParkedStore,
    private readonly opts: StateStoreOptions,
  ) {
    this.position = [...offsets.all()]
  }

  static async open(dir: string, topic: string, partitions: number, opts: StateStoreOptions = {}): Promise<StateStore> {
    const sync = opts.noSync !== true
    const journal = await openLmdbJournal(dir, { noSync: !sync })
    try {
      const store = new StateStore(dir, topic, journal, Offsets.load(dir, topic, partitions, sync), ParkedStore.open(dir, sync), opts)
      for (const g of await journal.guests()) {
        store.last.set(g.guest, g.events)
        const parked = g.meta[PARKED_META]
        if (parked !== undefined && parked !== '') store.stalledGuests.set(g.guest, parked)
      }
      return store
    } catch (err) {
      await journal.close()
      throw err
    }
  }

  get partitions(): number {
    return this.offsets.partitions
  }

  /** The next offset to read from a partition. */
  next(partition: number): number {
    return this.position[partition] ?? 0
  }

  /** The offset a restart resumes from: the next one, or the first chunk still waiting for its event. */
  resumeOffset(partition: number): number {
    let offset = this.next(partition)
    for (const w of this.waiting.get(partition)?.values() ?? []) for (const o of w.offsets) offset = Math.min(offset, o)
    return offset
  }

  /** Where the store would resume after a restart, as saved. */
  savedOffset(partition: number): number {
    return this.offsets.next(partition)
  }

  lastSeq(guest: string): number {
    return this.last.get(guest) ?? 0
  }

  /** For a guest stuck behind a parked record (nothing applied since), the first such record's error. */
  stalled(guest: string): string | undefined {
    return this.stalledGuests.get(guest)
  }

  parked(): readonly ParkedRecord[] {
    return this.parkedStore.all()
  }

  /** Forgets where a partition was read up to in memory (a consumer that was moved elsewhere and
   *  back): reading resumes from the saved offset, and chunks waiting from that partition are dropped
   *  (they are read again). */
  rewind(partition: number): void {
    this.position[partition] = this.offsets.next(partition)
    this.waiting.delete(partition)
  }

  /** Applies records of one partition (offsets below next() are skipped); durable on return. `end`,
   *  when given, is where the partition's next read starts (past records that were not for us). */
  async apply(partition: number, records: readonly FetchedRecord[], end?: number): Promise<Applied> {
    const appended = new Map<string, Event[]>()
    const parked: ParkedRecord[] = []
    const writes: Promise<void>[] = []
    let duplicates = 0
    const park = (r: FetchedRecord, guest: string | null, error: string): void => {
      parked.push({
        at: new Date().toISOString(), topic: this.topic, partition, offset: r.offset, guest, error,
        key: r.key === null ? null : r.key.toString('base64'), value: r.value === null ? null : r.value.toString('base64'),
      })
      if (guest !== null && !this.stalledGuests.has(guest)) {
        this.stalledGuests.set(guest, error)
        writes.push(this.journal.setMeta(guest, { [PARKED_META]: error }))
      }
    }
    for (const r of records) {
      if (r.offset < this.next(partition)) continue
      this.position[partition] = r.offset + 1
      const where = `kafka topic=${this.topic} partition=${partition} offset=${r.offset}`
      const guest = r.key === null ? undefined : r.key.toString('utf8')
      try {
        if (guest === undefined) throw new JournalError('DECODE', 'no key')
        checkGuest(guest)
      } catch (err) {
        park(r, null, `${where}: record key is not a guest id (${message(err)})`)
        continue
      }
      const decoded = r.decoded === undefined ? decodeRecord(guest, r.value) : E.right(r.decoded)
      if (E.isLeft(decoded)) {
        park(r, guest, `${where} guest=${guest}: ${decoded.left}`)
        continue
      }
      const d = decoded.right
      if (d.type === 'meta') {
        writes.push(this.journal.setMeta(guest, d.meta))
        continue
      }
      if (d.type === 'chunk') {
        if (d.seq <= this.lastSeq(guest)) {
          duplicates++
          continue
        }
        const error = this.holdChunk(partition, guest, r.offset, d.seq, d.index, d.count, d.bytes)
        if (error !== undefined) park(r, guest, `${where} guest=${guest}: ${error}`)
        continue
      }
      let last = this.lastSeq(guest)
      const drafts: Draft[] = []
      const events: Event[] = []
      for (const slot of d.slots) {
        if (slot.seq <= last) {
          duplicates++
          continue
        }
        if (slot.seq > last + 1) {
          park(r, guest, `${where} guest=${guest}: seq gap: the store has up to seq ${last}, the record starts at ${slot.seq} (waiting for the recorder to send seq ${last + 1})`)
          break
        }
        const entry = isEntry(slot) ? E.right(slot) : this.joinWaiting(partition, guest, slot.seq, slot.chunks)
        if (E.isLeft(entry)) {
          park(r, guest, `${where} guest=${guest}: ${entry.left}`)
          break
        }
        drafts.push(draftOf(entry.right))
        events.push(entry.right.event)
        last++
      }
      if (drafts.length > 0) {
        try {
          const result = this.journal.append(guest, drafts)
          if (result.first !== last - drafts.length + 1) throw new Error(`bug: store assigned seq ${result.first}, the record says ${last - drafts.length + 1}`)
        } catch (err) {
          park(r, guest, `${where} guest=${guest}: ${message(err)}`)
          continue
        }
        this.last.set(guest, last)
        if (this.stalledGuests.delete(guest)) writes.push(this.journal.setMeta(guest, { [PARKED_META]: '' })) // whatever was parked, the stream goes on intact
        const list = appended.get(guest)
        if (list === undefined) appended.set(guest, events)
        else list.push(...events)
      }
      this.dropWaitingUpTo(partition, guest, last)
    }
    if (end !== undefined && end > this.next(partition)) this.position[partition] = end
    // Durable order: the store's events, then the parked records, then the offsets that move past them.
    await Promise.all(writes)
    await this.journal.flush()
    this.parkedStore.add(parked)
    this.offsets.save(new Map([[partition, this.resumeOffset(partition)]]))
    for (const p of parked) this.opts.onParked?.(p)
    return { events: appended, duplicates, parked }
  }

  async close(): Promise<void> {
    await this.journal.close()
  }

  // --- chunks ---

  private holdChunk(partition: number, guest: string, offset: number, seq: number, index: number, count: number, bytes: Uint8Array): string | undefined {
    let byKey = this.waiting.get(partition)
    if (byKey === undefined) this.waiting.set(partition, (byKey = new Map()))
    const key = `${guest}\0${seq}`
    let w = byKey.get(key)
    if (w !== undefined && w.count !== count) {
      // a re-send may cut the entry differently: the newer chunks win
      byKey.delete(key)
      w = undefined
    }
    if (w === undefined) byKey.set(key, (w = { guest, seq, count, parts: new Array(count).fill(undefined), offsets: [] }))
    w.parts[index] = bytes
    w.offsets.push(offset)
    return count > 0 ? undefined : `chunk of seq ${seq}: count 0`
  }

  private joinWaiting(partition: number, guest: string, seq: number, chunks: number): E.Either<string, Entry> {
    const w = this.waiting.get(partition)?.get(`${guest}\0${seq}`)
    if (w === undefined) return E.left(`entry seq=${seq} was sent in ${chunks} chunks, none of which arrived before it`)
    if (w.count !== chunks) return E.left(`entry seq=${seq} names ${chunks} chunks, the chunks say ${w.count} (chunk offsets ${w.offsets.join(',')})`)
    const parts: Uint8Array[] = []
    for (const [i, p] of w.parts.entries()) {
      if (p === undefined) return E.left(`entry seq=${seq}: chunk ${i} of ${chunks} never arrived (have offsets ${w.offsets.join(',')})`)
      parts.push(p)
    }
    const entry = joinChunks(guest, seq, parts)
    return E.isLeft(entry) ? E.left(`${entry.left}, chunk offsets ${w.offsets.join(',')}`) : entry
  }

  /** Chunks of seqs the guest already has are duplicates (or superseded by an inline copy). */
  private dropWaitingUpTo(partition: number, guest: string, last: number): void {
    const byKey = this.waiting.get(partition)
    if (byKey === undefined) return
    for (const [key, w] of byKey) if (w.guest === guest && w.seq <= last) byKey.delete(key)
  }
}
