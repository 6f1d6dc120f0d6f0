// Live-mode retention (the paper's GC): a payload's bytes may go once
//   1. the disk is known to hold them: a later fsync/fdatasync of the same file (file.flush), or an
//      observation of the file (file.observe) that shows the same bytes; an observation's own bytes
//      are what the disk held, so they count as confirmed at once; and
//   2. no extent of the world at the latest checkpoint G refers to them (they were overwritten, or
//      the file is gone).
// (2) makes every answer at G and later unchanged: the fold never brings an old extent back. Answers
// before G that used those bytes turn into unknown ranges, never into other bytes: the events are
// rewritten to `known: 0` and the checkpoints before G lose the extents in the same transaction
// (Journal.forget). Forensic mode (the default) never calls this and keeps every byte.
import type { Event } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import type { CompactedFileValue, CompactedRef } from '../journal/journal.js'
import { compactedValues, policyFor, prepareCheckpoint, sourcesOf } from '../journal/checkpoint.js'
import {
  compactedKey, decodeSources, decodeWorld, descriptionOf, emptyWorld, encodeWorld, evolve, expandWorld, lookup, writeOffset, type CompactedFile, type NodeId, type World,
} from '../projections/index.js'

export interface GcReport {
  readonly guest: string
  /** the checkpoint (or end) whose world decided what is still needed */
  readonly upTo: number
  /** freed (or, in a dry run, that would be freed) */
  readonly freedEvents: number
  readonly freedBytes: number
  /** payload events not confirmed on disk yet (kept) */
  readonly unconfirmed: number
  /** confirmed payload events the world at upTo still reads (kept) */
  readonly stillNeeded: number
  /** checkpoints replaced (0 in a dry run, which does not decode them) */
  readonly checkpointsRewritten: number
  readonly dryRun: boolean
}

interface Write { readonly seq: number; readonly offset: number | null; readonly known: number }
interface Observation { readonly seq: number; readonly offset: number; readonly known: number }

export interface CollectOptions {
  /** default: the latest checkpoint (what a recorder running beside Ingest wants) */
  readonly upTo?: number
  /** write a checkpoint at upTo if there is none (offline `eyrie gc`: upTo is the end) */
  readonly checkpoint?: boolean
  readonly dryRun?: boolean
  readonly onProgress?: (done: number, total: number) => void
}

/** Keeps its own fold of one guest and what each payload's confirmation state is. A recorder in live
 *  mode opens one beside its Ingest and calls collect() after each checkpoint; `eyrie gc` opens one
 *  and collects up to the end. Folding is incremental: each collect() reads only new events. */
export class Retention {
  private readonly w: World = emptyWorld()
  private readonly pending = new Map<NodeId, Write[]>()
  /** confirmed payload seq -> its node and known bytes */
  private readonly confirmed = new Map<number, { readonly node: NodeId; readonly known: number }>()
  private readonly observations = new Map<NodeId, Observation[]>()
  /** unconfirmed writes to files that are gone: kept in the journal, no longer tracked */
  private abandoned = 0

  constructor(private readonly j: Journal, readonly guest: string) {}

  get seq(): number {
    return this.w.seq
  }

  async collect(opts: CollectOptions = {}): Promise<GcReport> {
    const last = await this.j.lastSeq(this.guest)
    const latest = await this.j.checkpointAtOrBefore(this.guest, last)
    const upTo = Math.min(opts.upTo ?? latest?.seq ?? 0, last)
    const empty = { guest: this.guest, upTo, freedEvents: 0, freedBytes: 0, unconfirmed: 0, stillNeeded: 0, checkpointsRewritten: 0, dryRun: opts.dryRun === true }
    if (upTo < this.w.seq) return { ...empty, upTo: this.w.seq }
    let done = 0
    for await (const batch of this.j.read(this.guest, this.w.seq + 1, upTo)) {
      for (const e of batch) this.step(e)
      opts.onProgress?.((done += batch.length), upTo)
    }
    await this.checkObservations()
    const { free, stillNeeded } = this.unreferenced()
    const unconfirmed = [...this.pending.values()].reduce((n, ws) => n + ws.length, this.abandoned)
    const atUpTo = await this.j.checkpointAtOrBefore(this.guest, upTo)
    const addCheckpoint = opts.checkpoint === true && upTo > 0 && atUpTo?.seq !== upTo
    if (free.length === 0 && !addCheckpoint) return { ...empty, unconfirmed, stillNeeded }
    if (opts.dryRun === true) {
      // what would go; the checkpoints are not decoded just to count them
      const bytes = free.reduce((n, seq) => n + (this.confirmed.get(seq)?.known ?? 0), 0)
      return { ...empty, freedEvents: free.length, freedBytes: bytes, unconfirmed, stillNeeded }
    }
    const stripped = await this.strippedCheckpoints(new Set(free), upTo)
    const checkpoints: Array<{ seq: number; state: Uint8Array; compacted?: CompactedFileValue[] }> = stripped.checkpoints
    if (addCheckpoint) {
      // as Ingest writes one: many-extent files compacted (what it reads is not among what is freed)
      const p = prepareCheckpoint(this.w, policyFor(this.j))
      checkpoints.push({ seq: upTo, state: p.state, compacted: await compactedValues(this.j, this.guest, p.plan) })
    }
    if (this.j.forget === undefined) throw new Error('this journal back end cannot forget payloads: it keeps everything (forensic only)')
    const r = await this.j.forget(this.guest, { payloads: free, checkpoints, compacted: stripped.drop })
    for (const seq of free) this.confirmed.delete(seq)
    return { ...empty, freedEvents: r.events, freedBytes: r.bytes, unconfirmed, stillNeeded, checkpointsRewritten: checkpoints.length }
  }

  /** One event: evolve, and keep the books on payloads. */
  private step(e: Event): void {
    const w = this.w
    if (e.kind === 'file.write' && e.known > 0) {
      // where the bytes land, decided before evolve as the fold decides it
      const o = descriptionOf(w, e.pid, e.fd)
      const node = o === undefined ? undefined : w.nodes.get(o.node)
      const offset = o === undefined || node === undefined ? null : writeOffset(o, node.content.size, e.offset, e.append === true)
      evolve(w, e)
      if (o === undefined || node === undefined) return // an fd eyrie never saw: the fold placed nothing
      this.pend(node.id, { seq: e.seq, offset, known: e.known })
      return
    }
    evolve(w, e)
    switch (e.kind) {
      case 'file.flush': {
        const o = descriptionOf(w, e.pid, e.fd)
        if (o === undefined) return
        // fsync writes back every dirty page of the file, whichever fd wrote it
        for (const wr of this.pending.get(o.node) ?? []) this.confirmed.set(wr.seq, { node: o.node, known: wr.known })
        this.pending.delete(o.node)
        return
      }
      case 'file.observe': {
        if (e.known === 0) return
        const node = lookup(w, e.path)
        if (node === undefined) return
        this.confirmed.set(e.seq, { node: node.id, known: e.known })
        const list = this.observations.get(node.id)
        const ob = { seq: e.seq, offset: e.offset, known: e.known }
        if (list === undefined) this.observations.set(node.id, [ob])
        else list.push(ob)
        return
      }
      case 'file.sync':
      case 'view.sync': {
        if (e.known === 0) return
        const node = lookup(w, e.path)
        if (node !== undefined) this.pend(node.id, { seq: e.seq, offset: e.offset, known: e.known })
        return
      }
      default:
        return
    }
  }

  private pend(node: NodeId, wr: Write): void {
    const list = this.pending.get(node)
    if (list === undefined) this.pending.set(node, [wr])
    else list.push(wr)
  }

  /** An observation after a write that shows the write's bytes where it put them confirms it. */
  private async checkObservations(): Promise<void> {
    for (const [node, obs] of this.observations) {
      const writes = this.pending.get(node)
      if (writes === undefined) continue
      const left: Write[] = []
      for (const wr of writes) {
        const ob = wr.offset === null ? undefined : obs.find((o) => o.seq > wr.seq && o.offset <= (wr.offset ?? 0) && o.offset + o.known >= (wr.offset ?? 0) + wr.known)
        if (ob !== undefined && wr.offset !== null && (await this.sameBytes(wr, wr.offset, ob))) this.confirmed.set(wr.seq, { node, known: wr.known })
        else left.push(wr)
      }
      if (left.length > 0) this.pending.set(node, left)
      else this.pending.delete(node)
    }
    // an observation only confirms writes made before it; those have all been looked at
    this.observations.clear()
    // a file that is gone can no longer be flushed: its unconfirmed bytes stay (forensic value), untracked
    for (const [node, writes] of [...this.pending]) {
      if (this.w.nodes.has(node)) continue
      this.abandoned += writes.length
      this.pending.delete(node)
    }
  }

  private async sameBytes(wr: Write, offset: number, ob: Observation): Promise<boolean> {
    const a = await this.j.payload(this.guest, wr.seq)
    const b = await this.j.payload(this.guest, ob.seq)
    const at = offset - ob.offset
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b.subarray(at, at + wr.known))
  }

  /** Confirmed payloads no extent of the current world reads: of any file, as a clone (file.clone)
   *  shares its source's extents. */
  private unreferenced(): { free: number[]; stillNeeded: number } {
    const read = new Set<number>()
    for (const node of this.w.nodes.values()) for (const x of node.content.extents) read.add(x.seq)
    const free: number[] = []
    let stillNeeded = 0
    for (const seq of this.confirmed.keys()) {
      if (read.has(seq)) stillNeeded++
      else free.push(seq)
    }
    return { free: free.sort((a, b) => a - b), stillNeeded }
  }

  /** Checkpoints below upTo that read a freed payload, with those extents removed (now unknown). A
   *  compacted value made from a freed payload is expanded in each of them that reads it, and goes
   *  once no checkpoint reads it (later checkpoints may read an earlier one's values; the world at upTo
   *  does not read freed bytes, but may read other parts of such a value, which then stays). */
  private async strippedCheckpoints(freed: ReadonlySet<number>, upTo: number): Promise<{ checkpoints: Array<{ seq: number; state: Uint8Array }>; drop: CompactedRef[] }> {
    const out: Array<{ seq: number; state: Uint8Array }> = []
    if (freed.size === 0) return { checkpoints: out, drop: [] }
    let oldest = Number.MAX_SAFE_INTEGER
    for (const seq of freed) if (seq < oldest) oldest = seq
    const sources = new Map<string, Uint8Array>()
    const tainted = new Map<string, CompactedRef>()
    const stillRead = new Set<string>()
    const isTainted = (f: CompactedFile): boolean => tainted.has(compactedKey(f))
    for (let at = await this.j.lastSeq(this.guest); at >= oldest; ) {
      const cp = await this.j.checkpointAtOrBefore(this.guest, at)
      if (cp === undefined || cp.seq < oldest) break
      at = cp.seq - 1
      const w = decodeWorld(cp.state)
      const files = w.compaction?.files ?? []
      for (const [key, bytes] of await sourcesOf(this.j, this.guest, files.filter((f) => !sources.has(compactedKey(f))))) {
        sources.set(key, bytes)
        if (decodeSources(bytes).some((x) => freed.has(x.seq))) {
          const [seq, base] = key.split(':').map(Number)
          tainted.set(key, { seq, base })
        }
      }
      if (cp.seq >= upTo) {
        // not rewritten: what it reads stays
        for (const f of files) stillRead.add(compactedKey(f))
        continue
      }
      let changed = false
      if (files.some(isTainted)) {
        expandWorld(w, sources, isTainted)
        changed = true
      }
      for (const node of w.nodes.values()) {
        const kept = node.content.extents.filter((x) => !freed.has(x.seq))
        if (kept.length !== node.content.extents.length) {
          node.content.extents = kept
          changed = true
        }
      }
      for (const f of w.compaction?.files ?? []) stillRead.add(compactedKey(f))
      if (changed) out.push({ seq: cp.seq, state: encodeWorld(w) })
    }
    return { checkpoints: out, drop: [...tainted].filter(([key]) => !stillRead.has(key)).map(([, ref]) => ref) }
  }
}
