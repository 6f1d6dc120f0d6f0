// Interleaving and paired ratios. The machine is shared: absolute times drift with other people's load,
// so every monitored run sits between two baseline runs (B S1 B S2 B ... B) and is divided by the mean
// of those two neighbours. Setups rotate between rounds so that none always follows the same one.
import type { SetupId } from './setups.js'

export interface Sample {
  readonly setup: SetupId
  readonly round: number
  readonly workloadMs: number
  readonly totalMs: number
  /** user + sys of every process of the run (and of daemons serving it); null without GNU time */
  readonly cpuMs: number | null
  readonly peakRssKiB: number | null
  /** eyrie: journal size on disk, bytes the workload wrote (as recorded), events */
  readonly journalBytes: number | null
  readonly writtenBytes: number | null
  readonly events: number | null
  /** eyrie --scan: verdicts asked for, and how many of them clamd gave (the rest: eyrie's cache) */
  readonly verdicts: number | null
  readonly byClamd: number | null
  /** eyrie (record --stats): the interceptor's stops, and the tracer's own time on them */
  readonly stops: number | null
  readonly tracerMs: number | null
  /** eyrie (record --stats): the recorder's own CPU time while it recorded, all its threads */
  readonly recorderCpuMs: number | null
}

export interface Spread { readonly median: number; readonly min: number; readonly max: number; readonly n: number }

export interface Summary {
  readonly setup: SetupId
  readonly runs: number
  readonly medianMs: number
  /** workload time / neighbouring baselines' (for the baseline: each run / the previous baseline run) */
  readonly ratio: Spread | null
  /** the same on end-to-end times (monitor start-up included) */
  readonly totalRatio: Spread | null
  /** the same on CPU time */
  readonly cpuRatio: Spread | null
  readonly medianCpuMs: number | null
  /** end-to-end minus workload time: the monitor's start-up and shut-down outside the workload */
  readonly outsideMs: number
  readonly peakRssKiB: number | null
  readonly journalBytes: number | null
  readonly writtenBytes: number | null
  readonly events: number | null
  readonly verdicts: number | null
  readonly byClamd: number | null
  readonly stops: number | null
  readonly tracerMs: number | null
  readonly recorderCpuMs: number | null
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const spread = (xs: readonly number[]): Spread | null =>
  xs.length === 0 ? null : { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }

/** The run order for one workload: baseline between every two monitored runs, setups rotated per round. */
export const schedule = (monitored: readonly SetupId[], reps: number): Array<{ setup: SetupId; round: number }> => {
  const out: Array<{ setup: SetupId; round: number }> = []
  for (let round = 0; round < reps; round++) {
    for (let i = 0; i < monitored.length; i++) {
      out.push({ setup: 'baseline', round })
      out.push({ setup: monitored[(i + round) % monitored.length], round })
    }
  }
  out.push({ setup: 'baseline', round: Math.max(0, reps - 1) })
  return out
}

/** A setup this many times slower than the baseline in its first round is not run again: its ratio
 *  is far from every target, and its runs would take most of the suite's time (sqlite's 100,000
 *  transactions under strace or clamonacc: 2 to 9 minutes a run). */
export const FAR_OFF = 10

/** The ratio of `setup` when every run of it so far (`samples` of one workload, in the order they
 *  ran) was over FAR_OFF times the baseline's: it need not run again. Null otherwise. */
export const farOff = (samples: readonly Sample[], setup: SetupId): number | null => {
  const r = summarize(samples).find((s) => s.setup === setup)?.ratio
  return r !== undefined && r !== null && r.min > FAR_OFF ? r.median : null
}

const medianOrNull = (xs: ReadonlyArray<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null)
  return v.length === 0 ? null : median(v)
}

/** Summaries per setup from the samples of one workload, in the order they ran; CPU ratios are taken
 *  net of each setup's idle CPU (its start-up and shut-down with `true` as the workload). */
export const summarize = (samples: readonly Sample[], idleCpuMs: Partial<Record<SetupId, number>> = {}): Summary[] => {
  const net = (s: Sample): number | null => (s.cpuMs === null ? null : Math.max(0, s.cpuMs - (idleCpuMs[s.setup] ?? 0)))
  const ratios = new Map<SetupId, { w: number[]; t: number[]; c: number[] }>()
  const push = (id: SetupId, w: number, t: number, c: number | null) => {
    const r = ratios.get(id) ?? { w: [], t: [], c: [] }
    r.w.push(w)
    r.t.push(t)
    if (c !== null && Number.isFinite(c)) r.c.push(c)
    ratios.set(id, r)
  }
  const cpuOver = (s: Sample, base: readonly Sample[]): number | null => {
    const mine = net(s)
    const b = base.map(net)
    if (mine === null || b.some((x) => x === null || x === 0)) return null
    return mine / (b.reduce((a: number, x) => a + (x ?? 0), 0) / b.length)
  }
  let previousBaseline: Sample | null = null
  samples.forEach((s, i) => {
    if (s.setup === 'baseline') {
      if (previousBaseline !== null) push('baseline', s.workloadMs / previousBaseline.workloadMs, s.totalMs / previousBaseline.totalMs, cpuOver(s, [previousBaseline]))
      previousBaseline = s
      return
    }
    const before = samples.slice(0, i).reverse().find((x) => x.setup === 'baseline')
    const after = samples.slice(i + 1).find((x) => x.setup === 'baseline')
    const near = [before, after].filter((x): x is Sample => x !== undefined)
    if (near.length === 0) return
    const mean = (f: (x: Sample) => number) => near.reduce((a, x) => a + f(x), 0) / near.length
    push(s.setup, s.workloadMs / mean((x) => x.workloadMs), s.totalMs / mean((x) => x.totalMs), cpuOver(s, near))
  })
  const ids = [...new Set(samples.map((s) => s.setup))]
  return ids.map((setup) => {
    const mine = samples.filter((s) => s.setup === setup)
    const r = ratios.get(setup)
    return {
      setup,
      runs: mine.length,
      medianMs: median(mine.map((s) => s.workloadMs)),
      ratio: spread(r?.w ?? []),
      totalRatio: spread(r?.t ?? []),
      cpuRatio: spread(r?.c ?? []),
      medianCpuMs: medianOrNull(mine.map((s) => s.cpuMs)),
      outsideMs: median(mine.map((s) => s.totalMs - s.workloadMs)),
      peakRssKiB: medianOrNull(mine.map((s) => s.peakRssKiB)),
      journalBytes: medianOrNull(mine.map((s) => s.journalBytes)),
      writtenBytes: medianOrNull(mine.map((s) => s.writtenBytes)),
      events: medianOrNull(mine.map((s) => s.events)),
      verdicts: medianOrNull(mine.map((s) => s.verdicts)),
      byClamd: medianOrNull(mine.map((s) => s.byClamd)),
      stops: medianOrNull(mine.map((s) => s.stops)),
      tracerMs: medianOrNull(mine.map((s) => s.tracerMs)),
      recorderCpuMs: medianOrNull(mine.map((s) => s.recorderCpuMs)),
    }
  })
}
