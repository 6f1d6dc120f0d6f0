// The targets (ratios vs baseline, same run), checked against the medians of the paired ratios.
import { isEyrie, SETUP_LABELS, type SetupId } from './setups.js'
import type { Summary } from './stats.js'

export interface WorkloadSummaries {
  readonly id: string
  readonly label: string
  readonly summaries: readonly Summary[]
}

export interface TargetCheck {
  readonly target: string
  readonly measured: string
  readonly verdict: 'met' | 'missed' | 'not measured'
}

const LIMITS: ReadonlyArray<{ workload: string; setup: SetupId; max: number }> = [
  { workload: '7z-compress', setup: 'eyrie', max: 1.05 },
  { workload: '7z-decompress', setup: 'eyrie', max: 1.05 },
  { workload: 'tar-extract', setup: 'eyrie', max: 2.0 },
  { workload: 'tar-extract', setup: 'eyrie-scan', max: 2.5 },
  { workload: 'tar-extract', setup: 'eyrie-scan-all', max: 2.5 },
  { workload: 'make', setup: 'eyrie', max: 1.3 },
  { workload: 'x264', setup: 'eyrie', max: 1.02 },
]

const ratioOf = (w: WorkloadSummaries | undefined, setup: SetupId): number | null =>
  w?.summaries.find((s) => s.setup === setup)?.ratio?.median ?? null

const x = (r: number) => `${r.toFixed(2)}x`

export const checkTargets = (results: readonly WorkloadSummaries[]): TargetCheck[] => {
  const out: TargetCheck[] = []
  for (const l of LIMITS) {
    const w = results.find((r) => r.id === l.workload)
    const r = ratioOf(w, l.setup)
    out.push({
      target: `${w?.label ?? l.workload}, ${SETUP_LABELS[l.setup]} <= ${x(l.max)}`,
      measured: r === null ? '-' : x(r),
      verdict: r === null ? 'not measured' : r <= l.max ? 'met' : 'missed',
    })
  }
  for (const peer of ['strace-seccomp', 'clamonacc'] as const) {
    for (const w of results) {
      for (const s of w.summaries) {
        if (!isEyrie(s.setup)) continue
        const mine = s.ratio?.median ?? null
        const theirs = ratioOf(w, peer)
        out.push({
          target: `${w.label}: ${SETUP_LABELS[s.setup]} faster than ${SETUP_LABELS[peer]}`,
          measured: mine === null || theirs === null ? '-' : `${x(mine)} vs ${x(theirs)}`,
          verdict: mine === null || theirs === null ? 'not measured' : mine < theirs ? 'met' : 'missed',
        })
      }
    }
  }
  return out
}
