// `eyrie serve`: an engine instance in a consumer group. The group spreads the topic's partitions over
// the instances; each keeps, for the partitions it holds, a state store (store.ts: the events and
// payloads, checkpoints, resume offsets, parked records) and R(now) of every guest it has seen there.
//
// Offsets: an instance reads a partition from where its own store stands, not from the group's
// committed offset (which may be another instance's): a batch that starts past the store is answered
// with a seek back to it. The group's offset is committed only after the store, checkpoints included,
// is durable, so the committed offset never runs ahead of the state that answers queries.
// After a crash, an instance resumes from its store's saved offsets; worlds are rebuilt from the last
// checkpoint plus the events after it. A partition taken over from another instance is read from where
// this instance's store stands for it (from the start if it never held it).
import type { Consumer, EachBatchPayload } from 'kafkajs'
import type { Event } from '../../events/index.js'
import { applyCompaction, decodeWorld, emptyWorld, evolve, type World } from '../../projections/index.js'
import { policyFor, prepareCheckpoint, writeCheckpoint } from '../checkpoint.js'
import { JournalError } from '../errors.js'
import { kafkaClient, kafkaError, stderrLog, type KafkaLog } from './client.js'
import type { FetchedRecord } from './fetch.js'
import { writeAtomic } from './offsets.js'
import { partitionOf } from './partition.js'
import type { ParkedRecord } from './parked.js'
import { StateStore, type Applied } from './store.js'
import { showTarget, type KafkaTarget } from './url.js'

export const DEFAULT_SERVE_CHECKPOINT_EVERY = 50_000
/** In the state directory: the partitions the engine holds now (`held`), of `partitions`. */
export const ASSIGNMENT_FILE = 'assignment.json'
const MAX_RESTARTS = 5

export interface ServeOptions {
  readonly stateDir: string
  /** Default: eyrie-serve-TOPIC. Instances with the same group share the partitions. */
  readonly groupId?: string
  readonly checkpointEvery?: number
  /** How long the group waits for a silent instance before giving its partitions to others. */
  readonly sessionTimeoutMs?: number
  /** How long a fetch waits for new records. */
  readonly fetchWaitMs?: number
  readonly noSync?: boolean
  /** How long stop() waits for the consumer to leave the group (default: the session timeout, at
   *  least 10 s). kafkajs's disconnect can wait forever for its fetch loop (tulios/kafkajs#571,
   *  #1639; seen here against librdkafka's mock): past this the engine stops without leaving, and the
   *  group gives its partitions to others once the session times out. */
  readonly leaveMs?: number
  readonly log?: KafkaLog
  readonly onParked?: (record: ParkedRecord) => void
  /** After events are durable in the store and folded into R(now). */
  readonly onApplied?: (guest: string, events: readonly Event[]) => void
  /** After each group join, with the partitions this instance now holds and, for those it did not
   *  hold before, the offset it reads them from (its own store's). */
  readonly onAssigned?: (partitions: readonly number[], from: ReadonlyMap<number, number>) => void
}

export class ServingEngine {
  private readonly worlds = new Map<string, { world: World; checkpointed: number }>()
  private readonly building = new Map<string, Promise<{ world: World; checkpointed: number }>>()
  private readonly seekedTo = new Map<number, number>()
  private held: readonly number[] = []
  private failure: JournalError | undefined
  private stopping: Promise<void> | undefined
  /** Settles when the engine stops: resolves on stop(), rejects when it failed. */
  readonly done: Promise<void>
  private finish: { resolve: () => void; reject: (err: JournalError) => void } = { resolve: () => {}, reject: () => {} }

  private consumer: Consumer
  /** The batch being applied (stop() closes the store after it) */
  private applying: Promise<void> = Promise.resolve()
  /** Crashes since the last successful join. */
  private restarts = 0

  private constructor(
    readonly target: KafkaTarget,
    readonly store: StateStore,
    private readonly makeConsumer: () => Consumer,
    private readonly log: KafkaLog,
    private readonly opts: ServeOptions,
  ) {
    this.consumer = makeConsumer()
    this.done = new Promise<void>((resolve, reject) => { this.finish = { resolve, reject } })
    this.done.catch(() => {}) // the caller may only ever call stop(); the failure is also thrown there
  }

  static async start(target: KafkaTarget, opts: ServeOptions): Promise<ServingEngine> {
    const log = opts.log ?? stderrLog
    const kafka = kafkaClient(target, log)
    const admin = kafka.admin()
    let partitions: number
    try {
      await admin.connect()
      const meta = await admin.fetchTopicMetadata({ topics: [target.topic] })
      partitions = meta.topics.find((t) => t.name === target.topic)?.partitions.length ?? 0
    } catch (err) {
      throw kafkaError(target, 'cannot read the topic\'s metadata', err)
    } finally {
      await admin.disconnect()
    }
    if (partitions === 0) throw new JournalError('NOT_FOUND', `${showTarget(target)}: no such topic (eyrie does not create topics)`)
    const store = await StateStore.open(opts.stateDir, target.topic, partitions, { noSync: opts.noSync, onParked: opts.onParked ?? ((r) => log(r.error)) })
    const sessionTimeout = opts.sessionTimeoutMs ?? 10_000
    const makeConsumer = () => kafka.consumer({
      groupId: opts.groupId ?? `eyrie-serve-${target.topic}`,
      sessionTimeout,
      rebalanceTimeout: Math.max(sessionTimeout, 10_000),
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 10)),
      maxWaitTimeInMs: opts.fetchWaitMs ?? 500,
      maxBytesPerPartition: Math.max(target.maxMessageBytes, 1 << 20),
      allowAutoTopicCreation: false,
    })
    const engine = new ServingEngine(target, store, makeConsumer, log, opts)
    try {
      await engine.run()
    } catch (err) {
      await engine.consumer.disconnect().catch(() => {}) // it never ran; the start error is the one to report
      await store.close()
      throw kafkaError(target, 'cannot start the consumer', err)
    }
    return engine
  }

  private async run(): Promise<void> {
    const consumer = this.consumer
    await consumer.connect()
    await consumer.subscribe({ topic: this.target.topic, fromBeginning: true })
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.restarts = 0
      this.joined(e.payload.memberAssignment[this.target.topic] ?? [])
    })
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart !== true) this.crashed(e.payload.error)
    })
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.batch(payload) })
  }

  /** kafkajs restarts the consumer after retriable errors itself. Others that happen while joining
   *  (a member dying mid-rebalance, a coordinator moving; librdkafka's mock answers SyncGroup with
   *  INVALID_REQUEST when a member it listed is expelled before the leader's assignment arrives) get a
   *  new consumer and a fresh join, a few times in a row at most. */
  private crashed(error: Error): void {
    if (this.stopping !== undefined) return
    if (++this.restarts > MAX_RESTARTS) {
      this.fail(kafkaError(this.target, `the consumer crashed ${MAX_RESTARTS} times in a row`, error))
      return
    }
    this.log(`${showTarget(this.target)}: the consumer crashed (${error.message}); joining the group again (${this.restarts}/${MAX_RESTARTS})`)
    this.held = [] // the new consumer starts from the group's offsets: seek every partition it gets
    this.consumer = this.makeConsumer()
    this.run().catch((err: unknown) => this.crashed(err instanceof Error ? err : new Error(String(err))))
  }

  /** The partitions this instance holds now. */
  partitions(): readonly number[] {
    return this.held
  }

  /** R(now) of a guest of a held partition, read-only for the caller; undefined if it has no events here. */
  async world(guest: string): Promise<World | undefined> {
    if (this.store.lastSeq(guest) === 0) return undefined
    return (await this.loaded(guest)).world
  }

  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        // leaves the group: the others take the partitions at once
        const leaveMs = this.opts.leaveMs ?? Math.max(this.opts.sessionTimeoutMs ?? 10_000, 10_000)
        if (!(await settlesWithin(this.consumer.disconnect(), leaveMs))) {
          this.log(`${showTarget(this.target)}: the consumer did not leave the group within ${leaveMs} ms; stopping without it (the group gives its partitions to others when the session times out)`)
        }
        await this.applying
      } finally {
        await this.store.close()
      }
      if (this.failure !== undefined) this.finish.reject(this.failure)
      else this.finish.resolve()
    })()
    await this.stopping
    if (this.failure !== undefined) throw this.failure
  }

  // --- the consumer's callbacks ---

  private joined(partitions: readonly number[]): void {
    const before = new Set(this.held)
    const from = new Map<number, number>()
    this.held = [...partitions].sort((a, b) => a - b)
    for (const p of this.held) {
      if (before.has(p)) continue
      // newly held (first join, or back from another instance): read from where this store stands, not
      // from the group's offset, which may be another instance's
      this.store.rewind(p)
      const offset = this.store.next(p)
      this.seekedTo.set(p, offset)
      this.consumer.seek({ topic: this.target.topic, partition: p, offset: String(offset) })
      from.set(p, offset)
    }
    const mine = new Set(this.held)
    for (const guest of this.worlds.keys()) if (!mine.has(partitionOf(guest, this.store.partitions))) this.worlds.delete(guest)
    // The store keeps guests of partitions it no longer holds (stale from now on): readers of the
    // store learn which guests are current from this file.
    writeAtomic(this.store.dir, ASSIGNMENT_FILE, `${JSON.stringify({ topic: this.target.topic, partitions: this.store.partitions, held: this.held, since: new Date().toISOString() })}\n`, false)
    this.opts.onAssigned?.(this.held, from)
  }

  private batch(payload: EachBatchPayload): Promise<void> {
    const run = this.applyBatch(payload)
    this.applying = run.catch(() => {})
    return run
  }

  private async applyBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.failure !== undefined || this.stopping !== undefined || !isRunning() || isStale() || batch.isEmpty()) return
    const p = batch.partition
    const expected = this.store.next(p)
    const first = Number(batch.firstOffset())
    if (first > expected && this.seekedTo.get(p) !== expected) {
      // the group's offset is ahead of this store (another instance held the partition): go back once;
      // if the log no longer starts that early, the next batch is taken as it comes (guests then show
      // the gap as parked records)
      this.seekedTo.set(p, expected)
      this.consumer.seek({ topic: this.target.topic, partition: p, offset: String(expected) })
      return
    }
    let applied: Applied
    try {
      const records: FetchedRecord[] = []
      for (const m of batch.messages) {
        const offset = Number(m.offset)
        if (offset >= expected) records.push({ offset, key: m.key, value: m.value })
      }
      applied = await this.store.apply(p, records, Number(batch.lastOffset()) + 1)
      for (const [guest, events] of applied.events) await this.fold(guest, events)
      await this.store.journal.flush() // checkpoints durable too, before the group hears of it
    } catch (err) {
      // the state store failed: this engine cannot go on
      this.fail(kafkaError(this.target, `partition ${p}`, err))
      return
    }
    resolveOffset(batch.lastOffset())
    for (const [guest, events] of applied.events) this.opts.onApplied?.(guest, events)
    // A rebalance makes these throw; kafkajs rejoins the group when they do. The offset committed is
    // only for the group's bookkeeping (lag): instances resume from their own stores.
    await this.consumer.commitOffsets([{ topic: this.target.topic, partition: p, offset: String(this.store.resumeOffset(p)) }])
    await heartbeat()
  }

  /** Stops the engine with an error. Not awaited: stopping the consumer waits for the batch that
   *  failed to return. `done` and stop() report the error. */
  private fail(error: JournalError): void {
    this.failure ??= error
    this.stop().catch(() => {})
  }

  // --- projections ---

  /** A guest's world, built once from its last checkpoint and the events after it (concurrent
   *  callers share the build). */
  private loaded(guest: string): Promise<{ world: World; checkpointed: number }> {
    const known = this.worlds.get(guest)
    if (known !== undefined) return Promise.resolve(known)
    let building = this.building.get(guest)
    if (building === undefined) {
      building = (async () => {
        const last = this.store.lastSeq(guest)
        const cp = await this.store.journal.checkpointAtOrBefore(guest, last)
        const world = cp === undefined ? emptyWorld() : decodeWorld(cp.state)
        for await (const batch of this.store.journal.read(guest, world.seq + 1, last)) for (const e of batch) evolve(world, e)
        const w = { world, checkpointed: cp?.seq ?? 0 }
        this.worlds.set(guest, w)
        return w
      })().finally(() => this.building.delete(guest))
      this.building.set(guest, building)
    }
    return building
  }

  /** Folds events just appended to the store; a checkpoint every N events. */
  private async fold(guest: string, events: readonly Event[]): Promise<void> {
    const w = await this.loaded(guest)
    // a world built just now may already include these events (the store has them)
    for (const e of events) if (e.seq > w.world.seq) evolve(w.world, e)
    if (w.world.seq - w.checkpointed >= (this.opts.checkpointEvery ?? DEFAULT_SERVE_CHECKPOINT_EVERY)) {
      w.checkpointed = w.world.seq
      const prepared = prepareCheckpoint(w.world, policyFor(this.store.journal))
      await writeCheckpoint(this.store.journal, guest, prepared)
      applyCompaction(w.world, prepared.plan)
    }
  }
}

/** Whether `p` settles (either way) within `ms`; it is not waited for after that. */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  return Promise.race([p.then(() => true, () => true), late]).finally(() => clearTimeout(timer))
}

export const serveKafka = (target: KafkaTarget, opts: ServeOptions): Promise<ServingEngine> => ServingEngine.start(target, opts)
