// replay(): a user's own pure fold `evolve(state, event)` over a journal, or over any (async) iterable of
// events, up to a time T, with checkpoints of its own. The user's checkpoints never go into the
// journal's checkpoint store (which holds eyrie's world): they go to a CheckpointStore under a key
// the user names, so two projections, or two versions of one, never read each other's state.
import * as E from 'fp-ts/lib/Either.js'
import { Packr } from 'msgpackr'
import type { Event } from '../events/index.js'
import { packLettingGo } from '../projections/checkpoint.js'
import type { Journal } from '../journal/journal.js'
import { parseTimeRef, resolveTimeRef, type TimeRef } from '../engine/timeref.js'

/** Bytes <-> state for checkpoints. */
export interface Codec<S> {
  encode(state: S): Uint8Array
  decode(bytes: Uint8Array): S
}

/** msgpack with structured clone: Maps, Sets, Dates, bigints, shared references and cycles survive. */
export const msgpackCodec = <S>(): Codec<S> => {
  const packr = new Packr({ structuredClone: true, mapsAsObjects: false, useRecords: true })
  return {
    encode: (state) => packLettingGo(packr, state),
    decode: (bytes) => packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
  }
}

export interface StoredCheckpoint { readonly seq: number; readonly bytes: Uint8Array }

/** Where replay keeps a projection's checkpoints: by key (projection name + guest), then seq. */
export interface CheckpointStore {
  /** The newest checkpoint for key with seq <= seq. */
  atOrBefore(key: string, seq: number): Promise<StoredCheckpoint | undefined>
  put(key: string, seq: number, bytes: Uint8Array): Promise<void>
}

/** Checkpoints in memory: for tests, and for repeated replays in one process. */
export const memoryCheckpoints = (): CheckpointStore & { readonly size: number } => {
  const byKey = new Map<string, StoredCheckpoint[]>()
  return {
    get size() {
      let n = 0
      for (const list of byKey.values()) n += list.length
      return n
    },
    async atOrBefore(key, seq) {
      let best: StoredCheckpoint | undefined
      for (const cp of byKey.get(key) ?? []) if (cp.seq <= seq && (best === undefined || cp.seq > best.seq)) best = cp
      return best
    },
    async put(key, seq, bytes) {
      const list = byKey.get(key) ?? []
      byKey.set(key, [...list.filter((cp) => cp.seq !== seq), { seq, bytes: Uint8Array.from(bytes) }])
    },
  }
}

export type EventSource = Journal | Iterable<Event> | AsyncIterable<Event>

export interface ReplayOptions<S> {
  /** a journal (then `guest` names the guest), or events in seq order (an array, a generator, ...) */
  readonly journal: EventSource
  readonly guest?: string
  /** T: a seq number, or `end` | `#SEQ` | ISO-8601 | ns since the epoch | `+DURATION` (default end) */
  readonly upTo?: number | string
  readonly init: () => S
  /** Pure: the state after `event`. May return a new state or the one it was given, changed. */
  readonly evolve: (state: S, event: Event) => S
  readonly checkpoint?: {
    /** names the projection (and its version): checkpoints of another name are never used */
    readonly name: string
    /** events between checkpoints */
    readonly every: number
    readonly store: CheckpointStore
    /** default msgpackCodec() */
    readonly codec?: Codec<S>
  }
}

export interface Replayed<S> {
  readonly state: S
  /** the seq of the last event folded in (or of the checkpoint, if no event followed it); 0: none */
  readonly seq: number
  /** events folded by this call (after the checkpoint it started from) */
  readonly events: number
  /** the seq of the checkpoint the fold started from; 0: from init() */
  readonly from: number
}

/** The user's evolve threw: where, and why. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError'
  constructor(message: string, readonly where: { readonly guest: string; readonly seq: number }, options?: { cause?: unknown }) {
    super(message, options)
  }
}

const isJournal = (s: EventSource): s is Journal =>
  'read' in s && typeof s.read === 'function' && 'lastSeq' in s && typeof s.lastSeq === 'function'

const isAsync = (s: Iterable<Event> | AsyncIterable<Event>): s is AsyncIterable<Event> => Symbol.asyncIterator in s

async function* eventsOf(s: Iterable<Event> | AsyncIterable<Event>): AsyncGenerator<Event> {
  if (isAsync(s)) yield* s
  else yield* s
}

const timeRefOf = (upTo: number | string | undefined): TimeRef => {
  if (upTo === undefined) return { kind: 'end' }
  if (typeof upTo === 'number') {
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new RangeError(`upTo ${upTo}: a seq is a non-negative integer`)
    return { kind: 'seq', seq: upTo }
  }
  const ref = parseTimeRef(upTo)
  if (E.isLeft(ref)) throw new RangeError(ref.left)
  return ref.right
}

export const replay = async <S>(opts: ReplayOptions<S>): Promise<Replayed<S>> => {
  const ref = timeRefOf(opts.upTo)
  if (isJournal(opts.journal)) {
    const guest = opts.guest
    if (guest === undefined) throw new RangeError('replay over a journal needs a guest')
    const j = opts.journal
    const upTo = await resolveTimeRef(j, guest, ref)
    return fold(opts, guest, upTo, async function* (from) {
      for await (const batch of j.read(guest, from, upTo)) yield* batch
    })
  }
  const source = opts.journal
  // Without a journal the seq for a time is not known up front: the fold stops at the first event past T.
  const limitSeq = ref.kind === 'seq' ? ref.seq : Number.MAX_SAFE_INTEGER
  return fold(opts, opts.guest, ref.kind === 'seq' ? ref.seq : undefined, async function* (from) {
    let first: bigint | undefined
    for await (const e of eventsOf(source)) {
      first ??= e.ts
      if (opts.guest !== undefined && e.guest !== opts.guest) continue
      if (e.seq > limitSeq) return
      if (ref.kind === 'ts' && e.ts > ref.ts) return
      if (ref.kind === 'offset' && e.ts > first + ref.nanos) return
      if (e.seq >= from) yield e
    }
  })
}

/** The fold itself: start from the newest usable checkpoint, evolve, checkpoint every N events. */
const fold = async <S>(opts: ReplayOptions<S>, guest: string | undefined, upTo: number | undefined, events: (from: number) => AsyncGenerator<Event>): Promise<Replayed<S>> => {
  const cpo = opts.checkpoint
  const codec = cpo?.codec ?? msgpackCodec<S>()
  if (cpo !== undefined && (!Number.isSafeInteger(cpo.every) || cpo.every < 1)) throw new RangeError(`checkpoint.every ${cpo.every}: a positive integer`)
  const key = `${cpo?.name ?? ''}\u0000${guest ?? ''}`
  // a checkpoint is only usable when the seq T stands for is known (a journal, or a seq bound)
  const cp = cpo === undefined || upTo === undefined ? undefined : await cpo.store.atOrBefore(key, upTo)
  let state = cp === undefined ? opts.init() : codec.decode(cp.bytes)
  let seq = cp?.seq ?? 0
  let count = 0
  let lastCp = seq
  for await (const e of events(seq + 1)) {
    try {
      state = opts.evolve(state, e)
    } catch (err) {
      throw new ReplayError(`evolve threw at guest=${e.guest} seq=${e.seq} (${e.kind}): ${err instanceof Error ? err.message : String(err)}`, { guest: e.guest, seq: e.seq }, { cause: err })
    }
    seq = e.seq
    count++
    if (cpo !== undefined && seq - lastCp >= cpo.every) {
      await cpo.store.put(key, seq, codec.encode(state))
      lastCp = seq
    }
  }
  return { state, seq, events: count, from: cp?.seq ?? 0 }
}
