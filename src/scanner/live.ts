// Plugging the gate into live recording. Content comes from R(now): the bytes the journal knows
// (writes not yet flushed, synced views, pre-images) and, for the ranges it never saw (a program that
// existed before recording began), the file on the host. The decider has the interceptor's
// `decide(req)` shape: it journals the gate's events (a denial's committed before the tracee learns
// of it) and lends clean verdicts to the tracer.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs'
import { open } from 'node:fs/promises'
import { nameToBytes, O_ACCMODE, O_WRONLY, type Body, type Draft } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import { contentPlan, lookup, type World } from '../projections/index.js'
import { materialize } from '../engine/content.js'
import { nameForTask, type Decided, type DecisionRequest } from '../native/index.js'
import type { ContentRef, ContentSource, Gate } from './gate.js'

interface DiskStat {
  readonly size: number
  readonly stamp: string
  /** device:inode, which file it is */
  readonly file: string
}

/** Which file it is: device:inode. */
const fileOf = (st: BigIntStats): string => `${st.dev}:${st.ino}`

/** What identifies a host file's content without reading it: changed by any write (size, mtime),
 *  any rename or chmod (ctime), and any replacement (device, inode). */
const stampOf = (st: BigIntStats): string => `${fileOf(st)}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`

// statSync, not the promise: a local stat is a few microseconds, a trip through libuv's thread pool
// is tens to hundreds under load, and this stat is the whole cost of re-admitting an unchanged binary
const diskStat = (path: string): DiskStat | null => {
  try {
    const st = statSync(nameToBytes(path), { bigint: true })
    if (!st.isFile()) return null
    return { size: Number(st.size), stamp: stampOf(st), file: fileOf(st) }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null
    throw err
  }
}

/** Up to this many bytes are read from the host synchronously: a tracee waits for them, and each
 *  trip through libuv's thread pool (open, read, close) costs it tens to hundreds of microseconds
 *  here, more than reading a small file from the page cache. */
const SYNC_READ_BYTES = 1 << 20

/** Opened without blocking (the name may have become a FIFO or a device since it was looked at: a
 *  blocking open would stop the thread that answers every tracee) and refused unless it is still the
 *  file that was looked at (bytes of another file would be judged under the first one's stamp). Changed
 *  in place since (appended by a process outside the recording) is read as it is now, as before: a
 *  stamp names one content only while its ctime stands, so the memo cannot meet it again. */
const HOST_OPEN = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

const sameFile = (path: string, file: string, st: BigIntStats): void => {
  if (!st.isFile()) throw new Error(`${path} is no longer a regular file`)
  const now = fileOf(st)
  if (now !== file) throw new Error(`${path} was replaced between its look and its read (device:inode ${file}, now ${now})`)
}

/** Reads [start, end) ranges of the host file looked at (`file`: device:inode) into `into` (zeros past its end
 *  stay zeros); returns the bytes read. */
const fillFromDisk = async (path: string, file: string, into: Buffer, ranges: ReadonlyArray<{ start: number; end: number }>): Promise<number> => {
  if (ranges.length === 0) return 0
  let got = 0
  if (ranges.reduce((n, r) => n + r.end - r.start, 0) <= SYNC_READ_BYTES) {
    const fd = openSync(nameToBytes(path), HOST_OPEN)
    try {
      sameFile(path, file, fstatSync(fd, { bigint: true }))
      for (const r of ranges) {
        for (let pos = r.start, n = 1; pos < r.end && n > 0; pos += n, got += n) n = readSync(fd, into, pos, r.end - pos, pos)
      }
    } finally {
      closeSync(fd)
    }
    return got
  }
  const fh = await open(nameToBytes(path), HOST_OPEN)
  try {
    sameFile(path, file, await fh.stat({ bigint: true }))
    for (const r of ranges) {
      for (let pos = r.start, n = 1; pos < r.end && n > 0; pos += n, got += n) n = (await fh.read(into, pos, r.end - pos, pos)).bytesRead
    }
  } finally {
    await fh.close()
  }
  return got
}

const readHead = async (path: string, file: string, n: number): Promise<Uint8Array> => {
  const buf = Buffer.alloc(n)
  return buf.subarray(0, await fillFromDisk(path, file, buf, [{ start: 0, end: n }]))
}

export interface LiveSourceOptions {
  readonly journal: Journal
  readonly guest: string
  /** R(now); Ingest's `now` */
  readonly world: () => World
  /** Settles once what R(now) holds is readable in the journal (SerialAppends.visible); absent: it
   *  always is (each batch committed before the next is folded) */
  readonly visible?: () => Promise<void>
}

/** content(path, now): journal bytes where known, host bytes elsewhere. The stamp changes with any
 *  journaled write (last write seq, size, extent count) and any change on the host (inode, size,
 *  mtime, ctime), so an unchanged binary is judged again from memory alone. */
export const liveSource = (o: LiveSourceOptions): ContentSource => async (path: string): Promise<ContentRef | null> => {
  const w = o.world()
  const node = lookup(w, path)
  const disk = diskStat(path)
  if (node === undefined || node.type !== 'file') {
    if (disk === null) return null
    return {
      stamp: `host|${disk.stamp}`,
      hostStamp: disk.stamp,
      size: disk.size,
      head: (n) => readHead(path, disk.file, n),
      read: async () => {
        const buf = Buffer.alloc(disk.size)
        await fillFromDisk(path, disk.file, buf, [{ start: 0, end: disk.size }])
        return buf
      },
    }
  }
  const plan = contentPlan(w, path)
  if (!plan.ok) return null
  const known = `${node.id}:${node.lastWrite?.seq ?? 0}:${node.content.size ?? '?'}:${node.content.extents.length}`
  // the size eyrie knows wins; unknown size (a file that predates the recording): the host's
  const size = plan.size ?? Math.max(disk?.size ?? 0, plan.pieces.length === 0 ? 0 : plan.pieces[plan.pieces.length - 1].end)
  const pieces = plan.size === null && size > (plan.pieces.at(-1)?.end ?? 0)
    ? [...plan.pieces, { start: plan.pieces.at(-1)?.end ?? 0, end: size, unknown: true as const }]
    : plan.pieces
  const bytesOf = async (upTo: number): Promise<Buffer> => {
    // the first upTo bytes only: pieces that start before it, cut there
    const wanted = upTo >= size ? pieces : pieces.filter((p) => p.start < upTo).map((p) => ({ ...p, end: Math.min(p.end, upTo) }))
    // bytes of the journal: the batches folded into R(now) may not be readable yet
    if (o.visible !== undefined && wanted.some((p) => !('unknown' in p))) await o.visible()
    const { bytes, unknown } = await materialize(o.journal, o.guest, wanted)
    if (unknown.length > 0) {
      if (disk === null) throw new Error(`${unknown.length} range(s) of ${path} were never seen and the file is gone from the host`)
      await fillFromDisk(path, disk.file, bytes, unknown)
    }
    return bytes
  }
  // nothing of it written in this run: every byte comes from the host file as it is
  const asOnHost = disk !== null && node.lastWrite === undefined && node.content.extents.length === 0 && size === disk.size
  return {
    stamp: `journal|${known}|${disk?.stamp ?? 'absent'}`,
    ...(asOnHost ? { hostStamp: disk.stamp } : {}),
    size,
    head: (n) => bytesOf(n),
    read: () => bytesOf(size),
  }
}

/** What the interceptor asks. */
export type GateRequest = DecisionRequest

export interface DeciderOptions {
  /** journals the decision's events and resolves once they are committed (Ingest.push) */
  readonly append: (drafts: Draft[]) => Promise<void>
  /** event timestamps, ns; default the wall clock */
  readonly clock?: () => bigint
  /** told every decision that produced events (a log line, a counter) */
  readonly onDecision?: (message: string, events: readonly Body[]) => void
}

export interface GateDeciderOptions extends Omit<DeciderOptions, 'append'> {
  /** journals the decision's events; resolves once they are committed. `lazy`: they may wait for
   *  the next commit (SerialAppends) */
  readonly append: (drafts: Draft[], lazy?: boolean) => Promise<void>
  /** When given, the events of a decision that lets the call run are not waited for: they are
   *  appended (in order, before anything the tracee does next) and their commit goes here, for the
   *  caller to await before it ends. A commit per verdict was ~1 ms of fsync while the tracee waited.
   *  A denial is always committed before the tracee learns of it. */
  readonly later?: (committed: Promise<void>) => void
  /** awaited before the gate is asked: the background judgment of a file just closed after writing
   *  (Judgments.settle), whose verdict may have quarantined it */
  readonly before?: (path: string) => Promise<void>
  /** runs the gate's part, which reads R(now) and content (see closeJudge) */
  readonly reading?: <T>(f: () => Promise<T>) => Promise<T>
}

// the wall clock at start, advanced by the monotonic clock: ordered and near real time
const clockBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint()
export const wallClock = (): bigint => clockBase + process.hrtime.bigint()

/** The interceptor's `foresee`: a question's file, if its bytes are all the host's, is judged while
 *  JavaScript handles the batch ahead of the question (which cost a question ~0.4 ms before clamd
 *  was asked); the question joins that judgment (Gate.foresee). */
export const gateForesight = (gate: Gate) => (req: GateRequest): void => {
  const exec = req.call === 'execve' || req.call === 'execveat'
  if (!exec && (req.flags & O_ACCMODE) === O_WRONLY) return // gateDecider lets these run unjudged
  gate.foresee(req.path, exec ? 'exec' : 'open')
}

/** The interceptor's `decide`: exec/execveat are judged as execs, opens that can read as opens
 *  (write-only opens read nothing: their bytes are judged on close), anything else passes. A file
 *  found clean (not a script's exec, whose interpreter is judged at each exec) is lent to the tracer
 *  with its sha256, an ELF program's with its interpreter's: the tracer lets the same unchanged file
 *  through by itself, an exec while its interpreter is unchanged too (src/native/admissions.cc). */
export const gateDecider = (gate: Gate, o: GateDeciderOptions) => async (req: GateRequest): Promise<Decided> => {
  const exec = req.call === 'execve' || req.call === 'execveat'
  if (!exec && (req.flags & O_ACCMODE) === O_WRONLY) return 0
  await o.before?.(req.path)
  const ask = () => (exec ? gate.decideExec(req.path, undefined, req.call, (name) => nameForTask(req.tid, name)) : gate.decideOpen(req.path, undefined, req.call))
  const d = o.reading === undefined ? await ask() : await o.reading(ask)
  if (d.events.length > 0) {
    const clock = o.clock ?? wallClock
    const drafts = d.events.map((body): Draft => ({ ts: clock(), pid: req.pid, tid: req.tid, body }))
    if (d.errno === 0 && o.later !== undefined) o.later(o.append(drafts, true))
    else await o.append(drafts)
    o.onDecision?.(d.message, d.events)
  }
  // clean, its interpreters too (their verdicts follow the file's): the file's verdict may be lent
  const own = d.events[0]
  if (d.errno === 0 && own?.kind === 'scan.verdict' && own.verdict === 'clean' && own.path === req.path) {
    return { errno: 0, clean: { sha256: own.sha256, exec: !d.script, ...(d.interpreter !== undefined && !d.script ? { interpreter: d.interpreter } : {}) } }
  }
  // the gate's access.denied is committed (a denial is appended and awaited above)
  if (d.errno !== 0 && d.events.some((e) => e.kind === 'access.denied')) return { errno: d.errno, journaled: true }
  return d.errno
}
