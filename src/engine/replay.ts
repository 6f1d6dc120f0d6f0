// R(seq) = R(nearest checkpoint <= seq) + E(checkpoint, seq]. Memory is bounded by the world, not by
// the journal's length: events stream through in batches.
import { withEnvelope, type Draft, type Event } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import { expandFrom, policyFor, prepareCheckpoint, writeCheckpoint } from '../journal/checkpoint.js'
import { applyCompaction, decodeWorld, emptyWorld, evolve, type CompactionPolicy, type World } from '../projections/index.js'

export const DEFAULT_CHECKPOINT_EVERY = 50_000

/** R(seq) as answers need it: files a checkpoint compacted read their bytes from it. */
export const worldAt = async (j: Journal, guest: string, seq: number): Promise<World> => {
  const cp = await j.checkpointAtOrBefore(guest, seq)
  const w = cp === undefined ? emptyWorld() : decodeWorld(cp.state)
  if (w.seq < seq) for await (const batch of j.read(guest, w.seq + 1, seq)) for (const e of batch) evolve(w, e)
  return w
}

/** R(seq) exactly as the fold makes it from nothing (compacted files expanded): what comparisons of
 *  worlds need. */
export const foldedWorldAt = async (j: Journal, guest: string, seq: number): Promise<World> => expandFrom(j, guest, await worldAt(j, guest, seq))

/** An event as the journal will store it: the draft's body inside its envelope. Trusted: the draft
 *  was decoded at its boundary already. */
export const eventOf = (guest: string, seq: number, d: Draft): Event => withEnvelope(d.body, { guest, seq, ts: d.ts, pid: d.pid, tid: d.tid })

/** Appends drafts to a guest, keeps R(now) up to date, and writes a checkpoint every N events. */
export class Ingest {
  private readonly world: World
  private lastCheckpoint: number
  private pending: Promise<void> = Promise.resolve()

  private readonly policy: CompactionPolicy

  private constructor(private readonly j: Journal, readonly guest: string, world: World, private readonly every: number, policy?: CompactionPolicy) {
    this.world = world
    this.lastCheckpoint = world.seq
    this.policy = policyFor(j, policy)
  }

  /** @param policy which files checkpoints compact (default DEFAULT_COMPACTION where the journal can) */
  static async open(j: Journal, guest: string, every = DEFAULT_CHECKPOINT_EVERY, policy?: CompactionPolicy): Promise<Ingest> {
    return new Ingest(j, guest, await worldAt(j, guest, await j.lastSeq(guest)), every, policy)
  }

  /** Appends a batch; resolves once it is committed (so a caller can hold a tracee until then). */
  async push(drafts: readonly Draft[]): Promise<void> {
    await this.append(drafts).committed
  }

  /** Appends a batch and folds it into R(now) at once; readers of the journal see it once `visible`
   *  settles (never rejects), and it is durable once `committed` resolves. */
  append(drafts: readonly Draft[]): { readonly visible: Promise<void>; readonly committed: Promise<void> } {
    if (drafts.length === 0) return { visible: Promise.resolve(), committed: Promise.resolve() }
    const r = this.j.append(this.guest, drafts)
    // a checkpoint every N events wherever they fall in the batches, however large those are
    for (let i = 0; i < drafts.length; i++) {
      evolve(this.world, eventOf(this.guest, r.first + i, drafts[i]))
      if (this.world.seq - this.lastCheckpoint >= this.every) this.checkpoint(r.committed)
    }
    return { visible: r.visible ?? r.committed.then(() => {}, () => {}), committed: r.committed }
  }

  /** A checkpoint of R(now), written once the batch that reached it is committed. */
  private checkpoint(committed: Promise<void>): void {
    // encode now: the world moves on while the commit is under way; the compacted bytes are read
    // once the batch (whose payloads they may include) is committed, and R(now) reads them from the
    // checkpoint once that is committed
    this.lastCheckpoint = this.world.seq
    const prepared = prepareCheckpoint(this.world, this.policy)
    this.pending = this.pending.then(() => committed).then(() => writeCheckpoint(this.j, this.guest, prepared)).then(() => {
      applyCompaction(this.world, prepared.plan)
    })
  }

  /** R(now): read-only for the caller. */
  get now(): World {
    return this.world
  }

  async finish(): Promise<void> {
    await this.pending
    await this.j.flush()
  }
}
