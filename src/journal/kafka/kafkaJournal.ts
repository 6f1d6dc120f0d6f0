// The Kafka journal: a Journal whose events live in one Kafka topic (key = guest id, so a guest's order
// is its partition's order), read through a local state store (store.ts).
//
// Writes: seqs are assigned synchronously from per-guest counters (one recorder per guest), encoded in
// LMDB's checksummed form (message.ts) and sent by one pump, one request at a time, in call order: a
// retry can duplicate a record but never reorder two. `committed` resolves when the broker has the
// records (acks=all) and, by default, the local store has applied them too: the journal mirrors its
// own records (built from the drafts it encoded, not decoded again) at the offsets the broker gave them, so reading back costs no
// fetch (records of other writers in between are fetched first, so none is skipped).
// Reads: the journal sees the topic as it was when opened plus its own appends (and other writers'
// records that the fetches bring along). Without mirroring, reads fetch what this journal sent.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Producer } from 'kafkajs'
import type { Draft, Event } from '../../events/index.js'
import type { AppendResult, Checkpoint, CompactedFileValue, CompactedReadOptions, CompactedValue, GuestInfo, Journal } from '../journal.js'
import { JournalError } from '../errors.js'
import { checkDraft, checkGuest } from '../checks.js'
import { connectProducer, kafkaClient, kafkaError, stderrLog, type KafkaLog } from './client.js'
import { TopicReader, type FetchedRecord, type PartitionBatch } from './fetch.js'
import { encodeEvents, encodeMeta, ownRecord, type Decoded } from './message.js'
import { partitionOf } from './partition.js'
import type { ParkedRecord } from './parked.js'
import { StateStore } from './store.js'
import { showTarget, type KafkaTarget } from './url.js'

export interface KafkaJournalOptions {
  /** Refuse appends, meta and checkpoints (queries). The local state store is written either way. */
  readonly readOnly?: boolean
  /** The state store directory (default: the URL's state=, else a temporary one removed on close). */
  readonly stateDir?: string
  /** Run the state store without fsync (default: only when it is a temporary directory). */
  readonly noSync?: boolean
  /** kafkajs errors and broker notices (default: stderr). */
  readonly log?: KafkaLog
  /** Told about every record the store parks (default: one line to `log`). */
  readonly onParked?: (record: ParkedRecord) => void
  /** Apply this journal's own records to its store as they are acked (default true). Off, `committed`
   *  means "acked" only and the store fetches them when something is read: for shipping, where nothing
   *  is read back. */
  readonly mirrorOwnWrites?: boolean
}

/** A record's share of a request beyond its key and value: the batch header (61 bytes) and the record's own varints and attributes (at most ~32), rounded up. */
const RECORD_OVERHEAD = 128
const FETCH_WAIT_MS = 500

interface Outgoing {
  readonly partition: number
  readonly key: Buffer
  readonly value: Buffer
  /** For the mirror: the record as decoded, without decoding it. */
  readonly decoded?: () => Decoded
  /** Set on the last record of an append or meta: settled when that record is acked. */
  readonly done?: { resolve: () => void; reject: (err: JournalError) => void }
}

export class KafkaJournal implements Journal {
  private readonly counters = new Map<string, number>()
  private readonly produced: number[]
  private readonly queue: Outgoing[] = []
  private pump: Promise<void> | undefined
  /** Every change to the store (mirroring, fetching) runs on this chain, in order. */
  private chain: Promise<void> = Promise.resolve()
  private failure: JournalError | undefined
  private closed = false

  private constructor(
    readonly target: KafkaTarget,
    private readonly reader: TopicReader,
    private readonly store: StateStore,
    private readonly producer: Producer | undefined,
    /** Offsets the topic had reached when opened. */
    private readonly opened: readonly number[],
    private readonly cleanup: () => void,
    private readonly mirrorOwnWrites: boolean,
  ) {
    this.produced = new Array<number>(reader.partitions).fill(0)
  }

  static async open(target: KafkaTarget, opts: KafkaJournalOptions = {}): Promise<KafkaJournal> {
    const log = opts.log ?? stderrLog
    const kafka = kafkaClient(target, log)
    const reader = await TopicReader.open(kafka, target)
    const configured = opts.stateDir ?? target.state
    const dir = configured ?? mkdtempSync(join(tmpdir(), 'eyrie-kafka-state-'))
    const cleanup = configured === undefined ? () => rmSync(dir, { recursive: true, force: true }) : () => {}
    let store: StateStore | undefined
    let producer: Producer | undefined
    try {
      store = await StateStore.open(dir, target.topic, reader.partitions, {
        noSync: opts.noSync ?? configured === undefined,
        onParked: opts.onParked ?? ((r) => log(r.error)),
      })
      const opened = await reader.ends()
      if (opts.readOnly !== true) producer = (await connectProducer(kafka, target, log)).producer
      const journal = new KafkaJournal(target, reader, store, producer, opened, cleanup, opts.mirrorOwnWrites !== false)
      await journal.sync()
      return journal
    } catch (err) {
      // the error that stopped the open is the one to report, not those of closing what was opened
      await producer?.disconnect().catch(() => {})
      await store?.close().catch(() => {})
      await reader.close().catch(() => {})
      cleanup()
      throw err
    }
  }

  /** Records this journal's store could not apply, from every session of its state store. */
  parked(): readonly ParkedRecord[] {
    return this.store.parked()
  }

  append(guest: string, drafts: readonly Draft[]): AppendResult {
    this.checkWritable()
    checkGuest(guest)
    const stalled = this.store.stalled(guest)
    if (stalled !== undefined) throw new JournalError('USAGE', `guest ${guest} is stuck behind a parked record in ${showTarget(this.target)}, so its next seq is uncertain: ${stalled}`, { guest })
    const lastSeq = this.counters.get(guest) ?? this.store.lastSeq(guest)
    const first = lastSeq + 1
    const last = lastSeq + drafts.length
    if (drafts.length === 0) return { first, last, committed: Promise.resolve() }
    for (let i = 0; i < drafts.length; i++) checkDraft(guest, i, drafts[i])
    const values = encodeEvents(guest, first, drafts, this.recordLimit(guest))
    this.counters.set(guest, last)
    const own = [...drafts] // the caller may reuse its array before the mirror runs
    return { first, last, committed: this.send(guest, values, `append guest=${guest} seq=${first}..${last}`, (value) => () => ownRecord(guest, value, first, own)) }
  }

  async *read(guest: string, from: number, to: number): AsyncIterable<readonly Event[]> {
    await this.visible()
    yield* this.store.journal.read(guest, from, to)
  }

  async payload(guest: string, seq: number): Promise<Uint8Array> {
    await this.visible()
    return this.store.journal.payload(guest, seq)
  }

  async seqAt(guest: string, ts: bigint): Promise<number> {
    await this.visible()
    return this.store.journal.seqAt(guest, ts)
  }

  async lastSeq(guest: string): Promise<number> {
    await this.visible()
    return this.store.journal.lastSeq(guest)
  }

  async guests(): Promise<readonly GuestInfo[]> {
    await this.visible()
    return this.store.journal.guests()
  }

  async setMeta(guest: string, meta: Readonly<Record<string, string>>): Promise<void> {
    this.checkWritable()
    checkGuest(guest)
    await this.send(guest, [encodeMeta(guest, meta)], `setMeta guest=${guest}`)
  }

  /** Checkpoints are the reader's business: they stay in the local state store, not in Kafka. */
  async putCheckpoint(guest: string, seq: number, state: Uint8Array, compacted?: readonly CompactedFileValue[]): Promise<void> {
    this.checkWritable()
    await this.visible()
    return this.store.journal.putCheckpoint(guest, seq, state, compacted)
  }

  async compacted<T>(guest: string, seq: number, at: number, use: (value: CompactedValue) => T, opts?: CompactedReadOptions): Promise<T | undefined> {
    await this.visible()
    return this.store.journal.compacted?.(guest, seq, at, use, opts)
  }

  async compactedSources(guest: string, seq: number, base: number): Promise<Uint8Array | undefined> {
    await this.visible()
    return this.store.journal.compactedSources?.(guest, seq, base)
  }

  async checkpointAtOrBefore(guest: string, seq: number): Promise<Checkpoint | undefined> {
    await this.visible()
    return this.store.journal.checkpointAtOrBefore(guest, seq)
  }

  async flush(): Promise<void> {
    while (this.pump !== undefined) await this.pump
    await this.chain
    if (this.failure !== undefined) throw this.failure
  }

  async close(): Promise<void> {
    if (this.closed) return
    try {
      await this.flush()
    } finally {
      this.closed = true
      try {
        await this.producer?.disconnect()
        await this.reader.close()
      } finally {
        await this.store.close()
        this.cleanup()
      }
    }
  }

  // --- sending ---

  private recordLimit(guest: string): number {
    return this.target.maxMessageBytes - RECORD_OVERHEAD - Buffer.byteLength(guest, 'utf8')
  }

  private send(guest: string, values: readonly Buffer[], what: string, decoded?: (value: Buffer) => () => Decoded): Promise<void> {
    const partition = partitionOf(guest, this.reader.partitions)
    const key = Buffer.from(guest, 'utf8')
    const acked = new Promise<void>((resolve, reject) => {
      values.forEach((value, i) => this.queue.push({
        partition, key, value,
        ...(decoded === undefined ? {} : { decoded: decoded(value) }),
        ...(i === values.length - 1 ? { done: { resolve, reject } } : {}),
      }))
    })
    this.pump ??= this.drain()
    const committed = acked.catch((err: unknown) => {
      throw new JournalError('IO', `${showTarget(this.target)}: ${what}: ${err instanceof Error ? err.message : String(err)}`, { guest }, { cause: err })
    })
    committed.catch(() => {}) // not unhandled: this.failure carries it to the next append/flush/close
    return committed
  }

  /** Sends the queue in order, one request at a time; each request holds at most one broker message
   *  size per partition. A failed send poisons the journal: the seqs it carried are spent. */
  private async drain(): Promise<void> {
    const producer = this.producer
    try {
      while (this.queue.length > 0 && producer !== undefined && this.failure === undefined) {
        const budget = new Map<number, number>()
        let n = 0
        for (; n < this.queue.length; n++) {
          const r = this.queue[n]
          const used = (budget.get(r.partition) ?? 0) + r.value.length + r.key.length + RECORD_OVERHEAD
          if (n > 0 && used > this.target.maxMessageBytes) break
          budget.set(r.partition, used)
        }
        const batch = this.queue.splice(0, n)
        const offsets = new Array<number>(batch.length)
        try {
          const acks = await producer.send({ topic: this.target.topic, acks: -1, messages: batch.map((r) => ({ key: r.key, value: r.value, partition: r.partition })) })
          const nextOffset = new Map<number, number>()
          for (const p of budget.keys()) {
            const base = acks.find((a) => a.partition === p)?.baseOffset
            if (base === undefined) throw new JournalError('IO', `${showTarget(this.target)}: the broker acknowledged no offset for partition ${p}`)
            nextOffset.set(p, Number(base))
          }
          batch.forEach((r, i) => {
            const o = nextOffset.get(r.partition) ?? 0
            offsets[i] = o
            nextOffset.set(r.partition, o + 1)
            this.produced[r.partition] = Math.max(this.produced[r.partition], o + 1)
          })
        } catch (err) {
          this.fail(kafkaError(this.target, 'send failed; the journal stops taking appends', err), batch)
          return
        }
        const settled = this.mirrorOwnWrites ? this.serial(() => this.mirror(batch, offsets)) : Promise.resolve()
        settled.then(
          () => { for (const r of batch) r.done?.resolve() },
          (err: unknown) => this.fail(kafkaError(this.target, 'applying own records to the state store failed; the journal stops taking appends', err), batch),
        )
      }
    } finally {
      this.pump = undefined
    }
  }

  /** Poisons the journal: the seqs in flight are spent and nobody can tell which reached the broker. */
  private fail(error: JournalError, batch: readonly Outgoing[]): void {
    this.failure ??= error
    for (const r of [...batch, ...this.queue.splice(0)]) r.done?.reject(this.failure)
  }

  /** Own records, acked at `offsets`, into the store; other writers' records before them first. */
  private async mirror(batch: readonly Outgoing[], offsets: readonly number[]): Promise<void> {
    const byPartition = new Map<number, FetchedRecord[]>()
    batch.forEach((r, i) => {
      const list = byPartition.get(r.partition) ?? []
      list.push(r.decoded === undefined ? { offset: offsets[i], key: r.key, value: r.value } : { offset: offsets[i], key: r.key, value: r.value, decoded: r.decoded() })
      byPartition.set(r.partition, list)
    })
    for (const [p, records] of byPartition) {
      await this.fetchUpTo(new Map([[p, records[0].offset]]))
      await this.store.apply(p, records)
    }
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f)
    this.chain = run.then(() => {}, () => {}) // the caller gets the error; the chain goes on
    return run
  }

  // --- reading ---

  /** Own appends sent and fetched into the store. */
  private async visible(): Promise<void> {
    this.checkOpen()
    await this.flush()
    await this.sync()
  }

  /** Fetches until the store has every partition up to what was there at open and what this journal
   *  sent. */
  private sync(): Promise<void> {
    return this.serial(() => this.fetchUpTo(new Map(this.opened.map((o, p) => [p, Math.max(o, this.produced[p])]))))
  }

  /** Fetches into the store until each partition's next offset reaches its goal. The next fetch is
   *  on the wire while the store applies the last one. */
  private async fetchUpTo(goal: ReadonlyMap<number, number>): Promise<void> {
    const position = new Map<number, number>()
    for (const p of goal.keys()) position.set(p, this.store.next(p))
    const request = (): Promise<PartitionBatch[]> | undefined => {
      const from = new Map<number, number>()
      for (const [p, g] of goal) {
        const at = position.get(p) ?? 0
        if (at < g) from.set(p, at)
      }
      return from.size === 0 ? undefined : this.reader.fetch(from, FETCH_WAIT_MS, this.fetchBytes())
    }
    let pending = request()
    while (pending !== undefined) {
      const batches = await pending
      for (const batch of batches) {
        const g = goal.get(batch.partition) ?? 0
        if (batch.records.length === 0 && batch.end <= (position.get(batch.partition) ?? 0) && batch.highWatermark < g) {
          throw new JournalError('IO', `${showTarget(this.target)}: partition ${batch.partition} ends at offset ${batch.highWatermark}, before ${g} (records deleted or the topic recreated?)`)
        }
        position.set(batch.partition, Math.max(position.get(batch.partition) ?? 0, batch.end))
      }
      pending = request()
      try {
        for (const batch of batches) await this.store.apply(batch.partition, batch.records, batch.end)
      } catch (err) {
        pending?.catch(() => {}) // the apply error is the one to report
        throw err
      }
    }
  }

  /** Bytes per partition per fetch: several records' worth, so catching up takes few round trips. */
  private fetchBytes(): number {
    return Math.max(4 * 2 ** 20, this.target.maxMessageBytes)
  }

  private checkOpen(): void {
    if (this.closed) throw new JournalError('USAGE', `journal ${showTarget(this.target)} is closed`)
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.producer === undefined) throw new JournalError('USAGE', `journal ${showTarget(this.target)} is open read-only`)
    if (this.failure !== undefined) throw this.failure
  }
}

export const openKafkaJournal = (target: KafkaTarget, opts?: KafkaJournalOptions): Promise<KafkaJournal> => KafkaJournal.open(target, opts)
