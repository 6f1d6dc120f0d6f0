// Corruption: random bytes flipped in stored values (events, payloads inline and in blob segments,
// blob references, checkpoints, their compacted values and sources, guest records) through a raw
// lmdb handle or the segment file, one value per trial, restored afterwards. Each trial asks: did
// `verify` name the damaged guest and seq, did any content answer change (an answer may fail, never
// differ), and did a damaged checkpoint leave every answer as it was (fallback to the previous one)?
// The fixture's journal keeps payloads of 256 bytes and more in blob segments and compacts files of 4
// extents and more at its checkpoints, so that every kind of stored value is there to damage; it
// records each write as it happens (`writes: 'stop'`): read back, files come in a few large records
// and nothing reaches 4 extents, so no compacted value would be there.
// Shared by corruption.test.ts and bench/torture.ts.
import { createHash } from 'node:crypto'
import { open, type Database, type Key, type RootDatabase } from 'lmdb'
import { openSync, closeSync, readSync, writeSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { BLOB_DIR, SEGMENT_MAGIC } from '../../src/journal/blobs.js'
import { refFromValue } from '../../src/journal/values.js'
import { DEFAULT_COMPACTION } from '../../src/projections/index.js'
import { JournalError } from '../../src/journal/errors.js'
import type { Journal } from '../../src/journal/journal.js'
import { Ingest, worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan, ls } from '../../src/projections/index.js'
import { traceCommand } from '../../src/native/index.js'
import { verify } from '../../src/forensic/verify.js'
import { tempDir } from './support.js'

export const GUEST = 'g'

/** Several files rewritten, appended, copied and renamed, so answers at different seqs differ. */
const WORKLOAD = [
  'i=0',
  'while [ $i -lt 6 ]; do',
  '  i=$((i+1))',
  '  echo "version $i" > a.txt',
  '  echo "line $i" >> b.log',
  '  head -c $((i * 97)) /dev/urandom > c.bin',
  '  cp c.bin "d$((i % 3)).bin"',
  '  if [ $((i % 2)) -eq 0 ]; then mv a.txt "a$i.txt"; fi',
  'done',
].join('\n')

interface Query { readonly seq: number; readonly path: string }
type Answer = string // sha256 of the bytes

export interface Fixture {
  readonly journal: string
  readonly work: string
  readonly events: number
  readonly checkpoints: number
  readonly queries: readonly Query[]
  readonly baseline: ReadonlyMap<string, Answer>
  cleanup(): Promise<void>
}

const qkey = (q: Query): string => `${q.seq}\0${q.path}`
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** The bytes of path at seq as `eyrie at #seq cat` computes them (throws on unknown bytes). */
const cat = async (j: Journal, seq: number, path: string): Promise<Answer> => {
  const w = await worldAt(j, GUEST, seq)
  const plan = contentPlan(w, path)
  if (!plan.ok) throw new Error(plan.reason)
  const { bytes, unknown } = await materialize(j, GUEST, plan.pieces)
  if (unknown.length > 0) throw new Error(`${path} has unknown bytes at #${seq}`)
  return sha(bytes)
}

/** Records WORKLOAD natively into a fresh journal (checkpoints every `every` events) and computes the
 *  baseline: every fully known file under the work dir at `points` seqs spread over the guest. */
export const buildFixture = async (opts: { every?: number; points?: number } = {}): Promise<Fixture> => {
  const work = await tempDir('corrupt-work')
  const jdir = await tempDir('corrupt-journal')
  const journal = `${jdir.dir}/journal`
  const j = await openLmdbJournal(journal, { blobFrom: 256 })
  try {
    const ingest = await Ingest.open(j, GUEST, opts.every ?? 60, { ...DEFAULT_COMPACTION, minExtents: 4 })
    const r = await traceCommand(['sh', '-c', WORKLOAD], { writes: 'stop', cwd: work.dir, onBatch: (d) => ingest.push(d), stdio: { stdin: 0, stdout: 2, stderr: 2 } })
    await ingest.finish()
    if (r.status !== 0) throw new Error(`corruption workload exited ${r.status ?? r.signal}`)
  } finally {
    await j.close()
  }
  const ro = await openLmdbJournal(journal, { readOnly: true })
  try {
    const last = await ro.lastSeq(GUEST)
    const points = opts.points ?? 8
    const queries: Query[] = []
    const baseline = new Map<string, Answer>()
    for (let k = 1; k <= points; k++) {
      const seq = Math.round((k * last) / points)
      const w = await worldAt(ro, GUEST, seq)
      for (const e of ls(w, work.dir)) {
        if (e.type !== 'file' || e.unknownBytes !== 0 || e.size === null) continue
        const q = { seq, path: e.path }
        queries.push(q)
        baseline.set(qkey(q), await cat(ro, seq, e.path))
      }
    }
    let checkpoints = 0
    for (let at = last; ; ) {
      const cp = await ro.checkpointAtOrBefore(GUEST, at)
      if (cp === undefined) break
      checkpoints++
      at = cp.seq - 1
    }
    return {
      journal, work: work.dir, events: last, checkpoints, queries, baseline,
      cleanup: async () => {
        await work.cleanup()
        await jdir.cleanup()
      },
    }
  } finally {
    await ro.close()
  }
}

export type Target = 'events' | 'payloads' | 'blobs' | 'segments' | 'checkpoints' | 'compacted' | 'sources' | 'guests'

export interface Trial {
  readonly target: Target
  readonly seq: number | null
  readonly flips: number
  /** verify reported a problem naming the guest (and the seq, where there is one) */
  readonly detected: boolean
  /** answers that came back equal to the baseline / as an error / different (must be 0) */
  readonly same: number
  readonly failed: number
  readonly wrong: number
  /** the messages of the failed answers, which must name guest and seq */
  readonly unnamed: readonly string[]
  readonly verifyMessage: string | null
}

const withRaw = async <T>(dir: string, f: (db: (name: string) => Database<Buffer, Key>) => T): Promise<T> => {
  const root: RootDatabase = open(dir, { noSubdir: false, maxDbs: 8 })
  try {
    return f((name) => root.openDB<Buffer, Key>(name, { encoding: 'binary', keyEncoding: 'ordered-binary' }))
  } finally {
    await root.close()
  }
}

const pick = <T>(xs: readonly T[], random: () => number): T => xs[Math.floor(random() * xs.length)]

/** Flips bytes of a stored LMDB value; the seq it belongs to (a compacted value's: its checkpoint's). */
const damageValue = async (fx: Fixture, target: Exclude<Target, 'segments'>, flips: number, random: () => number) =>
  withRaw(fx.journal, (db) => {
    const keys = [...db(target).getKeys({})]
    const key = pick(keys, random)
    const original = db(target).get(key)
    if (original === undefined) throw new Error(`no value under ${String(key)}`)
    const copy = Buffer.from(original)
    const at = new Set<number>()
    while (at.size < Math.min(flips, copy.length)) at.add(Math.floor(random() * copy.length))
    for (const i of at) copy[i] ^= 1 + Math.floor(random() * 255) // a non-zero xor: the byte changes
    db(target).putSync(key, copy)
    return {
      seq: target === 'guests' ? null : (key as [string, number])[1],
      restore: () => withRaw(fx.journal, (d) => d(target).putSync(key, Buffer.from(original))),
    }
  })

/** Flips one byte of a blob segment: in a payload (its seq), or in the header (every payload of the
 *  segment fails, each naming its own seq: no one seq is expected). */
const damageSegment = async (fx: Fixture, random: () => number) => {
  const refs = await withRaw(fx.journal, (db) => [...db('blobs').getRange({})].map(({ key, value }) => ({ seq: (key as [string, number])[1], ref: refFromValue(GUEST, (key as [string, number])[1], value) })))
  const dir = join(fx.journal, BLOB_DIR)
  const name = pick(readdirSync(dir).sort(), random)
  const segment = Number(name.slice(0, 8))
  const mine = refs.filter((r) => r.ref.segment === segment).sort((a, b) => a.ref.offset - b.ref.offset)
  const end = Math.max(SEGMENT_MAGIC.length, ...mine.map((r) => r.ref.offset + r.ref.length))
  const at = Math.floor(random() * Math.min(end, statSync(join(dir, name)).size))
  const hit = at < SEGMENT_MAGIC.length ? undefined : mine.find((r) => r.ref.offset <= at && at < r.ref.offset + r.ref.length)
  const fd = openSync(join(dir, name), 'r+')
  const before = Buffer.alloc(1)
  try {
    readSync(fd, before, 0, 1, at)
    writeSync(fd, Buffer.from([before[0] ^ (1 + Math.floor(random() * 255))]), 0, 1, at)
  } finally {
    closeSync(fd)
  }
  return {
    seq: hit?.seq ?? null,
    restore: async () => {
      const f = openSync(join(dir, name), 'r+')
      try {
        writeSync(f, before, 0, 1, at)
      } finally {
        closeSync(f)
      }
    },
  }
}

/** One trial: damage one stored value, ask, restore. */
export const corruptionTrial = async (fx: Fixture, random: () => number): Promise<Trial> => {
  const r = random()
  // weights: events .3, payloads .15, blobs .08, segments .1, checkpoints .2, compacted .1, sources .05, guests .02
  const target: Target = r < 0.3 ? 'events' : r < 0.45 ? 'payloads' : r < 0.53 ? 'blobs' : r < 0.63 ? 'segments' : r < 0.83 ? 'checkpoints' : r < 0.93 ? 'compacted' : r < 0.98 ? 'sources' : 'guests'
  const flips = 1 + Math.floor(random() * 3)
  const damaged = target === 'segments' ? await damageSegment(fx, random) : await damageValue(fx, target, flips, random)
  const seq = damaged.seq
  try {
    const reported: JournalError[] = []
    const j = await openLmdbJournal(fx.journal, { readOnly: true, onCorruption: (e) => reported.push(e) })
    try {
      const report = await verify(j, { takeCorruption: () => reported.splice(0) })
      const hit = report.problems.find((p) => p.guest === GUEST && (seq === null || p.seq === seq))
      let same = 0
      let failed = 0
      let wrong = 0
      const unnamed: string[] = []
      for (const q of fx.queries) {
        try {
          const answer = await cat(j, q.seq, q.path)
          if (answer === fx.baseline.get(qkey(q))) same++
          else wrong++
        } catch (err) {
          failed++
          const named = err instanceof JournalError && (err.code === 'CORRUPT' || err.code === 'DECODE') &&
            err.message.includes(`guest=${GUEST}`) && (seq === null || err.message.includes(`seq=${seq}`))
          if (!named) unnamed.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
        }
      }
      return { target, seq, flips, detected: hit !== undefined, same, failed, wrong, unnamed, verifyMessage: hit?.message ?? report.problems[0]?.message ?? null }
    } finally {
      await j.close()
    }
  } finally {
    await damaged.restore()
  }
}

export interface CorruptionSummary {
  readonly trials: number
  readonly detected: number
  readonly byTarget: Readonly<Record<Target, { trials: number; detected: number }>>
  readonly answers: { same: number; failed: number; wrong: number }
  /** checkpoint trials where some answer differed or failed (a fallback must answer as before) */
  readonly checkpointFallbackFailures: number
  readonly unnamed: readonly string[]
  readonly ms: number
}

export const corruptionRun = async (fx: Fixture, trials: number, random: () => number, log?: (s: string) => void): Promise<CorruptionSummary> => {
  const t0 = performance.now()
  const byTarget: Record<Target, { trials: number; detected: number }> = {
    events: { trials: 0, detected: 0 }, payloads: { trials: 0, detected: 0 }, blobs: { trials: 0, detected: 0 }, segments: { trials: 0, detected: 0 },
    checkpoints: { trials: 0, detected: 0 }, compacted: { trials: 0, detected: 0 }, sources: { trials: 0, detected: 0 }, guests: { trials: 0, detected: 0 },
  }
  const answers = { same: 0, failed: 0, wrong: 0 }
  let detected = 0
  let fallbackFailures = 0
  const unnamed: string[] = []
  for (let i = 0; i < trials; i++) {
    const t = await corruptionTrial(fx, random)
    byTarget[t.target].trials++
    if (t.detected) {
      detected++
      byTarget[t.target].detected++
    } else log?.(`trial ${i}: ${t.target} seq=${t.seq} NOT DETECTED (${t.verifyMessage ?? 'verify ok'})`)
    answers.same += t.same
    answers.failed += t.failed
    answers.wrong += t.wrong
    if (t.target === 'checkpoints' && (t.failed > 0 || t.wrong > 0)) fallbackFailures++
    unnamed.push(...t.unnamed)
    if (t.wrong > 0) log?.(`trial ${i}: ${t.target} seq=${t.seq}: ${t.wrong} WRONG answer(s)`)
  }
  return { trials, detected, byTarget, answers, checkpointFallbackFailures: fallbackFailures, unnamed, ms: performance.now() - t0 }
}
