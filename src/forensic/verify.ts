// `eyrie verify`: every record's and payload's checksum (the journal verifies on read), seq continuity
// (a missing record is reported by read), payload lengths, and checkpoint consistency: the fold of
// the previous checkpoint (or of nothing) and the events after it must give exactly the world the
// checkpoint holds (its compacted files expanded), and a compacted file's stored bytes must be the
// bytes of the payloads it was made of. One pass per guest; a bad record does not stop the pass: it is noted, the fold is
// resumed from the next checkpoint, and reading goes on after it.
import { isDeepStrictEqual } from 'node:util'
import { hasPayload, type Event } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import { JournalError } from '../journal/errors.js'
import { compactedKey, decodeSources, decodeWorld, emptyWorld, evolve, expandWorld, parseCompacted, storedBytes, type Piece, type World } from '../projections/index.js'
import { materialize } from '../engine/content.js'
import { sourcesOf } from '../journal/checkpoint.js'

export interface Problem {
  /** '' for damage that belongs to no guest (the journal's own records and files) */
  readonly guest: string
  readonly seq: number | null
  readonly what: 'record' | 'payload' | 'checkpoint' | 'guest' | 'storage'
  readonly message: string
}

export interface GuestCheck {
  readonly guest: string
  readonly events: number
  readonly payloads: number
  readonly payloadBytes: number
  readonly checkpoints: number
  readonly problems: number
}

export interface VerifyReport {
  readonly ok: boolean
  readonly guests: readonly GuestCheck[]
  /** in guest order, then by seq: the first is the first bad guest/seq */
  readonly problems: readonly Problem[]
}

export interface VerifyOptions {
  readonly guests?: readonly string[]
  /** Hands over the damage the journal routed around since the last call (wire it to the back end's
   *  onCorruption): checkpointAtOrBefore skips a corrupt checkpoint instead of throwing. */
  readonly takeCorruption?: () => readonly JournalError[]
  /** stop a guest's pass after this many problems (default 100) */
  readonly maxProblems?: number
  readonly onProgress?: (guest: string, done: number, total: number) => void
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export const verify = async (j: Journal, opts: VerifyOptions = {}): Promise<VerifyReport> => {
  let all: readonly { guest: string; events: number }[]
  try {
    all = await j.guests()
  } catch (err) {
    const guest = err instanceof JournalError ? (err.where.guest ?? '?') : '?'
    return { ok: false, guests: [], problems: [{ guest, seq: null, what: 'guest', message: message(err) }] }
  }
  const wanted = opts.guests === undefined ? all : all.filter((g) => opts.guests?.includes(g.guest))
  const checks: GuestCheck[] = []
  const problems: Problem[] = []
  for (const g of wanted) {
    const found = await verifyGuest(j, g.guest, g.events, opts)
    checks.push(found.check)
    problems.push(...found.problems)
  }
  if (opts.guests === undefined) for (const err of (await j.checkStorage?.()) ?? []) problems.push({ guest: '', seq: null, what: 'storage', message: err.message })
  return { ok: problems.length === 0, guests: checks, problems }
}

const verifyGuest = async (j: Journal, guest: string, last: number, opts: VerifyOptions): Promise<{ check: GuestCheck; problems: Problem[] }> => {
  const problems: Problem[] = []
  const max = opts.maxProblems ?? 100
  const note = (p: Problem): void => {
    if (problems.length < max) problems.push(p)
  }
  const drain = (): void => {
    for (const err of opts.takeCorruption?.() ?? []) note({ guest, seq: err.where.seq ?? null, what: 'checkpoint', message: err.message })
  }
  // checkpoints, newest first as the journal walks them, then in seq order
  const cps: number[] = []
  for (let at = last; at >= 0; ) {
    const cp = await j.checkpointAtOrBefore(guest, at)
    drain()
    if (cp === undefined) break
    cps.push(cp.seq)
    at = cp.seq - 1
  }
  cps.reverse()
  let nextCp = 0
  let w: World | undefined = emptyWorld()
  let payloads = 0
  let payloadBytes = 0
  const checked = new Set<string>()
  const checkpointAt = async (seq: number): Promise<void> => {
    const cp = await j.checkpointAtOrBefore(guest, seq)
    drain()
    if (cp === undefined || cp.seq !== seq) return
    let state: World
    try {
      state = decodeWorld(cp.state)
      if (state.compaction !== null) {
        const sources = await sourcesOf(j, guest, state.compaction.files)
        // each value once, reported under the checkpoint that wrote it (later ones may read it too)
        for (const f of state.compaction.files) {
          const key = compactedKey(f)
          if (checked.has(key)) continue
          checked.add(key)
          try {
            await checkCompacted(j, guest, f.seq, f.base, sources.get(key) ?? new Uint8Array(0))
          } catch (err) {
            note({ guest, seq: f.seq, what: 'checkpoint', message: message(err) })
          }
        }
        expandWorld(state, sources)
      }
    } catch (err) {
      const at = err instanceof JournalError ? (err.where.seq ?? seq) : seq
      note({ guest, seq: at, what: 'checkpoint', message: `checkpoint guest=${guest} seq=${seq}: ${message(err)}` })
      return
    }
    if (w === undefined) w = state // after a bad record the fold starts again here
    else if (!isDeepStrictEqual(w, state)) {
      note({ guest, seq, what: 'checkpoint', message: `checkpoint guest=${guest} seq=${seq}: differs from the fold of the previous checkpoint and the events after it` })
    }
  }
  const handle = async (e: Event): Promise<void> => {
    if (w !== undefined) evolve(w, e)
    if (hasPayload(e) && e.known > 0) {
      payloads++
      try {
        const data = await j.payload(guest, e.seq)
        payloadBytes += data.length
        if (data.length !== e.known) note({ guest, seq: e.seq, what: 'payload', message: `payload guest=${guest} seq=${e.seq}: ${data.length} bytes, the record says ${e.known}` })
      } catch (err) {
        note({ guest, seq: e.seq, what: 'payload', message: message(err) })
      }
    }
    while (nextCp < cps.length && cps[nextCp] <= e.seq) {
      if (cps[nextCp] === e.seq) await checkpointAt(e.seq)
      nextCp++
    }
  }
  if (cps[0] === 0) {
    await checkpointAt(0)
    nextCp = 1
  }
  let next = 1
  while (next <= last && problems.length < max) {
    try {
      for await (const batch of j.read(guest, next, last)) {
        for (const e of batch) {
          await handle(e)
          next = e.seq + 1
        }
        opts.onProgress?.(guest, next - 1, last)
      }
      break
    } catch (err) {
      const bad = err instanceof JournalError ? err.where.seq : undefined
      if (bad === undefined || bad < next) throw err
      // read() stops at the bad record without yielding the good ones before it in that batch
      if (bad > next) for await (const batch of j.read(guest, next, bad - 1)) for (const e of batch) await handle(e)
      note({ guest, seq: bad, what: 'record', message: message(err) })
      w = undefined
      next = bad + 1
      while (nextCp < cps.length && cps[nextCp] <= bad) nextCp++
    }
  }
  problems.sort((a, b) => (a.seq ?? -1) - (b.seq ?? -1))
  return { check: { guest, events: last, payloads, payloadBytes, checkpoints: cps.length, problems: problems.length }, problems }
}

/** A compacted file's stored bytes against the payloads its sources name: each span's bytes, and
 *  zeros wherever a source outside every span says zeros. */
const checkCompacted = async (j: Journal, guest: string, seq: number, base: number, sourceBytes: Uint8Array): Promise<void> => {
  const where = `compacted content guest=${guest} seq=${seq} base=${base}`
  const stored = await j.compacted?.(guest, seq, base, (v) => {
    const c = v.base === base ? parseCompacted(v.bytes) : undefined
    return c === undefined ? undefined : { spans: Array.from(c.spans), data: storedBytes(c) }
  }, { recheck: true })
  if (stored === undefined) throw new JournalError('CORRUPT', `journal ${where}: missing or unreadable`, { guest, seq })
  const sources = decodeSources(sourceBytes)
  const pieces: Piece[] = []
  let pos = 0
  let covered = 0
  for (let i = 0; i < stored.spans.length; i += 2) {
    const [a, b] = [stored.spans[i], stored.spans[i + 1]]
    for (const x of sources) {
      if (x.end <= a || x.start >= b) continue
      const start = Math.max(x.start, a)
      const end = Math.min(x.end, b)
      pieces.push({ start: pos + (start - a), end: pos + (end - a), seq: x.seq, off: x.seq === 0 ? 0 : x.off + (start - x.start) })
      covered += end - start
    }
    pos += b - a
  }
  if (covered !== pos) throw new JournalError('CORRUPT', `journal ${where}: its spans hold bytes no source extent gives`, { guest, seq })
  for (const x of sources) {
    if (x.seq === 0) continue
    let inSpans = 0
    for (let i = 0; i < stored.spans.length; i += 2) inSpans += Math.max(0, Math.min(x.end, stored.spans[i + 1]) - Math.max(x.start, stored.spans[i]))
    if (inSpans !== x.end - x.start) throw new JournalError('CORRUPT', `journal ${where}: bytes of payload #${x.seq} are not stored`, { guest, seq })
  }
  const expected = await materialize(j, guest, pieces)
  if (!expected.bytes.equals(stored.data)) throw new JournalError('CORRUPT', `journal ${where}: differs from the payloads it was made of`, { guest, seq })
}
