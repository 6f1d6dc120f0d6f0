// eyrie's native interceptor: run a command, or attach to a process tree, under ptrace and receive
// Drafts for every state-changing file system call of every task, with the bytes written.
//
// record (traceCommand): the command runs under a seccomp-bpf filter that stops it only at the
// calls that change file state (src/native/filter.cc); everything else runs at full speed.
// attach (attachPid): a filter cannot be added to a running process from outside, so the tracer
// stops at every system call and picks the ones that matter: attach is markedly slower.
import { constants } from 'node:os'
import type * as t from 'io-ts'
import { nameFromBytes, type Draft, type Positions } from '../events/index.js'
import { addon, decodeMessage, decodeStats, DecideMessage, DoneMessage, SnapshotMessage, SyncedMessage, type NativeConfig, type NativeSession, type StopStats } from './binding.js'
import { decodeBatch } from './decode.js'
import { TraceError } from './errors.js'
import { takeSnapshot } from './snapshot.js'

export { TraceError } from './errors.js'
export type { StopStats } from './binding.js'
export { takeSnapshot, type SnapshotOptions } from './snapshot.js'

/** A decision: an errno (0 lets the call run, EACCES = 13 makes it fail with that error instead), or
 *  a clean verdict the tracer may reuse: the call runs, and later execs (`exec: true`; not for a `#!`
 *  script, whose interpreter is judged too) or opens of the same unchanged file are let through by
 *  the tracer itself for `admitMs`, each journaled as scan.verdict (clean, this sha256, trigger of
 *  the call). Unchanged: same stat as before the question, no traced task opened it for writing since
 *  or holds it writable or maps it shared (src/native/admissions.cc). */
export type Decided =
  | number
  | { readonly errno: 0; readonly clean: CleanVerdict }
  /** a denial whose access.denied the decider journaled itself (committed before it answered): the
   *  tracer does not journal a second one */
  | { readonly errno: number; readonly journaled: true }

/** A clean verdict to lend. An exec's loan holds only while the ELF interpreter the program names
 *  (PT_INTERP: the kernel loads it with the program, by no call) is unchanged as well: `interpreter`
 *  is the one judged clean with it, by the name the host reaches it as the exec'ing task names it
 *  (relative: /proc/TID/cwd/NAME); without it the tracer asks about each exec of such a program. */
export interface CleanVerdict {
  readonly sha256: string
  readonly exec: boolean
  readonly interpreter?: { readonly path: string; readonly sha256: string }
}

/** A clean verdict from before the run, for the file whose host stamp is `stamp` (TraceOptions.lent). */
export interface LentVerdict {
  readonly stamp: string
  readonly sha256: string
  /** also for execs (false for a `#!` script, whose interpreter is judged too) */
  readonly exec: boolean
}

/** A call waiting for a verdict: execve/execveat always (when `decide` is given), opens with
 *  `decideOpens`. path is canonical; flags are the call's (O_* for opens, AT_* for execveat). */
export interface DecisionRequest {
  readonly pid: number
  readonly tid: number
  readonly call: string
  readonly path: string
  readonly flags: number
}

/** What onBatch may resolve with: the batch is in order; it is durable when `durable` resolves. */
export interface BatchInOrder {
  readonly durable: Promise<void>
}

export interface TraceOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** Receives every Draft, in order, in batches; the next batch (or question) waits for the returned
   *  promise. It may resolve with `{ durable }` once the batch is in order (in R(now), readable) but
   *  not yet on disk: the next message then goes at once, and the batch's room in the buffer comes
   *  back when `durable` resolves (a rejection fails the trace, as a rejected onBatch does). */
  onBatch(drafts: Draft[]): Promise<void | BatchInOrder> | void
  /** Bytes of encoded events in flight to onBatch before the tracees wait (default 128 MiB). One
   *  record larger than this (a large write) still goes, alone. */
  readonly bufferBytes?: number
  /** The longest the open batch waits before it goes to onBatch, ms (default 50; a question, the end
   *  and 4 MiB in it, or half the buffer if less, send it at once). Each batch costs the consumer
   *  ~1 ms of CPU (decode, fold, commit, sync); a consumer that must keep up closely (live retention
   *  collects between batches) takes a shorter one. */
  readonly batchMs?: number
  /** 0 lets the call run; an errno (EACCES = 13) makes it fail with that error instead. The tracee
   *  waits for the answer; earlier batches were handed to onBatch (and settled: in order) before the question. */
  readonly decide?: (req: DecisionRequest) => Promise<Decided>
  /** Told of a question as soon as the tracer asks it, ahead of the batch handed to onBatch before
   *  `decide` is called: work that needs no batch (reading and scanning a file the host holds) may
   *  start meanwhile. A hint only (`decide` still decides), given when batches are ahead of the
   *  question (not yet durable, or not yet sent). Must not throw. */
  readonly foresee?: (req: DecisionRequest) => void
  /** How long a clean verdict lent by `decide` holds, ms (default 60,000; 0 lends none). */
  readonly admitMs?: number
  /** Clean verdicts lent before the run (an earlier run's, remembered by the scanner): an exec or
   *  open of a file whose stat is `stamp` ("dev:ino:size:mtimeNs:ctimeNs", as live.ts writes host
   *  stamps) goes through without a question, as under a loan `decide` made at the start, and is
   *  journaled as scan.verdict (clean, `sha256`); an exec of an ELF program only while its interpreter
   *  is lent too (by its own stamp). */
  readonly lent?: readonly LentVerdict[]
  readonly decideOpens?: boolean
  /** With decideOpens: the opens worth a question, so a program that reads many files (a compiler's
   *  headers) is not held at each. The tracer asks about an open of a name whose extension is in
   *  `extensions` (lower case, as the scanner's extensionOf reads it; or a name that is not plain
   *  ASCII), or of a regular file whose first bytes are one of `magic`, or one it cannot read to
   *  tell. Absent: every open that can read. The decider has the last word on what it is asked. */
  readonly openFilter?: { readonly extensions: Iterable<string>; readonly magic: ReadonlyArray<ArrayLike<number>> }
  /** record: fds of this process to give the command as 0, 1, 2 (default: this process's own). */
  readonly stdio?: { readonly stdin?: number; readonly stdout?: number; readonly stderr?: number }
  /** fd.read/fd.seek for every regular-file descriptor ('all', the default), or only for writable
   *  ones ('writable': a read-only description's position never decides where bytes land, and
   *  skipping it halves the stops of a read-heavy program). */
  readonly readPositions?: 'all' | 'writable'
  /** record: how written bytes reach the journal. 'read-back' (the default): writes do not stop the
   *  program; each written file is read back at the moments its content can be observed (file.sync;
   *  see docs/architecture.md). 'stop': every write stops and is a file.write with its bytes, and
   *  reads and seeks stop for positions (per-write history, two stops per call). Attach always stops. */
  readonly writes?: 'read-back' | 'stop'
  /** 'read-back': a written file up to this size is read at every traced call of its writer, so the
   *  state at any of them holds all it wrote before (program order); a larger one only at the calls
   *  that can show it (default 1 MiB: reading a big file whole at each call costs its size per call).
   *  Tests set it low to put the rules for large files under small random workloads. */
  readonly programOrderBytes?: number
  /** Check every decoded body with its io-ts codec (debugging; costs time per event). */
  readonly validate?: boolean
}

export interface TraceResult {
  /** Exit status of the command (record) or of the root process (attach, when it exited while
   *  traced); null when it was killed by a signal or is still running (after detach). */
  readonly status: number | null
  readonly signal: string | null
  /** Drafts handed to onBatch, the snapshot included, and the payload bytes they carried. */
  readonly events: number
  readonly bytes: number
  /** Why the command did not start, like a shell says it (status 127 or 126); otherwise null. */
  readonly message: string | null
  /** What the stops cost: per call and event, stops and the tracer's time on them */
  readonly stats: StopStats
}

// Room for the disk's latency: a batch's room comes back once it is durable (segment written and
// synced, LMDB committed and synced), and with 16 MiB a 7z extraction writing 77 MB/s waited ~0.2 s
// of its 2.2 s for it (8 waits); with 64 MiB, none, until its corpus got a 90 MB file: read back
// whole at its close, a burst larger than the room, it waited 25-110 ms a run (of 120-200 ms that
// close cost the tracer), with 128 MiB never (75-105 ms). The recorder's peak RSS grows with what
// is in flight, not with the room (200-230 MiB on that run either way, batches of 4 MiB:
// channel.h): the batches in flight are held until durable.
const DEFAULT_BUFFER = 128 * 1024 * 1024

// why 50 and not fewer: the cost of a batch, measured, is with the slice in src/native/channel.h
const DEFAULT_BATCH_MS = 50

const SHA256 = /^[0-9a-f]{64}$/
const loanable = (c: CleanVerdict): boolean =>
  SHA256.test(c.sha256) && (c.interpreter === undefined || (c.exec && SHA256.test(c.interpreter.sha256) && c.interpreter.path.startsWith('/')))

// the tracer's form (src/native/admissions.cc): "<sha256> exec|open[ <sha256> <interpreter>]"
const noteOf = (c: CleanVerdict): string =>
  `${c.sha256} ${c.exec ? 'exec' : 'open'}${c.interpreter === undefined ? '' : ` ${c.interpreter.sha256} ${c.interpreter.path}`}`

/** The question a decide (or foresee) message asks, its name made a string by the one rule. */
const requestOf = ({ id: _id, path, ...request }: t.TypeOf<typeof DecideMessage>): DecisionRequest => ({ ...request, path: nameFromBytes(path) })

const signalName = (n: number): string | null => {
  if (n === 0) return null
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name
  return `SIG${n}`
}

const envList = (env: NodeJS.ProcessEnv): string[] =>
  Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]))

/** A trace under way. */
export interface Tracing {
  readonly done: Promise<TraceResult>
  /** Reads out what every shared writable file view holds now (the processes holding them are
   *  stopped meanwhile): resolves once the view.sync records (only pages that changed) have been
   *  handed to onBatch and settled, so content(path, now) is what the processes see. */
  syncViews(): Promise<void>
}

/** A recorded command's trace. */
export interface Recording extends Tracing {
  /** Sends a signal to the command (the root process) while it runs; nothing before it started or
   *  after it exited. A recorder passes on what it is told to stop with (SIGTERM, SIGHUP), so the
   *  command ends its own way and every event is journaled. */
  signal(sig: NodeJS.Signals): void
}

interface Running extends Tracing {
  readonly session: NativeSession
  /** the root process once the snapshot names it (record), while the trace runs */
  readonly root: () => number | undefined
}

/** Which positions the events will keep exact (the snapshot tells the fold; events/snapshot.ts). */
const positionsKept = (config: NativeConfig, record: boolean): Positions | undefined =>
  record && config.writes === 'read-back' ? 'none' : config.readPositions === 'writable' ? 'writable' : undefined

const start = (config: NativeConfig, opts: TraceOptions): Running => {
  const { Session } = addon()
  const validate = opts.validate ?? false
  let events = 0
  let bytes = 0
  let failure: { error: unknown } | undefined
  let settle: { resolve: (r: TraceResult) => void; reject: (e: unknown) => void } | undefined
  const done = new Promise<TraceResult>((resolve, reject) => {
    settle = { resolve, reject }
  })
  // Messages are handled strictly in order: a batch's onBatch settles (in order; maybe not yet
  // durable, see BatchInOrder) before the next message.
  let chain: Promise<void> = Promise.resolve()
  // batches in order but not yet durable (onBatch resolved with { durable })
  const durables = new Set<Promise<void>>()
  // syncViews() callers, by generation: a 'synced' message settles every one up to its generation
  let generation = 0
  let ended = false
  let root: number | undefined // the recorded command, from the snapshot to its proc.exit
  const syncs: { generation: number; resolve(): void; reject(e: unknown): void }[] = []
  const settleSyncs = (upTo: number, error?: unknown): void => {
    while (syncs.length > 0 && syncs[0].generation <= upTo) {
      const s = syncs.shift()
      if (error === undefined) s?.resolve()
      else s?.reject(error)
    }
  }
  const fail = (error: unknown): void => {
    if (failure !== undefined) return
    failure = { error }
    // a failing consumer must not leave the tree running unobserved (record) or stopped (attach)
    session.stop(config.mode === 'record' ? 'kill' : 'detach')
  }
  const deliver = async (drafts: Draft[]): Promise<void | BatchInOrder> => {
    if (failure !== undefined) return
    events += drafts.length
    for (const d of drafts) {
      bytes += d.data?.length ?? 0
      // gone: its pid may be reused (pids are handed out in order, so not within a batch's delay)
      if (d.body.kind === 'proc.exit' && !d.body.thread && d.pid === root) root = undefined
    }
    return opts.onBatch(drafts)
  }
  const handle = async (type: string, payload: unknown): Promise<void> => {
    switch (type) {
      case 'batch': {
        if (!Buffer.isBuffer(payload)) throw new Error('bug: native batch is not a Buffer')
        let later: Promise<void> | undefined
        try {
          const r = await deliver(decodeBatch(payload, validate))
          later = r === undefined ? undefined : r.durable
        } finally {
          // the room comes back once the batch is durable: the tracees never run more than the
          // buffer ahead of the disk
          const ack = () => session.ack(payload.length)
          if (later === undefined) ack()
          else {
            const durable = later
            durables.add(durable)
            void durable.catch(fail).finally(() => {
              durables.delete(durable)
              ack()
            })
          }
        }
        return
      }
      case 'decide': {
        const req = decodeMessage(DecideMessage, 'decide', payload)
        let verdict = 0
        let note = ''
        try {
          if (failure === undefined && opts.decide !== undefined) {
            const d = await opts.decide(requestOf(req))
            if (typeof d === 'number') verdict = d
            else if ('journaled' in d && d.journaled === true && d.errno > 0) [verdict, note] = [d.errno, 'journaled']
            else if ('clean' in d && d.errno === 0 && loanable(d.clean)) note = noteOf(d.clean)
            else throw new TypeError(`decide() must return an errno, {errno: 0, clean: {sha256, exec, interpreter?}} or {errno, journaled: true}, got ${JSON.stringify(d)}`)
            if (!Number.isInteger(verdict) || verdict < 0 || verdict > 4095) {
              throw new TypeError(`decide() must return 0 or an errno, got ${String(verdict)}`)
            }
          }
        } finally {
          session.answer(req.id, verdict, note)
        }
        return
      }
      case 'snapshot': {
        const req = decodeMessage(SnapshotMessage, 'snapshot', payload)
        if (req.record) root = req.pids[0]
        try {
          if (failure === undefined) {
            const snap = takeSnapshot(req.pids, {
              ...(req.record ? { fds: [0, 1, 2], maps: false } : { fds: 'all', maps: true }),
              positions: positionsKept(config, req.record),
            })
            await deliver([snap])
          }
        } finally {
          session.answer(req.id, 0)
        }
        return
      }
      case 'synced': {
        const m = decodeMessage(SyncedMessage, 'synced', payload)
        // every record sent before this message has been delivered: the chain is in order
        settleSyncs(m.generation)
        session.answer(m.id, 0)
        return
      }
      case 'done': {
        const d = decodeMessage(DoneMessage, 'done', payload)
        await Promise.allSettled([...durables]) // done means every batch is durable (or the trace failed)
        ended = true
        settleSyncs(Infinity, new TraceError('EDONE', 'the trace ended before the views were read out'))
        if (failure !== undefined) settle?.reject(failure.error)
        else if (d.errorCode !== null) settle?.reject(new TraceError(d.errorCode, d.message ?? d.errorCode))
        else settle?.resolve({ status: d.status, signal: signalName(d.signal), events, bytes, message: d.message, stats: decodeStats(d.stats) })
        return
      }
      default:
        throw new Error(`bug: unknown native message ${type}`)
    }
  }
  const foresee = (payload: unknown): void => {
    if (failure !== undefined || opts.foresee === undefined) return
    opts.foresee(requestOf(decodeMessage(DecideMessage, 'foresee', payload)))
  }
  const session = new Session(config, (type, payload) => {
    // a question on its way is told of at once, not behind the batch ahead of it: that is its point
    if (type === 'foresee') {
      try {
        foresee(payload)
      } catch (err) {
        fail(err)
      }
      return
    }
    chain = chain.then(() => handle(type, payload)).catch(fail)
  })
  const syncViews = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (ended) return reject(new TraceError('EDONE', 'the trace has ended: no views are live'))
      syncs.push({ generation: ++generation, resolve, reject })
      session.sync(generation)
    })
  return { done, session, syncViews, root: () => root }
}

const common = (opts: TraceOptions) => ({
  bufferBytes: opts.bufferBytes ?? DEFAULT_BUFFER,
  batchMs: opts.batchMs ?? DEFAULT_BATCH_MS,
  decideExec: opts.decide !== undefined,
  decideOpens: opts.decide !== undefined && opts.decideOpens === true,
  admitMs: opts.decide === undefined ? 0 : opts.admitMs ?? 60_000,
  ...(opts.decide === undefined || opts.lent === undefined ? {} : { lent: opts.lent.flatMap((l) => [l.stamp, noteOf(l)]) }),
  ...(opts.openFilter === undefined ? {} : {
    openFilter: {
      extensions: [...opts.openFilter.extensions],
      magic: opts.openFilter.magic.map((m) => Buffer.from(Array.from(m)).toString('hex')),
    },
  }),
  readPositions: opts.readPositions ?? 'all',
  writes: opts.writes ?? 'read-back',
  ...(opts.programOrderBytes === undefined ? {} : { programOrderBytes: opts.programOrderBytes }),
})

/** Runs argv under the tracer. Resolves with the command's exit status once every process of the
 *  tree is gone and onBatch settled for every batch. The first Draft is a snapshot of the starting
 *  process (fds 0-2, cwd). A command that cannot be found resolves with status 127 and a message. */
/** The name the host reads the file by that task `tid`, stopped, reaches by `name` from its working
 *  directory, as the kernel walks it for that task (its /proc/self, its fds, symlinks into them): the
 *  canonical name while it leads to the same file, else a walk through /proc/TID (a memfd). For what
 *  the kernel loads without a call: an exec's `#!` interpreter (a name of bytes, read as latin1), an
 *  ELF program's. */
export const nameForTask = (tid: number, name: string): string => nameFromBytes(addon().nameForTask(tid, Buffer.from(name, 'latin1')))

export const traceCommand = (argv: readonly string[], opts: TraceOptions): Promise<TraceResult> => recordCommand(argv, opts).done

/** traceCommand, with a handle on the trace while it runs (syncViews). */
export const recordCommand = (argv: readonly string[], opts: TraceOptions): Recording => {
  const failed = (err: unknown): Recording => ({ done: Promise.reject(err), syncViews: () => Promise.reject(err), signal: () => undefined })
  if (argv.length === 0) return failed(new TypeError('traceCommand: argv is empty'))
  const s = opts.stdio ?? {}
  try {
    const { done, syncViews, root } = start(
      {
        mode: 'record',
        argv,
        cwd: opts.cwd ?? process.cwd(),
        env: envList(opts.env ?? process.env),
        stdio: [s.stdin ?? -1, s.stdout ?? -1, s.stderr ?? -1],
        ...common(opts),
      },
      opts,
    )
    const signal = (sig: NodeJS.Signals): void => {
      const pid = root()
      if (pid === undefined) return
      try {
        process.kill(pid, sig)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err // gone meanwhile: nothing to tell
      }
    }
    return { done, syncViews, signal }
  } catch (err) {
    return failed(err)
  }
}

/** Attaches to pid and its descendants (every thread). The first Draft is the snapshot of the whole
 *  tree, taken while every task is stopped. detach() lets go of every task (none is left stopped);
 *  done resolves after that or when the tree has exited. Errors (TraceError.code): ESRCH no such
 *  process, EPERM not permitted or already traced. cwd/env/stdio do not apply. */
export const attachPid = (pid: number, opts: TraceOptions): Tracing & { detach(): void } => {
  try {
    const { done, session, syncViews } = start({ mode: 'attach', pid, ...common(opts) }, opts)
    return { done, syncViews, detach: () => session.stop('detach') }
  } catch (err) {
    return { done: Promise.reject(err), syncViews: () => Promise.reject(err), detach: () => undefined }
  }
}
