// The journal: one interface, several back ends (LMDB embedded default; Kafka later).
// seq is dense per guest and starts at 1; "state at #0" is the state before any event.
import type { Draft, Event } from '../events/index.js'
import type { JournalError } from './errors.js'

export interface GuestInfo {
  readonly guest: string
  readonly events: number // == last seq
  readonly firstTs: bigint | null
  readonly lastTs: bigint | null
  readonly payloadBytes: number
  readonly meta: Readonly<Record<string, string>>
}

export interface AppendResult {
  readonly first: number
  readonly last: number
  /** Resolves once the batch is committed (visible to readers, durable per the back end's sync policy). */
  readonly committed: Promise<void>
  /** Settles (never rejects) once readers see the batch, which may be before it is durable (LMDB
   *  commits, then syncs), or once its commit failed; absent: when `committed` settles. */
  readonly visible?: Promise<void>
}

export interface Checkpoint {
  readonly seq: number
  readonly state: Uint8Array
}

/** Bytes stored beside a checkpoint (a compacted file's content, src/projections/compact.ts): opaque
 *  to the journal, kept under (guest, checkpoint seq, base). Later checkpoints may read them too: they
 *  go when retention says no checkpoint does (Forget.compacted). */
export interface CompactedValue {
  readonly base: number
  readonly bytes: Uint8Array
}

/** How `Journal.compacted` reads. */
export interface CompactedReadOptions {
  /** Check the value's checksum even if this journal instance checked it before (a back end may
   *  check a large value once per instance: src/journal/compactedChecks.ts). `verify` sets it. */
  readonly recheck?: boolean
}

/** Where a compacted value is: the checkpoint that wrote it, and its base. */
export interface CompactedRef {
  readonly seq: number
  readonly base: number
}

/** What a checkpoint stores for one compacted file: its bytes, and the extents they were made of
 *  (read only to expand the world, so kept apart from the bytes). */
export interface CompactedFileValue extends CompactedValue {
  readonly sources: Uint8Array
}

/** What live-mode retention asks a journal to forget (see `Journal.forget`). */
export interface Forget {
  /** Payload events whose bytes go: each record is rewritten with `known: 0`, so it reads as a write of
   *  `len` unknown bytes, and its payload is deleted. Events already at `known: 0` are left alone. */
  readonly payloads: readonly number[]
  /** Checkpoints written or replaced in the same transaction (states that no longer refer to those
   *  payloads), with the compacted values a new one writes. */
  readonly checkpoints: ReadonlyArray<Checkpoint & { readonly compacted?: readonly CompactedFileValue[] }>
  /** Compacted values (and their sources) that go: no checkpoint reads them any more. */
  readonly compacted?: readonly CompactedRef[]
}

export interface Journal {
  /** Assigns seqs synchronously (in call order) and commits asynchronously in batches. The drafts'
   *  data must stay unchanged until `committed` settles (large payloads are written from it). */
  append(guest: string, drafts: readonly Draft[]): AppendResult
  /** Events with from <= seq <= to, in order, in batches. Every record is checksum-verified and decoded. */
  read(guest: string, from: number, to: number): AsyncIterable<readonly Event[]>
  /** The known bytes of a payload event; verified. */
  payload(guest: string, seq: number): Promise<Uint8Array>
  /** Several payloads from one consistent read (content materialisation reads thousands at once).
   *  Optional: back ends without it are read payload by payload. */
  payloads?(guest: string, seqs: readonly number[]): Promise<Uint8Array[]>
  /** Highest seq whose ts <= ts (0 when none). */
  seqAt(guest: string, ts: bigint): Promise<number>
  /** The last committed seq (0 when none); appends not yet committed are not counted. */
  lastSeq(guest: string): Promise<number>
  /** Every guest with its committed counts. */
  guests(): Promise<readonly GuestInfo[]>
  /** Merges keys into the guest's meta: a key given replaces its earlier value, others stay. */
  setMeta(guest: string, meta: Readonly<Record<string, string>>): Promise<void>
  /** Writes (or replaces) the checkpoint at seq with its compacted values, in one transaction (values
   *  an earlier checkpoint at that seq wrote stay: later checkpoints may read them). */
  putCheckpoint(guest: string, seq: number, state: Uint8Array, compacted?: readonly CompactedFileValue[]): Promise<void>
  /** The newest valid checkpoint with seq <= seq; a corrupt one is skipped in favour of the previous. */
  checkpointAtOrBefore(guest: string, seq: number): Promise<Checkpoint | undefined>
  /** Hands `use` the compacted value of checkpoint `seq` with the highest base <= at, verified, and
   *  returns what it returns (undefined when there is none). The bytes may be the store's own memory:
   *  they are valid only while `use` runs, which must copy what it keeps. Optional: a back end without
   *  it keeps no compacted values (its checkpoints are never compacted). */
  compacted?<T>(guest: string, seq: number, at: number, use: (value: CompactedValue) => T, opts?: CompactedReadOptions): Promise<T | undefined>
  /** The sources of the compacted value (guest, seq, base); verified; undefined when there are none. */
  compactedSources?(guest: string, seq: number, base: number): Promise<Uint8Array | undefined>
  /** Live-mode retention (`eyrie gc`): one transaction, so no reader sees a checkpoint that refers to a
   *  payload already gone. Resolves with what was freed. A back end that cannot rewrite (an append-only
   *  log) leaves it out and stays forensic: it keeps every byte. */
  forget?(guest: string, what: Forget): Promise<{ readonly events: number; readonly bytes: number }>
  /** Damage in what belongs to no guest (the LMDB back end: its format record, blob segment records and
   *  segment files); an empty list when all is well. Optional. */
  checkStorage?(): Promise<readonly JournalError[]>
  /** Waits for every append so far to commit. */
  flush(): Promise<void>
  close(): Promise<void>
}
