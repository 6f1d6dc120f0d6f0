// `record --scan`: the scanner wired into a recording. Loaded only when scanning (record.ts): clamd,
// the gate, the verdict store and clamscan are ~50 ms of start-up a plain record does not need.
import type { Body, Draft } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import type { TraceOptions } from '../native/index.js'
import type { World } from '../projections/index.js'
import {
  closedForWriting, closeJudge, withNodes, describeJudgmentError, Gate, gateDecider, gateForesight, Judgments, liveSource, openFilterOf,
  type FailurePolicy, type Later, type ReadGuard, type ScannerStats, type SerialAppends,
} from '../scanner/index.js'
import { openScanner, type ClamdOpts } from './scan.js'

const SCANNER_RETRY_MS = 1000
const LENT_MAX = 65_536 // the tracer's bound on loans (admissions.cc kMaxAdmissions)

export type RecordScanner = Awaited<ReturnType<typeof openScanner>>

/** The scanner of a recording: without --signatures/--clamd a private clamd on the system's
 *  signatures. While clamd fails, the breaker denies execs at once for a second before it tries
 *  again, so a hung clamd holds the tracees for one --timeout per second, not one per decision. */
export const openRecordScanner = (o: ClamdOpts): Promise<RecordScanner> =>
  openScanner({ ...o, signatures: o.signatures ?? (o.clamd === undefined ? '/var/lib/clamav' : undefined), timeout: o.timeout ?? '5000' }, SCANNER_RETRY_MS)

/** What the scanner shares with the recording (record.ts owns them). */
export interface RecordingState {
  readonly journal: Journal
  readonly guest: string
  readonly now: () => World
  readonly appends: SerialAppends
  /** every journal write: the drafts counted (scan.verdict), then appended in order */
  readonly append: (drafts: Draft[], lazy?: boolean) => Promise<void>
  readonly counted: (drafts: Draft[]) => Draft[]
  /** keeps live retention from freeing bytes a judgment is reading */
  readonly guard: ReadGuard
  /** commits of verdicts that let a call run, awaited before the end */
  readonly late: Later
}

export interface ScanSettings {
  readonly failure: FailurePolicy
  readonly scanAll: boolean
  readonly backlog: number
  readonly quarantineTo: string
}

export interface ScanningTrace {
  readonly trace: TraceOptions
  readonly judgments: Judgments
  /** the summary's scanner part, given the scan.verdict drafts journaled */
  readonly summary: (verdicts: number) => string
}

// (bench/suite/main.ts reads `N verdict(s) (M by clamd)`)
const packedNote = (s: ScannerStats): string => (s.packs === 0 ? '' : `, ${s.packed} of them in ${s.packs} tar stream(s)${s.unpacked > 0 ? ` (${s.unpacked} rescanned alone)` : ''}`)

const backlogNote = (q: Judgments): string =>
  q.stats.queued === 0 ? '' : `, ${q.stats.queued} close(s) judged in the background (backlog peak ${q.stats.peak}, bound ${q.bound}; tracees waited for room ${q.stats.waited} time(s))`

/** The interceptor's options for a scanned recording: execs and the opens the filter may scan wait
 *  for the gate; files closed after writing are judged in the background. */
export const scanningTrace = (clamd: RecordScanner, r: RecordingState, s: ScanSettings): ScanningTrace => {
  const filter = { scanAll: s.scanAll }
  const openFilter = openFilterOf(filter) // the tracer asks only about opens this filter may scan
  const gate = new Gate({
    scanner: clamd.scanner,
    failure: s.failure,
    filter,
    quarantineTo: s.quarantineTo,
    guest: r.guest,
    source: liveSource({ journal: r.journal, guest: r.guest, world: r.now, visible: () => r.appends.visible() }),
    ...(clamd.store === undefined ? {} : { stamps: clamd.store }),
  })
  const reading = <T>(f: () => Promise<T>) => r.guard.shared(f)
  // what the guest meets as an error, or a file moved away: one line each (the journal has them all)
  const onDecision = (message: string, events: readonly Body[]): void => {
    if (events.some((e) => (e.kind === 'scan.verdict' && e.verdict === 'infected') || e.kind === 'access.denied')) process.stderr.write(`eyrie: ${message}\n`)
  }
  // files closed after writing are judged in the background: the close happened, nothing can be
  // refused; an exec or open of such a file waits for its judgment (settle) first
  const queue = new Judgments({
    judge: closeJudge(gate, r.now, { append: r.append, reading, onDecision }),
    workers: clamd.scanner.connections,
    bound: s.backlog,
    onError: (err, batch) => process.stderr.write(`eyrie: ${describeJudgmentError(err, batch)}\n`),
  })
  let readmitted = 0 // scan.verdict drafts of the interceptor: verdicts the gate lent it, reused
  // what earlier runs found clean, by host stamp: an unchanged library or binary goes through
  // without a question from the start (x264 asked about 136 libraries, ~1 ms each)
  const lent = clamd.store !== undefined && clamd.scanner.persistable ? clamd.store.cleanStamps(clamd.scanner.dbVersion, LENT_MAX) : []
  const trace: TraceOptions = {
    lent,
    decide: gateDecider(gate, { append: r.append, reading, onDecision, later: (p) => r.late.add(p), before: (path) => r.appends.hurry(queue.settle(path)) }),
    foresee: gateForesight(gate),
    decideOpens: true,
    ...(openFilter === null ? {} : { openFilter }),
    onBatch: async (drafts) => {
      for (const d of drafts) if (d.body.kind === 'scan.verdict') readmitted++
      const closed = closedForWriting(r.now(), drafts) // files closed after writing, judged once the batch is in R(now)
      // in R(now) is enough for what comes next (a question about a file: the gate waits for the
      // journal's bytes to be readable if it needs them); the room in the buffer waits for the disk
      const { committed } = await r.appends.pushNow(r.counted(drafts))
      const room = queue.enqueue(withNodes(r.now(), closed))
      // too many wait: the tracees wait for room, and the verdicts that make room go at once
      await (queue.waiting > queue.bound ? r.appends.hurry(room) : room)
      return { durable: committed }
    },
  }
  const summary = (verdicts: number): string => {
    const stats = clamd.scanner.stats
    const earlier = stats.stored // verdicts found in the store (by content hash, or by a stamp's)
    return `, ${verdicts - readmitted} verdict(s) (${stats.clamd} by clamd)${earlier === 0 ? '' : `, ${earlier} known from earlier runs`}${packedNote(stats)}${readmitted === 0 ? '' : `, ${readmitted} more reused by the tracer`}${backlogNote(queue)}`
  }
  return { trace, judgments: queue, summary }
}
