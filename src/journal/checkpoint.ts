// Writing a checkpoint: the world as the checkpoint stores it, with its many-extent files compacted
// (src/projections/compact.ts decides which, purely), and the compacted files' bytes, read from their
// payloads, stored beside it in the same transaction. Readers fold from it as from any checkpoint;
// `at T cat` of a compacted file reads one value instead of a payload per extent. A writer that goes
// on folding applies the plan to its own world once the checkpoint is committed (applyCompaction),
// so that later checkpoints read those bytes from it instead of copying them again.
import { JournalError } from './errors.js'
import type { CompactedFileValue, Journal } from './journal.js'
import {
  compactedInUse, compactedKey, compactedValue, compactionPlan, compactWorld, DEFAULT_COMPACTION, encodeWorld, expandWorld, NO_COMPACTION,
  type CompactedFile, type CompactionPlan, type CompactionPolicy, type World,
} from '../projections/index.js'

export interface PreparedCheckpoint {
  readonly seq: number
  /** the encoded (compacted) world */
  readonly state: Uint8Array
  readonly plan: CompactionPlan
}

/** Synchronous, so a fold that goes on right after is checkpointed as it was (Ingest encodes at the
 *  batch that reaches the interval and writes once that batch is committed). */
export const prepareCheckpoint = (w: World, policy: CompactionPolicy = DEFAULT_COMPACTION): PreparedCheckpoint => {
  const plan = compactionPlan(w, policy)
  return { seq: w.seq, state: encodeWorld(compactWorld(w, plan)), plan }
}

/** The sources of compacted values (all those `w` reads by default), by compactedKey. */
export const sourcesOf = async (j: Journal, guest: string, files: readonly CompactedFile[]): Promise<Map<string, Uint8Array>> => {
  const out = new Map<string, Uint8Array>()
  for (const f of files) {
    const key = compactedKey(f)
    if (out.has(key)) continue
    const sources = await j.compactedSources?.(guest, f.seq, f.base)
    if (sources === undefined) throw new JournalError('CORRUPT', `journal compacted sources guest=${guest} seq=${f.seq} base=${f.base}: missing`, { guest, seq: f.seq })
    out.set(key, sources)
  }
  return out
}

/** `w` (read from a checkpoint, maybe folded on) as the fold makes it without compaction. In place. */
export const expandFrom = async (j: Journal, guest: string, w: World): Promise<World> =>
  w.compaction === null ? w : expandWorld(w, await sourcesOf(j, guest, compactedInUse(w)))

/** The policy a journal can keep: none where the back end stores no compacted values. */
export const policyFor = (j: Journal, policy: CompactionPolicy = DEFAULT_COMPACTION): CompactionPolicy =>
  j.compacted === undefined ? NO_COMPACTION : policy

/** The compacted files' values: their stored bytes read from the payloads the plan names. */
export const compactedValues = async (j: Journal, guest: string, plan: CompactionPlan): Promise<CompactedFileValue[]> => {
  const out: CompactedFileValue[] = []
  for (const item of plan.items) {
    const seqs = [...new Set(item.dataPieces.flatMap((p) => ('unknown' in p || p.seq <= 0 ? [] : [p.seq])))]
    const fetched = j.payloads !== undefined ? await j.payloads(guest, seqs) : await Promise.all(seqs.map((s) => j.payload(guest, s)))
    const bySeq = new Map(seqs.map((s, i) => [s, fetched[i]]))
    const data = Buffer.alloc(item.stored)
    for (const p of item.dataPieces) {
      if ('unknown' in p || p.seq === 0) continue
      const bytes = bySeq.get(p.seq)
      const want = p.end - p.start
      if (bytes === undefined || p.off + want > bytes.length) {
        throw new JournalError('CORRUPT', `journal payload guest=${guest} seq=${p.seq}: holds ${bytes?.length ?? 0} bytes, the checkpoint at #${plan.seq} reads ${p.off + want}`, { guest, seq: p.seq })
      }
      data.set(bytes.subarray(p.off, p.off + want), p.start)
    }
    out.push({ base: item.base, bytes: compactedValue(item, data), sources: item.sources })
  }
  return out
}

export const writeCheckpoint = async (j: Journal, guest: string, p: PreparedCheckpoint): Promise<void> => {
  const values = await compactedValues(j, guest, p.plan)
  await j.putCheckpoint(guest, p.seq, p.state, values)
}
