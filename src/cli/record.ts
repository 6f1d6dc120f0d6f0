// `eyrie record -- CMD [ARGS...]`: run CMD under the native interceptor and journal what it does;
// with --scan, ClamAV judges execs and opens before they happen (the tracee waits for the verdict;
// recordScan.ts, loaded only then).
import { constants } from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import type { Draft } from '../events/index.js'
import { DEFAULT_CHECKPOINT_EVERY, Ingest } from '../engine/replay.js'
import { Retention } from '../forensic/retention.js'
import { defaultJournalDir } from '../journal/lmdb.js'
import { recordCommand, type TraceOptions, type TraceResult } from '../native/index.js'
import { ioUringUsers, type World } from '../projections/index.js'
import { DEFAULT_BOUND, Later, ReadGuard, SerialAppends } from '../scanner/judgments.js'
import { parseFailurePolicy } from '../scanner/policy.js'
import { openJournal, type GlobalOpts } from './context.js'
import { CliError, UsageError } from './errors.js'
import { printStopStats, recorderCpuSince } from './stopStats.js'
import type { ClamdOpts } from './scan.js'
import type { RecordScanner, ScanningTrace } from './recordScan.js'

export interface RecordOpts extends GlobalOpts, ClamdOpts {
  checkpointEvery?: string
  scan?: boolean
  scanAll?: boolean
  onScannerFailure?: string
  scanBacklog?: string
  retention?: string
  stats?: boolean
}

/** How long a batch gathers under live retention (the default, 50 ms, saves CPU; src/native/index.ts). */
const LIVE_BATCH_MS = 5

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
  const scanner = scanning ? await import('./recordScan.js') : undefined
  const j = await openJournal(o, false)
  const started = process.hrtime.bigint()
  let clamd: RecordScanner | undefined
  try {
    clamd = await scanner?.openRecordScanner(o)
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
    // a batch in R(now) is enough for the next message (the snapshot's answer, the next batch): its
    // room in the buffer comes back once it is durable, so the tracees wait for the disk, if at all,
    // only once the whole buffer is in flight; nothing is dropped. Live retention keeps the journal
    // bounded by collecting between batches: each waits for its commit and the collection after it,
    // and batches are sealed every 5 ms (not 50), so that a collection comes every few versions.
    let trace: TraceOptions = {
      onBatch: gc === undefined ? async (drafts) => ({ durable: (await appends.pushNow(counted(drafts))).committed }) : append,
    }
    const late = new Later() // commits of verdicts that let a call run, awaited before the end
    let scan: ScanningTrace | undefined
    if (scanner !== undefined && clamd !== undefined) {
      scan = scanner.scanningTrace(clamd, { journal: j, guest, now: () => ingest.now, appends, append, counted, guard, late }, {
        failure: failure.right, scanAll: o.scanAll === true, backlog, quarantineTo: o.journal ?? defaultJournalDir(),
      })
      trace = scan.trace
    }
    if (gc !== undefined) trace = { ...trace, batchMs: LIVE_BATCH_MS }
    const judgments = scan?.judgments
    let result: TraceResult
    const cpu = process.cpuUsage()
    const tracing = recordCommand([...argv], trace)
    // as strace does with a command: ^C and ^\ from the terminal reach the command (its process
    // group) and end it its own way while the recording goes on; SIGTERM and SIGHUP sent to eyrie are
    // passed on to it. Either way eyrie ends when the command does, with every event journaled
    // (dying at once, it killed the command: PTRACE_O_EXITKILL)
    const ignore = (): void => {}
    const passOn = (sig: NodeJS.Signals): void => tracing.signal(sig)
    const handlers = [['SIGINT', ignore], ['SIGQUIT', ignore], ['SIGTERM', passOn], ['SIGHUP', passOn]] as const
    for (const [sig, h] of handlers) process.on(sig, h)
    try {
      result = await tracing.done
    } finally {
      for (const [sig, h] of handlers) process.off(sig, h)
      if (judgments !== undefined) await appends.hurry(judgments.drain()) // every verdict journaled before the end (never rejects)
      await appends.flush() // nothing left uncommitted
      await late.settled()
    }
    await ingest.finish()
    if (late.failure !== undefined) throw late.failure.error // a verdict's commit failed
    // live retention ends as it went: what was written since the last collection is freed too, under
    // a checkpoint at the end, so the journal keeps R(end) and not the last interval's versions
    if (gc !== undefined) await guard.exclusive(() => gc.collect({ upTo: ingest.now.seq, checkpoint: true }))
    if (result.message !== null) process.stderr.write(`eyrie: ${result.message}\n`)
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    const scanned = scan?.summary(verdicts) ?? ''
    process.stderr.write(`eyrie: guest ${guest}: ${ingest.now.seq} events, ${result.bytes} bytes written${scanned}, ${secs.toFixed(2)} s\n`)
    warnIoUring(ingest.now)
    if (o.stats === true) printStopStats(result.stats, o.json === true, recorderCpuSince(cpu))
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
