// `eyrie record -- CMD [ARGS...]`: run CMD under the native interceptor and journal what it does;
// with --scan, ClamAV judges execs and opens before they happen (the tracee waits for the verdict).
import { constants } from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import type { Command } from 'commander'
import type { Draft } from '../events/index.js'
import { DEFAULT_CHECKPOINT_EVERY, Ingest } from '../engine/replay.js'
import { Retention } from '../forensic/retention.js'
import { defaultJournalDir } from '../journal/lmdb.js'
import { traceCommand, type TraceOptions } from '../native/index.js'
import { ioUringUsers, type World } from '../projections/index.js'
import {
  closedForWriting, DEFAULT_BOUND, closeJudge, withNodes, describeJudgmentError, Gate, gateDecider, Judgments, Later, liveSource, openFilterOf, parseFailurePolicy, ReadGuard, SerialAppends, type ScannerStats,
} from '../scanner/index.js'
import { openJournal, type GlobalOpts } from './context.js'
import { CliError, UsageError } from './errors.js'
import { openScanner, VERDICT_CACHE_OPTION, type ClamdOpts } from './scan.js'

export interface RecordOpts extends GlobalOpts, ClamdOpts {
  checkpointEvery?: string
  scan?: boolean
  scanAll?: boolean
  onScannerFailure?: string
  scanBacklog?: string
  retention?: string
}

const SCANNER_RETRY_MS = 1000

// (bench/suite/main.ts reads `N verdict(s) (M by clamd)`)
const packedNote = (s: ScannerStats): string => (s.packs === 0 ? '' : `, ${s.packed} of them in ${s.packs} tar stream(s)${s.unpacked > 0 ? ` (${s.unpacked} rescanned alone)` : ''}`)

const backlogNote = (q: Judgments | undefined): string =>
  q === undefined || q.stats.queued === 0 ? '' : `, ${q.stats.queued} close(s) judged in the background (backlog peak ${q.stats.peak}, bound ${q.bound}; tracees waited for room ${q.stats.waited} time(s))`

const newGuestId = (cmd: string) => `${cmd.split('/').pop()?.replace(/[^A-Za-z0-9._-]/g, '_') || 'run'}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${process.pid}`

export const runRecord = async (argv: readonly string[], o: RecordOpts): Promise<number> => {
  if (argv.length === 0) throw new UsageError('record needs a command: eyrie record -- CMD [ARGS...]')
  const scanning = o.scan === true || o.scanAll === true
  const failure = parseFailurePolicy(o.onScannerFailure ?? 'exec=deny,open=allow')
  if (E.isLeft(failure)) throw new UsageError(failure.left)
  if (!scanning && (o.signatures !== undefined || o.clamd !== undefined || o.verdictCache !== undefined)) throw new UsageError('--signatures/--clamd/--verdict-cache go with --scan or --scan-all')
  const retention = o.retention ?? 'forensic'
  if (retention !== 'forensic' && retention !== 'live') throw new UsageError(`--retention is forensic or live, got ${JSON.stringify(retention)}`)
  const backlog = o.scanBacklog === undefined ? DEFAULT_BOUND : Number(o.scanBacklog)
  if (!Number.isInteger(backlog) || backlog < 1) throw new UsageError(`--scan-backlog must be a positive integer, got ${JSON.stringify(o.scanBacklog)}`)
  if (!scanning && o.scanBacklog !== undefined) throw new UsageError('--scan-backlog goes with --scan or --scan-all')
  const guest = o.guest ?? newGuestId(argv[0])
  const j = await openJournal(o, false)
  const started = process.hrtime.bigint()
  let clamd: Awaited<ReturnType<typeof openScanner>> | undefined
  try {
    // a scanner only when asked: without --signatures/--clamd the system's signature directory.
    // While clamd fails, the breaker denies execs at once for a second before it tries again,
    // so a hung clamd holds the tracees for one --timeout per second, not one per decision.
    clamd = scanning ? await openScanner({ ...o, signatures: o.signatures ?? (o.clamd === undefined ? '/var/lib/clamav' : undefined), timeout: o.timeout ?? '5000' }, SCANNER_RETRY_MS) : undefined
  } catch (err) {
    await j.close()
    throw err
  }
  try {
    if ((await j.lastSeq(guest)) > 0) throw new CliError(`guest ${guest} already has events; record into a new guest`)
    await j.setMeta(guest, { source: 'record', command: argv.join(' '), cwd: process.cwd() })
    const ingest = await Ingest.open(j, guest, o.checkpointEvery === undefined ? undefined : Number(o.checkpointEvery))
    const every = o.checkpointEvery === undefined ? DEFAULT_CHECKPOINT_EVERY : Number(o.checkpointEvery)
    // live retention (the paper's GC): after each checkpoint, payload bytes a flush confirmed and
    // nothing reads any more are freed; the tracees wait meanwhile, so the journal stays bounded
    const gc = retention === 'live' ? new Retention(j, guest) : undefined
    let collectedAt = 0
    // every journal write goes through one line: interceptor batches, decisions, background verdicts
    // (Ingest.push is not meant to race a checkpoint or a collection); the guard keeps a collection
    // from freeing bytes a judgment is reading
    const guard = new ReadGuard()
    const appends = new SerialAppends((drafts) => ingest.append(drafts), {
      ...(gc === undefined ? {} : {
        after: async () => {
          if (ingest.now.seq - collectedAt < every) return
          collectedAt = ingest.now.seq
          await guard.exclusive(async () => {
            await ingest.finish()
            await gc.collect()
          })
        },
      }),
    })
    let verdicts = 0 // scan.verdict drafts journaled, the tracer's reused ones included
    const counted = (drafts: Draft[]): Draft[] => {
      for (const d of drafts) if (d.body.kind === 'scan.verdict') verdicts++
      return drafts
    }
    const append = (drafts: Draft[], lazy = false) => appends.push(counted(drafts), lazy)
    let trace: TraceOptions = { onBatch: append } // the tracees wait while a batch commits: nothing is dropped
    let judgments: Judgments | undefined
    const late = new Later() // commits of verdicts that let a call run, awaited before the end
    let readmitted = 0 // scan.verdict drafts of the interceptor: verdicts the gate lent it, reused
    if (clamd !== undefined) {
      const filter = { scanAll: o.scanAll === true }
      const openFilter = openFilterOf(filter) // the tracer asks only about opens this filter may scan
      const gate = new Gate({
        scanner: clamd.scanner,
        failure: failure.right,
        filter,
        quarantineTo: o.journal ?? defaultJournalDir(),
        guest,
        source: liveSource({ journal: j, guest, world: () => ingest.now, visible: () => appends.visible() }),
        ...(clamd.store === undefined ? {} : { stamps: clamd.store }),
      })
      const reading = <T>(f: () => Promise<T>) => guard.shared(f)
      // files closed after writing are judged in the background: the close happened, nothing can be
      // refused; an exec or open of such a file waits for its judgment (settle) first
      const queue = new Judgments({
        judge: closeJudge(gate, () => ingest.now, { append, reading }),
        workers: clamd.scanner.connections,
        bound: backlog,
        onError: (err, batch) => process.stderr.write(`eyrie: ${describeJudgmentError(err, batch)}\n`),
      })
      judgments = queue
      trace = {
        decide: gateDecider(gate, { append, reading, later: (p) => late.add(p), before: (path) => appends.hurry(queue.settle(path)) }),
        decideOpens: true,
        ...(openFilter === null ? {} : { openFilter }),
        onBatch: async (drafts) => {
          for (const d of drafts) if (d.body.kind === 'scan.verdict') readmitted++
          const closed = closedForWriting(ingest.now, drafts) // files closed after writing, judged once the batch is in R(now)
          // in R(now) is enough for what comes next (a question about a file: the gate waits for the
          // journal's bytes to be readable if it needs them); the room in the buffer waits for the disk
          const { committed } = await appends.pushNow(counted(drafts))
          const room = queue.enqueue(withNodes(ingest.now, closed))
          // too many wait: the tracees wait for room, and the verdicts that make room go at once
          await (queue.waiting > queue.bound ? appends.hurry(room) : room)
          return { durable: committed }
        },
      }
    }
    let result: Awaited<ReturnType<typeof traceCommand>>
    try {
      result = await traceCommand([...argv], trace)
    } finally {
      if (judgments !== undefined) await appends.hurry(judgments.drain()) // every verdict journaled before the end (never rejects)
      await appends.flush() // nothing left uncommitted
      await late.settled()
    }
    await ingest.finish()
    if (late.failure !== undefined) throw late.failure.error // a verdict's commit failed
    if (result.message !== null) process.stderr.write(`eyrie: ${result.message}\n`)
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    const earlier = clamd?.scanner.stats.stored ?? 0 // verdicts found in the store (by content hash, or by a stamp's)
    const scanned = clamd === undefined ? '' : `, ${verdicts - readmitted} verdict(s) (${clamd.scanner.stats.clamd} by clamd)${earlier === 0 ? '' : `, ${earlier} known from earlier runs`}${packedNote(clamd.scanner.stats)}${readmitted === 0 ? '' : `, ${readmitted} more reused by the tracer`}${backlogNote(judgments)}`
    process.stderr.write(`eyrie: guest ${guest}: ${ingest.now.seq} events, ${result.bytes} bytes written${scanned}, ${secs.toFixed(2)} s\n`)
    warnIoUring(ingest.now)
    const failed = judgments?.errors.length ?? 0
    if (failed > 0) process.stderr.write(`eyrie: ${failed} background judgment(s) of closed files failed (a bug, see above): their verdicts are missing\n`)
    if (result.signal !== null) return 128 + signalNumber(result.signal)
    // the command's own failure first; otherwise the run failed
    return result.status === null ? 1 : result.status === 0 && failed > 0 ? 1 : result.status
  } finally {
    await clamd?.stop()
    await j.close()
  }
}

/** The one line `record` and `attach` end with when a process used io_uring (null: none did). */
export const ioUringWarning = (w: World): string | null => {
  const pids = [...new Set(ioUringUsers(w).map((u) => u.pid))]
  if (pids.length === 0) return null
  const who = pids.length === 1 ? `process ${pids[0]} used io_uring: file operations it` : `processes ${pids.join(', ')} used io_uring: file operations they`
  return `warning: ${who} submitted through a ring are not in the journal, so the recorded file state is incomplete (eyrie log --kind proc.ioUring)`
}

export const warnIoUring = (w: World): void => {
  const line = ioUringWarning(w)
  if (line !== null) process.stderr.write(`eyrie: ${line}\n`)
}

const signalNumber = (name: string): number => {
  const table: Readonly<Record<string, number>> = constants.signals
  return table[name] ?? 0
}

export const registerRecord = (p: Command, g: () => GlobalOpts): void => {
  p.command('record')
    .description('run CMD under the native interceptor and journal every state-changing file call of its process tree')
    .argument('<cmd...>', 'the command and its arguments (put -- before it)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .option('--scan', 'ClamAV judges each exec and each open of a file that passes the filter before it happens; infected -> EACCES + quarantine')
    .option('--scan-all', 'like --scan, without the extension/magic filter')
    .option('--signatures <dir>', 'ClamAV databases for a private clamd (default /var/lib/clamav)')
    .option('--clamd <socket|host:port>', 'use this clamd instead of a private one')
    .option(...VERDICT_CACHE_OPTION)
    .option('--on-scanner-failure <policy>', 'deny | allow | exec=deny,open=allow (the default)')
    .option('--timeout <ms>', 'longest wait for one verdict (default 5000)')
    .option('--scan-backlog <n>', `files closed after writing that may wait for their verdict before the tracees wait too (default ${DEFAULT_BOUND})`)
    .option('--retention <mode>', 'forensic (default): keep every version; live: free written bytes once a flush confirms them and nothing reads them')
    .action(async (cmd: string[], o: Omit<RecordOpts, keyof GlobalOpts>) => {
      process.exitCode = await runRecord(cmd, { ...g(), ...o })
    })
}
