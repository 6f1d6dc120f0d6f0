// The embedded journal's operations on an open LMDB environment (opened by lmdb.ts): appends,
// reads, checkpoints, retention and storage checks. Design and write ordering: lmdb.ts.
import type { RootDatabase, Transaction } from 'lmdb'
import { hasPayload, type Draft, type Event } from '../events/index.js'
import type { AppendResult, Checkpoint, CompactedFileValue, CompactedReadOptions, CompactedValue, Forget, GuestInfo, Journal } from './journal.js'
import { JournalError } from './errors.js'
import { CRC_BYTES, seal, unseal } from './checksum.js'
import { BufferPool, POOLED_FROM, type Lease } from './bufferPool.js'
import { Commits, freeSpace } from './commits.js'
import { eventValue } from './record.js'
import { emptyGuest, encodeGuest, type GuestRecord } from './guestRecord.js'
import {
  compactedFromValue, compactedValue, eventFromValue, formatFromValue, guestFromValue, GUEST_SEQ, missing, payloadFromValue, refFromValue, refValue,
  segmentFromValue, segmentValue, tsFromValue, type StoredRef,
} from './values.js'
import { checkDraft, checkGuest, checkRange, checkSeq } from './checks.js'
import { checksum } from './checksum.js'
import { BlobLog, segmentName, type SegmentState } from './blobs.js'
import { Ordered } from './ordered.js'
import type { CompactedKey, Dbs, SeqKey } from './lmdbDbs.js'
import { CheckedCompacted } from './compactedChecks.js'
import type { LmdbJournalOptions } from './lmdb.js'

export const BLOB_FROM = 64 * 1024

const READ_BATCH = 1024
/** Payload buffers kept for reuse: a few batches of large writes in flight. */
const POOL_LIMIT = 64 * 1024 * 1024

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export class LmdbJournal implements Journal {
  /** The writer's view: includes appends not yet committed. */
  private readonly states = new Map<string, GuestRecord>()
  private readonly buffers = new BufferPool(POOL_LIMIT)
  private readonly commits: Commits
  private readonly ordered: Ordered
  private readonly blobLog: BlobLog
  /** The writer's view of the segments, uncommitted appends included. */
  private readonly segmentStates = new Map<number, SegmentState>()
  /** Settles after the last write submitted so far. */
  private lastWrite: Promise<void> = Promise.resolve()
  private readonly blobFrom: number
  private closed = false
  private readonly readBatch: number
  private readonly onCorruption: (error: JournalError) => void
  private readonly checkedCompacted: CheckedCompacted

  constructor(
    private readonly path: string,
    private readonly opts: LmdbJournalOptions,
    private readonly root: RootDatabase,
    private readonly release: () => void,
    private readonly dbs: Dbs,
  ) {
    this.commits = new Commits(path, opts.noSync === true)
    this.ordered = new Ordered(() => this.commits.failure, (err) => {
      this.commits.failure ??= err instanceof JournalError ? err : new JournalError('IO', `journal ${path}: ${message(err)}`, {}, { cause: err })
    })
    this.blobLog = new BlobLog(path, { readOnly: opts.readOnly === true, noSync: opts.noSync === true, segmentBytes: opts.segmentBytes })
    this.blobFrom = opts.blobFrom ?? BLOB_FROM
    this.readBatch = opts.readBatch ?? READ_BATCH
    this.checkedCompacted = new CheckedCompacted(opts.compactedChecks)
    this.onCorruption = opts.onCorruption ?? ((e) => process.emitWarning(e.message, { code: 'EYRIE_JOURNAL_CORRUPT' }))
  }

  /** Counters come from the guest records; the last event key must agree, or seqs would be reused. */
  loadCounters(): void {
    this.withSnapshot((transaction) => {
      for (const { key: guest, value } of this.dbs.guests.getRange({ transaction })) {
        const record = guestFromValue(guest, value)
        const lastKeys = [...this.dbs.events.getKeys({ start: [guest, Number.MAX_SAFE_INTEGER], end: [guest], reverse: true, limit: 1, transaction })]
        const lastSeq = lastKeys.length === 0 ? 0 : lastKeys[0][1]
        if (lastSeq !== record.last) {
          throw new JournalError('CORRUPT', `journal guest record guest=${guest}: says last seq ${record.last} but events end at ${lastSeq}`, { guest })
        }
        this.states.set(guest, record)
      }
      for (const { key, value } of this.dbs.segments.getRange({ transaction })) this.segmentStates.set(key, segmentFromValue(key, value))
    })
    this.blobLog.openForWriting(this.segmentStates)
  }

  append(guest: string, drafts: readonly Draft[]): AppendResult {
    this.checkWritable()
    checkGuest(guest)
    const state = this.states.get(guest) ?? emptyGuest()
    const first = state.last + 1
    const last = state.last + drafts.length
    if (drafts.length === 0) return { first, last, committed: Promise.resolve() }
    // Check and encode everything before the first put: a bad draft throws with no seq spent and
    // nothing queued, so a batch is never partly written.
    const values = new Array<Uint8Array>(drafts.length)
    const data = new Array<Buffer | undefined>(drafts.length)
    const leases: Lease[] = []
    const large: Array<[number, Uint8Array]> = []
    let largeBytes = 0
    let payloadBytes = 0
    for (let i = 0; i < drafts.length; i++) {
      const d = drafts[i]
      checkDraft(guest, i, d)
      values[i] = eventValue(guest, first + i, d.ts, d.pid, d.tid, d.body)
      if (d.data !== undefined && d.data.length > 0) {
        payloadBytes += d.data.length
        if (d.data.length >= this.blobFrom) {
          large.push([i, d.data])
          largeBytes += d.data.length
          continue
        }
        const size = CRC_BYTES + d.data.length
        const lease = size >= POOLED_FROM ? this.buffers.take(size) : undefined
        if (lease !== undefined) leases.push(lease)
        data[i] = seal(guest, first + i, d.data, lease?.view)
      }
    }
    // Large payloads: one place in the current segment for the whole batch, one pwritev, the bytes
    // themselves (no copy); the caller keeps them unchanged until `committed`.
    const refs: Array<[number, Buffer]> = []
    let ready: Promise<void> | undefined
    let segment: [number, SegmentState] | undefined
    if (large.length > 0) {
      const place = this.blobLog.reserve(largeBytes)
      const buffers: Uint8Array[] = []
      let offset = place.offset
      for (const [i, bytes] of large) {
        const ref: StoredRef = { segment: place.segment, offset, length: bytes.length, crc: checksum(guest, first + i, bytes) }
        refs.push([first + i, refValue(guest, first + i, ref)])
        buffers.push(bytes)
        offset += bytes.length
      }
      const before = this.segmentStates.get(place.segment) ?? { end: 0, live: 0 }
      const after = { end: offset, live: before.live + largeBytes }
      this.segmentStates.set(place.segment, after)
      segment = [place.segment, after]
      ready = this.blobLog.write(place.segment, place.offset, buffers).then(() => this.blobLog.sync()).catch((err: unknown) => {
        throw new JournalError('IO', `journal ${this.path}: append guest=${guest} seq=${first}..${last}: ${message(err)}${freeSpace(this.path)}`, { guest, seq: first }, { cause: err })
      })
    }
    const next: GuestRecord = {
      last,
      firstTs: state.firstTs ?? drafts[0].ts,
      lastTs: drafts[drafts.length - 1].ts,
      payloadBytes: state.payloadBytes + payloadBytes,
      meta: state.meta,
    }
    this.states.set(guest, next)
    const { events, payloads, blobs, segments, guests } = this.dbs
    let seen = () => {}
    const visible = new Promise<void>((res) => (seen = res))
    const committed = this.submit(ready, () => {
      for (let i = 0; i < drafts.length; i++) {
        events.put([guest, first + i], values[i])
        const bytes = data[i]
        if (bytes !== undefined) payloads.put([guest, first + i], bytes)
      }
      for (const [seq, ref] of refs) blobs.put([guest, seq], ref)
      if (segment !== undefined) segments.put(segment[0], segmentValue(segment[0], segment[1]))
      // The guest record is the batch's last put: its commit is the batch's commit.
      const put = guests.put(guest, seal(guest, GUEST_SEQ, encodeGuest(next)))
      put.then(seen, seen) // lmdb-js: committed, not yet synced (overlappingSync)
      return this.commits.track(put, `append guest=${guest} seq=${first}..${last}`, { guest, seq: first })
    })
    committed.then(seen, seen) // never run (an earlier write failed), or failed
    if (leases.length > 0) void committed.finally(() => this.buffers.give(leases)).catch(() => {}) // commits.failure keeps it
    return { first, last, committed, visible }
  }

  async *read(guest: string, from: number, to: number): AsyncIterable<readonly Event[]> {
    this.checkOpen()
    checkGuest(guest)
    checkRange(from, to)
    const start = Math.max(1, from)
    if (to < start) return
    this.root.resetReadTxn() // see other processes' commits, not the snapshot of this event turn
    const transaction = this.root.useReadTransaction()
    try {
      const last = this.committedGuest(guest, transaction)?.last ?? 0
      const end = Math.min(to, last)
      if (end < start) return
      let expected = start
      let batch: Event[] = []
      for (const { key, value } of this.dbs.events.getRange({ start: [guest, start], end: [guest, end], inclusiveEnd: true, transaction })) {
        const seq = key[1]
        if (seq !== expected) throw missing('record', guest, expected)
        batch.push(eventFromValue(guest, seq, value))
        expected++
        if (batch.length >= this.readBatch) {
          yield batch
          batch = []
        }
      }
      if (expected <= end) throw missing('record', guest, expected)
      if (batch.length > 0) yield batch
    } finally {
      transaction.done()
    }
  }

  async payloads(guest: string, seqs: readonly number[]): Promise<Uint8Array[]> {
    this.checkOpen()
    checkGuest(guest)
    seqs.forEach(checkSeq)
    return this.withSnapshot((transaction) => seqs.map((seq) => this.payloadIn(transaction, guest, seq)))
  }

  async payload(guest: string, seq: number): Promise<Uint8Array> {
    this.checkOpen()
    checkGuest(guest)
    checkSeq(seq)
    return this.withSnapshot((transaction) => this.payloadIn(transaction, guest, seq))
  }

  private payloadIn(transaction: Transaction, guest: string, seq: number): Uint8Array {
    const value = this.dbs.payloads.get([guest, seq], { transaction })
    if (value !== undefined) return payloadFromValue(guest, seq, value)
    const ref = this.dbs.blobs.get([guest, seq], { transaction })
    if (ref !== undefined) return this.blobBytes(guest, seq, refFromValue(guest, seq, ref))
    const eventValue = this.dbs.events.get([guest, seq], { transaction })
    if (eventValue === undefined) throw new JournalError('NOT_FOUND', `journal has no event guest=${guest} seq=${seq}`, { guest, seq })
    const event = eventFromValue(guest, seq, eventValue)
    if (!hasPayload(event)) throw new JournalError('NOT_FOUND', `journal event guest=${guest} seq=${seq} is ${event.kind}, which carries no payload`, { guest, seq })
    if (event.known === 0) return new Uint8Array(0)
    throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${seq}: missing (the event says ${event.known} bytes are known)`, { guest, seq })
  }

  private blobBytes(guest: string, seq: number, ref: StoredRef): Uint8Array {
    let bytes: Buffer
    try {
      bytes = this.blobLog.read(ref)
    } catch (err) {
      throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${seq}: ${message(err)}`, { guest, seq }, { cause: err })
    }
    if (bytes.length < ref.length) {
      throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${seq}: missing (segment ${segmentName(ref.segment)} ends ${ref.length - bytes.length} bytes short of it)`, { guest, seq })
    }
    if (checksum(guest, seq, bytes) !== ref.crc) throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${seq}: checksum mismatch`, { guest, seq })
    return bytes
  }

  /** Binary search on the records' headers. It assumes ts is non-decreasing along seq (true of one
   *  clock read in call order); where ts goes backwards the answer is a seq whose ts <= the given ts
   *  and whose successor's is later, not necessarily the highest such seq. */
  async seqAt(guest: string, ts: bigint): Promise<number> {
    this.checkOpen()
    checkGuest(guest)
    return this.withSnapshot((transaction) => {
      let lo = 0 // ts(lo) <= ts, seq 0 standing for "before everything"
      let hi = this.committedGuest(guest, transaction)?.last ?? 0 // every seq > hi has ts(seq) > ts
      while (lo < hi) {
        const mid = lo + Math.ceil((hi - lo) / 2)
        const value = this.dbs.events.get([guest, mid], { transaction })
        if (value === undefined) throw missing('record', guest, mid)
        if (tsFromValue(guest, mid, value) <= ts) lo = mid
        else hi = mid - 1
      }
      return lo
    })
  }

  async lastSeq(guest: string): Promise<number> {
    this.checkOpen()
    checkGuest(guest)
    return this.withSnapshot((transaction) => this.committedGuest(guest, transaction)?.last ?? 0)
  }

  async guests(): Promise<readonly GuestInfo[]> {
    this.checkOpen()
    return this.withSnapshot((transaction) => {
      const out: GuestInfo[] = []
      for (const { key: guest, value } of this.dbs.guests.getRange({ transaction })) {
        const g = guestFromValue(guest, value)
        out.push({ guest, events: g.last, firstTs: g.firstTs, lastTs: g.lastTs, payloadBytes: g.payloadBytes, meta: g.meta })
      }
      return out
    })
  }

  /** Merges: keys given replace earlier values, other keys stay. */
  setMeta(guest: string, meta: Readonly<Record<string, string>>): Promise<void> {
    return this.queued(() => {
      this.checkWritable()
      checkGuest(guest)
      const state = this.states.get(guest) ?? emptyGuest()
      const next: GuestRecord = { ...state, meta: { ...state.meta, ...meta } }
      this.states.set(guest, next)
      return this.submit(undefined, () => {
        const put = this.dbs.guests.put(guest, seal(guest, GUEST_SEQ, encodeGuest(next)))
        return this.commits.track(put, `setMeta guest=${guest}`, { guest })
      })
    })
  }

  putCheckpoint(guest: string, seq: number, state: Uint8Array, compacted: readonly CompactedFileValue[] = []): Promise<void> {
    return this.queued(() => {
      this.checkWritable()
      checkGuest(guest)
      checkSeq(seq)
      const last = this.states.get(guest)?.last ?? 0
      if (seq > last) throw new JournalError('USAGE', `checkpoint guest=${guest} seq=${seq}: beyond the last appended seq ${last}`, { guest, seq })
      const value = seal(guest, seq, state)
      const values = this.compactedPuts(guest, seq, compacted)
      return this.submit(undefined, () => {
        for (const [key, bytes, sources] of values) {
          this.dbs.compacted.put(key, bytes)
          this.dbs.sources.put(key, sources)
        }
        const put = this.dbs.checkpoints.put([guest, seq], value)
        return this.commits.track(put, `checkpoint guest=${guest} seq=${seq}`, { guest, seq })
      })
    })
  }

  async compacted<T>(guest: string, seq: number, at: number, use: (value: CompactedValue) => T, opts: CompactedReadOptions = {}): Promise<T | undefined> {
    this.checkOpen()
    checkGuest(guest)
    checkSeq(seq)
    return this.withSnapshot((transaction) => {
      for (const key of this.dbs.compacted.getKeys({ start: [guest, seq, at], end: [guest, seq], reverse: true, limit: 1, transaction })) {
        // the value in LMDB's own memory (no copy of what may be megabytes), valid in this transaction
        const value: unknown = Reflect.apply(this.dbs.compacted.getBinaryFast, this.dbs.compacted, [key, { transaction }]) // options: left out of lmdb-js's typings
        if (!(value instanceof Uint8Array)) return undefined
        // lmdb-js may hand out its reusable buffer with `length` set to the value's size: the view
        // must end there too, or native code (the checksum) would read the whole buffer
        const exact = new Uint8Array(value.buffer, value.byteOffset, value.length)
        return use({ base: key[2], bytes: this.checkedCompacted.bytes(guest, seq, key[2], exact, opts.recheck === true) })
      }
      return undefined
    })
  }

  async compactedSources(guest: string, seq: number, base: number): Promise<Uint8Array | undefined> {
    this.checkOpen()
    checkGuest(guest)
    checkSeq(seq)
    return this.withSnapshot((transaction) => {
      const value = this.dbs.sources.get([guest, seq, base], { transaction })
      return value === undefined ? undefined : compactedFromValue(guest, seq, base, value, 'compacted sources')
    })
  }

  private compactedPuts(guest: string, seq: number, compacted: readonly CompactedFileValue[]): Array<readonly [CompactedKey, Buffer, Buffer]> {
    if (compacted.length > 0) this.checkedCompacted.clear()
    return compacted.map((c) => {
      if (!Number.isSafeInteger(c.base) || c.base < 0) throw new JournalError('USAGE', `checkpoint guest=${guest} seq=${seq}: compacted base ${c.base} is not a non-negative integer`, { guest, seq })
      return [[guest, seq, c.base], compactedValue(guest, seq, c.base, c.bytes), compactedValue(guest, seq, c.base, c.sources)] as const
    })
  }

  private removeCompacted(key: CompactedKey): void {
    this.dbs.compacted.remove(key)
    this.dbs.sources.remove(key)
  }

  async checkpointAtOrBefore(guest: string, seq: number): Promise<Checkpoint | undefined> {
    this.checkOpen()
    checkGuest(guest)
    checkSeq(seq)
    return this.withSnapshot((transaction) => {
      for (const { key, value } of this.dbs.checkpoints.getRange({ start: [guest, seq], end: [guest], reverse: true, transaction })) {
        const state = unseal(guest, key[1], value)
        if (state !== undefined) return { seq: key[1], state }
        this.onCorruption(new JournalError('CORRUPT', `journal checkpoint guest=${guest} seq=${key[1]}: checksum mismatch (skipped, trying an older one)`, { guest, seq: key[1] }))
      }
      return undefined
    })
  }

  forget(guest: string, what: Forget): Promise<{ events: number; bytes: number }> {
    return this.queued(() => {
      this.checkWritable()
      checkGuest(guest)
      const state = this.states.get(guest) ?? emptyGuest()
      const { events, payloads, blobs, checkpoints, segments, guests } = this.dbs
      // Read and check everything before the first write: a bad seq throws with nothing queued.
      const rewrites = this.withSnapshot((transaction) => what.payloads.map((seq) => {
        checkSeq(seq)
        const value = events.get([guest, seq], { transaction })
        if (value === undefined) throw new JournalError('USAGE', `forget guest=${guest} seq=${seq}: no committed event`, { guest, seq })
        const { guest: _g, seq: _s, ts, pid, tid, ...body } = eventFromValue(guest, seq, value)
        if (!hasPayload(body)) throw new JournalError('USAGE', `forget guest=${guest} seq=${seq}: ${body.kind} carries no payload`, { guest, seq })
        const refBytes = body.known === 0 ? undefined : blobs.get([guest, seq], { transaction })
        const ref = refBytes === undefined ? undefined : refFromValue(guest, seq, refBytes)
        return { seq, known: body.known, ref, value: body.known === 0 ? undefined : eventValue(guest, seq, ts, pid, tid, { ...body, known: 0 }) }
      }))
      for (const cp of what.checkpoints) {
        checkSeq(cp.seq)
        if (cp.seq > state.last) throw new JournalError('USAGE', `forget guest=${guest}: checkpoint seq=${cp.seq} beyond the last appended seq ${state.last}`, { guest, seq: cp.seq })
      }
      const dropped = (what.compacted ?? []).map((c): CompactedKey => {
        checkSeq(c.seq)
        return [guest, c.seq, c.base]
      })
      const added = what.checkpoints.flatMap((cp) => this.compactedPuts(guest, cp.seq, cp.compacted ?? []))
      let freed = 0
      let bytes = 0
      const touched = new Set<number>()
      for (const r of rewrites) {
        if (r.value === undefined || r.ref === undefined) continue
        const s = this.segmentStates.get(r.ref.segment)
        if (s !== undefined) this.segmentStates.set(r.ref.segment, { ...s, live: Math.max(0, s.live - r.ref.length) })
        touched.add(r.ref.segment)
      }
      // A segment nothing refers to goes, unless appends still land in it.
      const dead = [...this.segmentStates].filter(([n, s]) => s.live === 0 && n !== this.blobLog.currentSegment).map(([n]) => n)
      for (const n of dead) this.segmentStates.delete(n)
      // values as of now: later appends change the writer's view before this runs
      const segmentPuts = [...touched].filter((n) => !dead.includes(n)).map((n) => [n, segmentValue(n, this.segmentStates.get(n) ?? { end: 0, live: 0 })] as const)
      const next: GuestRecord = { ...state, payloadBytes: Math.max(0, state.payloadBytes - rewrites.reduce((n, r) => n + (r.value === undefined ? 0 : r.known), 0)) }
      this.states.set(guest, next)
      return this.submit(undefined, () => {
        for (const r of rewrites) {
          if (r.value === undefined) continue
          events.put([guest, r.seq], r.value)
          if (r.ref === undefined) payloads.remove([guest, r.seq])
          else blobs.remove([guest, r.seq])
          freed++
          bytes += r.known
        }
        for (const [n, value] of segmentPuts) segments.put(n, value)
        for (const n of dead) segments.remove(n)
        for (const cp of what.checkpoints) checkpoints.put([guest, cp.seq], seal(guest, cp.seq, cp.state))
        for (const key of dropped) this.removeCompacted(key)
        for (const [key, bytes, sources] of added) {
          this.dbs.compacted.put(key, bytes)
          this.dbs.sources.put(key, sources)
        }
        const put = guests.put(guest, seal(guest, GUEST_SEQ, encodeGuest(next)))
        return this.commits.track(put, `forget guest=${guest}`, { guest })
      }).then(() => {
        // the transaction that forgot them is durable: their files can go
        this.blobLog.remove(dead)
        return { events: freed, bytes }
      })
    })
  }

  async checkStorage(): Promise<readonly JournalError[]> {
    this.checkOpen()
    const problems: JournalError[] = []
    const note = (err: unknown): void => {
      problems.push(err instanceof JournalError ? err : new JournalError('IO', `journal ${this.path}: ${message(err)}`, {}, { cause: err }))
    }
    const segments = this.withSnapshot((transaction) => {
      try {
        const format = this.dbs.meta.get('format', { transaction })
        if (format !== undefined) formatFromValue(format)
      } catch (err) {
        note(err)
      }
      const out: Array<[number, SegmentState]> = []
      for (const { key, value } of this.dbs.segments.getRange({ transaction })) {
        try {
          out.push([key, segmentFromValue(key, value)])
        } catch (err) {
          note(err)
        }
      }
      return out
    })
    // each segment: its header, and as long as its record says (the payloads' own crcs are read by
    // whoever reads them; verify reads them all)
    for (const [n, state] of segments) {
      try {
        const size = this.blobLog.size(n)
        if (size < state.end) note(new JournalError('CORRUPT', `journal segment ${segmentName(n)}: ${size} bytes, its record says ${state.end} are committed`))
      } catch (err) {
        note(err)
      }
    }
    return problems
  }

  async flush(): Promise<void> {
    await this.lastWrite.catch(() => {})
    return this.commits.flush()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.flush()
    } finally {
      // After a failed commit (a full disk) lmdb-js's close waits for a flush that never comes
      // (lmdb 3.5.6): the environment is left to the process's exit; the writer lock goes now.
      this.blobLog.close()
      if (this.commits.failure === undefined) await this.root.close()
      else this.root.close().catch(() => {})
      this.release()
    }
  }

  // --- helpers ---

  /** Every write goes through here, so that writes reach LMDB in call order (ordered.ts). */
  private submit(ready: Promise<void> | undefined, run: () => Promise<void>): Promise<void> {
    const done = this.ordered.submit(ready, run)
    this.lastWrite = done
    done.catch(() => {}) // commits.failure carries it to the next append/flush/close
    return done
  }

  /** Runs a write synchronously, so it is queued in call order like append, and turns a refusal into
   *  a rejected promise, as a promise-returning method should. */
  private queued<T>(write: () => Promise<T>): Promise<T> {
    try {
      return write()
    } catch (err) {
      return Promise.reject(err)
    }
  }

  private withSnapshot<T>(f: (transaction: Transaction) => T): T {
    this.root.resetReadTxn()
    const transaction = this.root.useReadTransaction()
    try {
      return f(transaction)
    } finally {
      transaction.done()
    }
  }

  private committedGuest(guest: string, transaction: Transaction): GuestRecord | undefined {
    const value = this.dbs.guests.get(guest, { transaction })
    return value === undefined ? undefined : guestFromValue(guest, value)
  }

  private checkOpen(): void {
    if (this.closed) throw new JournalError('USAGE', `journal ${this.path} is closed`)
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.opts.readOnly === true) throw new JournalError('USAGE', `journal ${this.path} is open read-only`)
    if (this.commits.failure !== undefined) throw this.commits.failure
  }
}
