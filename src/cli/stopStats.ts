// `record --stats` and `attach --stats`: what the interceptor's stops cost, like `strace -c` for the
// tracer itself, on stderr (stdout is the command's). The time is the tracer's own, handling each
// stop; the kernel's part (stopping and waking the tasks) shows only in the run's duration.
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { formatErrors } from '../events/index.js'
import { StopStatsCodec, type StopStats } from '../native/binding.js'
import { toJson } from './output.js'

const UNISTD = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h'

/** x86_64 system call names, from the kernel's header (linux-libc-dev, which build-essential brings),
 *  for the calls the tracer's own table does not name (attach stops at every call). Without the
 *  header they stay "syscall N". */
export const syscallNames = (header = UNISTD): ReadonlyMap<number, string> => {
  let text: string
  try {
    text = readFileSync(header, 'utf8')
  } catch {
    return new Map()
  }
  return new Map([...text.matchAll(/^#define __NR_(\w+) (\d+)$/gm)].map((m) => [Number(m[2]), m[1]]))
}

const ms = (ns: number): string => (ns / 1e6).toFixed(1)
const perStop = (ns: number, stops: number): string => (stops === 0 ? '-' : (ns / stops / 1e3).toFixed(1))

/** Every stop, and the tracer's whole time on them. */
export const stopTotals = (s: StopStats): { readonly stops: number; readonly ns: number } => ({
  stops: s.calls.reduce((n, c) => n + c.entries + c.exits, 0) + s.events.reduce((n, e) => n + e.stops, 0),
  ns: s.calls.reduce((n, c) => n + c.ns, 0) + s.events.reduce((n, e) => n + e.ns, 0),
})

/** Where printStopStats's JSON starts. */
const JSON_START = '{\n  "stopStats"'

/** The recorder's own CPU time while it recorded (every thread of its process: the tracer, JavaScript,
 *  the journal's writes), in ms: what a monitored workload shares its cores with. */
export const RecorderCpuCodec = t.type({ userMs: t.number, systemMs: t.number })
export type RecorderCpu = t.TypeOf<typeof RecorderCpuCodec>

/** CPU time since `from` (process.cpuUsage()). */
export const recorderCpuSince = (from: NodeJS.CpuUsage): RecorderCpu => {
  const d = process.cpuUsage(from)
  return { userMs: Math.round(d.user / 1e3), systemMs: Math.round(d.system / 1e3) }
}

/** The JSON block `--json record --stats` wrote to stderr (after its summary line); null when it
 *  wrote none (an eyrie without --stats). */
const statsBlock = (stderr: string): Record<string, unknown> | null => {
  const at = stderr.indexOf(JSON_START)
  if (at < 0) return null
  const u: unknown = JSON.parse(stderr.slice(at, stderr.lastIndexOf('}') + 1))
  return typeof u === 'object' && u !== null ? { ...u } : null
}

const decoded = <A>(codec: t.Decoder<unknown, A>, u: unknown, what: string): A => {
  const r = codec.decode(u)
  if (E.isLeft(r)) throw new Error(`${what} on stderr do not decode: ${formatErrors(r.left)}`)
  return r.right
}

/** The stop statistics `--json record --stats` wrote; null when it wrote none. */
export const stopStatsIn = (stderr: string): StopStats | null => {
  const b = statsBlock(stderr)
  return b === null ? null : decoded(StopStatsCodec, b.stopStats, 'the stop statistics')
}

/** The recorder's CPU time written beside them; null when none was (an eyrie before it). */
export const recorderCpuIn = (stderr: string): RecorderCpu | null => {
  const b = statsBlock(stderr)
  return b === null || b.recorderCpu === undefined ? null : decoded(RecorderCpuCodec, b.recorderCpu, "the recorder's CPU time")
}

/** Lines of a table: calls by tracer time, then events, then totals and questions. */
export const formatStopStats = (s: StopStats, names: ReadonlyMap<number, string> = new Map()): string => {
  const rows: string[][] = [['call', 'entries', 'exits', 'tracer ms', 'µs/stop']]
  const calls = [...s.calls].sort((a, b) => b.ns - a.ns)
  const nameOf = (c: StopStats['calls'][number]): string => (c.name.startsWith('syscall ') ? names.get(c.nr) ?? c.name : c.name)
  for (const c of calls) rows.push([nameOf(c), String(c.entries), String(c.exits), ms(c.ns), perStop(c.ns, c.entries + c.exits)])
  for (const e of [...s.events].sort((a, b) => b.ns - a.ns)) rows.push([`(${e.name})`, String(e.stops), '', ms(e.ns), perStop(e.ns, e.stops)])
  const { stops, ns } = stopTotals(s)
  rows.push(['total', String(stops), '', ms(ns), perStop(ns, stops)])
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd())
  if (s.questions + s.loans > 0) {
    lines.push(`questions to the scanner: ${s.questions} (the tracees waited ${ms(s.questionNs)} ms for their answers); answered in the tracer by a lent verdict: ${s.loans}`)
  }
  return lines.join('\n')
}

/** Writes the stop statistics to stderr: a table, or JSON with --json. */
export const printStopStats = (s: StopStats, json: boolean, cpu: RecorderCpu): void => {
  const unnamed = s.calls.some((c) => c.name.startsWith('syscall '))
  const cpuLine = `recorder CPU while recording (all its threads): user ${cpu.userMs} ms, system ${cpu.systemMs} ms`
  process.stderr.write(
    json
      ? `${toJson({ stopStats: s, recorderCpu: cpu })}\n`
      : `eyrie: stops of the interceptor (tracer time: handling each stop, questions included)\n${formatStopStats(s, unnamed ? syscallNames() : new Map())}\n${cpuLine}\n`,
  )
}
