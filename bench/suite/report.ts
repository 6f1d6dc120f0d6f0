// The results as markdown (the file checked into bench/results/) and the shape of the JSON beside it.
import type { Figure } from './figures.js'
import type { Sizes } from './inputs.js'
import type { Commit, Machine } from './machine.js'
import { isEyrie, SETUP_LABELS, type SetupId } from './setups.js'
import { FAR_OFF, type Sample, type Spread, type Summary } from './stats.js'
import type { TargetCheck } from './targets.js'
import type { Group } from './workloads.js'

export interface WorkloadResult {
  readonly id: string
  readonly label: string
  readonly group: Group
  readonly samples: readonly Sample[]
  readonly summaries: readonly Summary[]
  readonly failures: ReadonlyArray<{ readonly setup: SetupId; readonly round: number; readonly why: string }>
  readonly load: readonly number[]
}

export interface Results {
  readonly date: string
  readonly command: string
  readonly quick: boolean
  readonly reps: number
  readonly commit: Commit
  readonly machine: Machine
  readonly load: { readonly start: readonly number[]; readonly end: readonly number[] }
  readonly sizes: Sizes
  readonly corpus: { readonly files: number; readonly bytes: number }
  readonly archive: { readonly files: number; readonly bytes: number }
  readonly setups: ReadonlyArray<{ readonly id: SetupId; readonly available: boolean; readonly why?: string }>
  /** the setups this run measured (available and selected), baseline first */
  readonly measured: readonly SetupId[]
  /** CPU time of each setup with `true` as the workload (median), subtracted before CPU ratios */
  readonly idleCpuMs: Partial<Record<SetupId, number>>
  readonly workloads: readonly WorkloadResult[]
  readonly targets: readonly TargetCheck[]
  readonly engine: readonly Figure[]
  readonly charts: ReadonlyArray<{ readonly group: Group; readonly measure: 'time' | 'cpu'; readonly file: string }>
  readonly seconds: number
  /** written after each workload while the suite runs: the workloads measured so far, no engine yet */
  readonly partial?: boolean
}

const x = (r: number) => `${r.toFixed(2)}x`
const cell = (s: Spread | null): string => (s === null ? '-' : s.n === 1 ? x(s.median) : `${x(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`)
const secs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`)
const mib = (kib: number | null) => (kib === null ? '-' : `${(kib / 1024).toFixed(0)}`)
const mb = (b: number | null) => (b === null ? '-' : (b / 1e6).toFixed(1))
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
const load = (l: readonly number[]) => l.map((v) => v.toFixed(2)).join(' / ')

export const markdown = (r: Results): string => {
  const m = r.machine
  const used = r.measured
  const monitored = used.filter((s) => s !== 'baseline')
  const out: string[] = [
    `# eyrie benchmark, ${r.date.slice(0, 10)}${r.quick ? ' (quick: tiny inputs, not a measurement)' : ''}${r.partial === true ? ' (partial: the suite was still running)' : ''}`,
    '',
    `- commit \`${r.commit.short}\`${r.commit.dirty ? ' (with uncommitted changes)' : ''}; command \`${r.command}\`; ${r.reps} round(s); ${(r.seconds / 60).toFixed(1)} min`,
    `- machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB memory, kernel ${m.kernel}, ${m.os}, node ${m.node}`,
    `- load average (1/5/15 min): ${load(r.load.start)} at the start, ${load(r.load.end)} at the end; the machine was shared with other sessions, so absolute times are noisy and only the paired ratios of one run compare`,
    ...(monitored.some((s) => s === 'eyrie-scan' || s === 'eyrie-scan-all' || s === 'clamonacc')
      ? ['- scanners: the shipped test signatures; eyrie\'s scan setups share one clamd for the suite (eyrie\'s private configuration, through `--clamd`) as clamonacc\'s runs share theirs, so clamd\'s own cache of clean contents is warm after a workload\'s first run for both, and eyrie\'s verdict cache (`--verdict-cache`, the suite\'s own, empty at its start) likewise; the shared clamd\'s CPU during a run counts as the run\'s']
      : []),
    `- tools: ${Object.entries(m.tools).map(([k, v]) => `${k}: ${v.replace(/\|/g, '/')}`).join('; ')}`,
    `- inputs (generated, deterministic): corpus ${r.corpus.files.toLocaleString('en-US')} files / ${(r.corpus.bytes / 1e6).toFixed(0)} MB (tar); 7z corpus ${r.archive.files.toLocaleString('en-US')} files / ${(r.archive.bytes / 1e6).toFixed(0)} MB; y4m ${r.sizes.clip.width}x${r.sizes.clip.height}, ${r.sizes.clip.frames} frames; C project ${r.sizes.project.units} units + main.c; ${r.sizes.inserts.toLocaleString('en-US')} sqlite inserts, one transaction each`,
    '',
    '## Relative running time',
    '',
    `Median of the paired ratios (min–max): each monitored run divided by the mean of the baseline runs just before and after it. Time is the workload\'s, from its start inside the monitor to the monitor\'s exit (a recorder\'s final commit included, its start-up not: see "outside" below). The baseline column is its median time and, in parentheses, the spread of each baseline run over the previous one (the noise floor). A setup over ${FAR_OFF}x in its first round is not run again (one figure, no spread): it is far from every target, and its runs would take most of the suite's time.`,
    '',
    row(['workload', 'baseline', ...monitored.map((s) => SETUP_LABELS[s])]),
    row(['---', ...used.map(() => '---:')]),
  ]
  for (const w of r.workloads) {
    const by = (s: SetupId) => w.summaries.find((x) => x.setup === s)
    const failed = (s: SetupId) => w.failures.some((f) => f.setup === s)
    const base = by('baseline')
    out.push(row([
      w.label,
      base === undefined ? 'failed' : `${secs(base.medianMs)}${base.ratio === null ? '' : ` (${base.ratio.min.toFixed(2)}–${base.ratio.max.toFixed(2)})`}`,
      ...monitored.map((s) => `${cell(by(s)?.ratio ?? null)}${failed(s) ? ' (runs failed)' : ''}`),
    ]))
  }
  for (const c of r.charts.filter((c) => c.measure === 'time')) out.push('', `![${c.group}](${c.file})`)
  if (r.workloads.some((w) => w.summaries.some((s) => s.cpuRatio !== null))) {
    out.push('', '## CPU time', '',
      'User + system time of every process of a run (GNU time over the monitor and the workload; for clamonacc, what clamd and clamonacc used during the run is added), paired the same way, net of what each setup uses with `true` as the workload (its start-up and shut-down: ' +
        `${used.map((s) => `${SETUP_LABELS[s]} ${r.idleCpuMs[s] === undefined ? '-' : secs(r.idleCpuMs[s] ?? 0)}`).join(', ')}). ` +
        'CPU time hardly depends on other sessions\' load, so these ratios are the steadier measure of what each monitor costs; on 2 cores a monitor\'s CPU shows up as running time once the workload keeps both cores busy.', '',
      row(['workload', 'baseline CPU', ...monitored.map((s) => SETUP_LABELS[s])]),
      row(['---', ...used.map(() => '---:')]))
    for (const w of r.workloads) {
      const by = (s: SetupId) => w.summaries.find((x) => x.setup === s)
      const base = by('baseline')
      out.push(row([w.label, (base?.medianCpuMs ?? null) === null ? '-' : secs(base?.medianCpuMs ?? 0), ...monitored.map((s) => cell(by(s)?.cpuRatio ?? null))]))
    }
    for (const c of r.charts.filter((c) => c.measure === 'cpu')) out.push('', `![${c.group}, CPU](${c.file})`)
  }
  const unavailable = r.setups.filter((s) => !s.available)
  if (unavailable.length > 0) {
    out.push('', 'Not available in this run:', '')
    for (const s of unavailable) out.push(`- ${SETUP_LABELS[s.id]}: ${s.why ?? ''}`)
  }
  out.push('', '## Monitors: memory, journal, start-up', '',
    'Peak RSS is the monitor process\'s own (VmHWM, polled every 50 ms). Journal = the LMDB directory on disk after the run; written = bytes the workload wrote, as recorded. Stops and tracer s: the interceptor\'s stops and its own time handling them (`record --stats`; the kernel\'s part of each stop is not in it); recorder CPU s: the recorder\'s CPU time while it recorded, all its threads (tracer, JavaScript, journal writes), on the cores the workload shares. End-to-end ratio includes the monitor\'s start-up; outside = end-to-end minus workload time (median).', '',
    row(['workload', 'setup', 'peak RSS MiB', 'events', 'verdicts (by clamd)', 'written MB', 'journal MB', 'journal MB per MB written', 'stops', 'tracer s', 'recorder CPU s', 'end-to-end ratio', 'outside']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const w of r.workloads) {
    for (const s of w.summaries) {
      if (s.setup === 'baseline' || s.setup === 'clamonacc') continue
      const perMb = s.journalBytes !== null && s.writtenBytes !== null && s.writtenBytes > 0 ? (s.journalBytes / s.writtenBytes).toFixed(2) : '-'
      const verdicts = s.verdicts === null ? '-' : `${s.verdicts.toLocaleString('en-US')} (${(s.byClamd ?? 0).toLocaleString('en-US')})`
      const stops = s.stops === null ? '-' : Math.round(s.stops).toLocaleString('en-US')
      const tracer = s.tracerMs === null ? '-' : (s.tracerMs / 1000).toFixed(2)
      const recorderCpu = s.recorderCpuMs === null ? '-' : (s.recorderCpuMs / 1000).toFixed(2)
      out.push(row([w.label, SETUP_LABELS[s.setup], mib(s.peakRssKiB), s.events === null ? '-' : s.events.toLocaleString('en-US'), verdicts, mb(s.writtenBytes), mb(s.journalBytes), perMb, stops, tracer, recorderCpu, cell(s.totalRatio), isEyrie(s.setup) || s.setup.startsWith('strace') ? secs(s.outsideMs) : '-']))
    }
  }
  out.push('', '## Targets (issue 9)', '', row(['target', 'measured (median)', 'verdict']), row(['---', '---', '---']))
  for (const t of r.targets) out.push(row([t.target, t.measured, t.verdict === 'missed' ? '**missed**' : t.verdict]))
  const failures = r.workloads.flatMap((w) => w.failures.map((f) => `- ${w.label}, ${SETUP_LABELS[f.setup]}, round ${f.round + 1}: ${f.why}`))
  if (failures.length > 0) out.push('', '## Failed runs', '', ...failures)
  out.push('', '## Engine', '')
  for (const f of r.engine) {
    out.push(`### ${f.id}: ${f.title}`, '', `\`${f.command}\`${f.ok ? ` (${f.seconds.toFixed(0)} s)` : ''}`, '')
    out.push(f.ok ? f.markdown : `not measured: ${f.why}`, '')
  }
  out.push('## Load during the run', '', row(['workload', 'load average at its start (1/5/15 min)']), row(['---', '---']))
  for (const w of r.workloads) out.push(row([w.label, load(w.load)]))
  return out.join('\n') + '\n'
}
