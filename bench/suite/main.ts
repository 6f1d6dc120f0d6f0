// The benchmark suite (npm run bench [-- --quick] [--reps N] ...): the paper's workloads under eyrie
// and its peers, interleaved with baseline runs, then the engine's own benchmarks; results as markdown
// + JSON + one SVG chart per workload group. See bench/README.md.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { writeCharts } from './charts.js'
import { runEngineBenches, ENGINE_BENCHES, type Figure } from './figures.js'
import { buildInputs, FULL, QUICK } from './inputs.js'
import { commit, loadAverage, machine } from './machine.js'
import { recorderCpuIn, stopStatsIn, stopTotals } from '../../src/cli/stopStats.js'
import { startClamd } from '../../src/scanner/clamd.js'
import { startOnAccess, type OnAccess } from './onaccess.js'
import { markdown, type Results, type WorkloadResult } from './report.js'
import { diskBytes, stampWrapper, stopRunning, timed } from './run.js'
import { buildNulltrace, detectSetups, floorStopsIn, isEyrie, SETUP_IDS, type Available, type SetupId } from './setups.js'
import { farOff, median, schedule, summarize, type Sample } from './stats.js'
import { checkTargets } from './targets.js'
import { GROUP_TITLES, workloads, type Group, type Workload } from './workloads.js'

const REPO = resolve(import.meta.dirname, '..', '..')
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    out: { type: 'string' },
    work: { type: 'string', default: join(REPO, 'bench', 'work') },
    workloads: { type: 'string' },
    setups: { type: 'string' },
    engine: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (args.help) {
  console.log(`npm run bench -- [--quick] [--reps N] [--out DIR] [--work DIR] [--workloads a,b] [--setups a,b] [--engine a,b|none]
  --quick       tiny inputs, one round (proves the suite works; not a measurement)
  --reps N      rounds of interleaved runs (default 5; 1 with --quick)
  --out DIR     where results go (default bench/results; bench/work/results-quick with --quick)
  --work DIR    inputs cache and run directories (default bench/work, git-ignored)
  --workloads   7z-compress,7z-decompress,x264,tar-extract,make,sqlite (default all)
  --setups      ${SETUP_IDS.filter((s) => s !== 'baseline').join(',')} (default all available)
  --engine      ${ENGINE_BENCHES.map((b) => b.id).join(',')} or none (default all)`)
  process.exit(0)
}

const quick = args.quick
const reps = Number(args.reps ?? (quick ? 1 : 5))
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps ${args.reps}: a positive integer`)
const work = resolve(args.work)
const outDir = resolve(args.out ?? (quick ? join(work, 'results-quick') : join(REPO, 'bench', 'results')))
const list = (s: string | undefined): string[] | null => (s === undefined ? null : s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
const wantedWorkloads = list(args.workloads)
const wantedSetups = list(args.setups)
const wantedEngine = args.engine === 'none' ? [] : list(args.engine)
const log = (line: string) => process.stderr.write(`${line}\n`)

const started = performance.now()
const date = new Date().toISOString()
const c = commit(REPO) // the code measured is the tree at the start
const loadStart = loadAverage()
const sizes = quick ? QUICK : FULL
const inputs = buildInputs(work, sizes, log)
mkdirSync(work, { recursive: true })
// this invocation's run directories and journals (another suite may be running from the same work dir)
const runs = mkdtempSync(join(work, 'runs-'))
const stamp = join(runs, 'stamp')
const signatures = join(REPO, 'test', 'fixtures', 'signatures')

let onAccess: OnAccess | null = null
let onAccessWhy: string | null = 'not selected (--setups)'
if (wantedSetups === null || wantedSetups.includes('clamonacc')) {
  const started = await startOnAccess(join(work, 'watched'), signatures)
  if ('why' in started) onAccessWhy = started.why
  else {
    onAccess = started
    onAccessWhy = null
  }
}
// eyrie's scan setups share one clamd (eyrie's own configuration, the same signatures) for the
// suite, as clamonacc's runs share theirs: clamd's own cache of clean contents is then warm after a
// workload's first run for both, rather than cold for eyrie (a private clamd per run) only
const eyrieClamd = wantedSetups === null || wantedSetups.some((s) => s === 'eyrie-scan' || s === 'eyrie-scan-all')
  ? await startClamd({ signatures })
  : null
const stopDaemons = () => Promise.all([onAccess?.stop(), eyrieClamd?.stop()])
// interrupted (Ctrl-C, a test's timeout): stop the run in progress and the daemons, then go
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`)
    stopRunning()
    void stopDaemons().finally(() => {
      rmSync(runs, { recursive: true, force: true })
      process.exit(130)
    })
  })
}
const setups = detectSetups({
  eyrie: [process.execPath, join(REPO, 'bin', 'eyrie.js')], signatures, onAccess: onAccessWhy,
  ...(eyrieClamd !== null && 'socket' in eyrieClamd.endpoint ? { clamd: eyrieClamd.endpoint.socket } : {}),
  verdictCache: join(runs, 'verdicts'), // removed with the runs: the next suite starts cold again
  nulltrace: buildNulltrace(REPO, runs),
})
const active = setups.filter((s): s is Available => s.available && (s.id === 'baseline' || wantedSetups === null || wantedSetups.includes(s.id)))
for (const s of setups) if (!s.available) log(`setup ${s.id}: not available: ${s.why}`)
const baseline = active.find((s) => s.id === 'baseline')
if (baseline === undefined) throw new Error('no baseline setup')
const monitored = active.filter((s) => s.id !== 'baseline').map((s) => s.id)

const EYRIE_SUMMARY = /eyrie: guest \S+: (\d+) events, (\d+) bytes written(?:, (\d+) verdict\(s\) \((\d+) by clamd[,)])?/

const runOnce = async (w: Workload, s: Available, round: number): Promise<Sample> => {
  const root = s.watched && onAccess !== null ? onAccess.root : runs
  const run = mkdtempSync(join(root, `${w.id}-`))
  const journal = join(runs, `${basename(run)}.journal`)
  try {
    w.prepare(run)
    if (s.watched && onAccess !== null) await onAccess.ready(w.watchedDirs(run))
    // start every run with no dirty pages of the previous one waiting to be written back
    execFileSync('sync')
    const daemons = s.watched && onAccess !== null ? onAccess.pids : s.sharedClamd === true && eyrieClamd?.pid != null ? [eyrieClamd.pid] : []
    const t = await timed({ argv: s.command(stampWrapper(stamp, w.argv(run)), journal), cwd: w.cwd(run), stamp, pollRss: s.pollRss, daemons })
    // the kernel is the oracle: what the journal holds of the outputs is what is on disk (before
    // check, which may touch them: sqlite3 checkpoints its WAL into the database when it opens it)
    if (isEyrie(s.id)) for (const path of w.outputs(run)) sameAsDisk(journal, path)
    const bad = w.check(run)
    if (bad !== null) throw new Error(`wrong output: ${bad}`)
    let rec: { events: number; written: number; journal: number; verdicts: number | null; byClamd: number | null } | null = null
    let cost: { stops: number; tracerMs: number | null; recorderCpuMs: number | null } | null = null
    if (isEyrie(s.id)) {
      const m = EYRIE_SUMMARY.exec(t.stderr)
      if (m === null) throw new Error(`eyrie printed no summary: ${t.stderr.trim().split('\n').slice(-2).join(' | ')}`)
      rec = { events: Number(m[1]), written: Number(m[2]), journal: diskBytes(journal), verdicts: m[3] === undefined ? null : Number(m[3]), byClamd: m[4] === undefined ? null : Number(m[4]) }
      // record --stats: the stops and the tracer's time on them (null from an eyrie without it)
      const stats = stopStatsIn(t.stderr)
      const totals = stats === null ? null : stopTotals(stats)
      const cpu = recorderCpuIn(t.stderr)
      cost = totals === null ? null : { stops: totals.stops, tracerMs: totals.ns / 1e6, recorderCpuMs: cpu === null ? null : cpu.userMs + cpu.systemMs }
    }
    if (s.id === 'ptrace-floor') {
      const stops = floorStopsIn(t.stderr)
      if (stops === null) throw new Error(`nulltrace printed no stop count: ${t.stderr.trim().split('\n').slice(-2).join(' | ')}`)
      cost = { stops, tracerMs: null, recorderCpuMs: null }
    }
    return {
      setup: s.id, round, workloadMs: t.workloadMs, totalMs: t.totalMs, cpuMs: t.cpuMs, peakRssKiB: t.peakRssKiB,
      journalBytes: rec?.journal ?? null, writtenBytes: rec?.written ?? null, events: rec?.events ?? null,
      verdicts: rec?.verdicts ?? null, byClamd: rec?.byClamd ?? null,
      stops: cost?.stops ?? null, tracerMs: cost?.tracerMs ?? null, recorderCpuMs: cost?.recorderCpuMs ?? null,
    }
  } finally {
    rmSync(run, { recursive: true, force: true })
    rmSync(journal, { recursive: true, force: true })
  }
}

const sameAsDisk = (journal: string, path: string): void => {
  let recorded: Buffer
  try {
    recorded = execFileSync(process.execPath, [join(REPO, 'bin', 'eyrie.js'), '--journal', journal, 'at', 'now', 'cat', path], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    throw new Error(`eyrie at now cat ${path}: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? reason(err)}`)
  }
  const disk = readFileSync(path)
  if (!recorded.equals(disk)) throw new Error(`the journal's ${path} (${recorded.length} bytes) differs from the disk's (${disk.length} bytes)`)
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err))

// What a monitor costs with nothing to watch (`true` as the workload): its start-up and shut-down
// CPU, which a run's CPU time includes and its workload time does not; subtracted before CPU ratios.
const IDLE: Workload = {
  id: 'idle', label: 'true', group: 'compute', prepare: () => undefined, watchedDirs: (run) => [run],
  cwd: (run) => run, argv: () => ['true'], check: () => null, outputs: () => [],
}
const idleCpuMs: Partial<Record<SetupId, number>> = {}
const results: WorkloadResult[] = []
mkdirSync(outDir, { recursive: true })
const stem = `${date.slice(0, 10)}-${c.short}${c.dirty ? '-dirty' : ''}${quick ? '-quick' : ''}`
/** The table, the JSON and the charts of what is measured so far (after each workload, then at the end). */
async function writeResults(engine: readonly Figure[], partial: boolean): Promise<void> {
  const charts = await writeCharts(results, monitored, outDir, stem)
  const argv = process.argv.slice(2)
  const full: Results = {
    date,
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.map((a) => (a.startsWith(REPO) ? relative(REPO, a) : a)).join(' ')}` : ''}`,
    quick, reps, commit: c, machine: machine(),
    load: { start: loadStart, end: loadAverage() },
    sizes, corpus: { files: inputs.corpusFiles, bytes: inputs.corpusBytes }, archive: { files: inputs.archiveFiles, bytes: inputs.archiveBytes },
    setups: setups.map((s) => (s.available ? { id: s.id, available: true } : { id: s.id, available: false, why: s.why })),
    measured: active.map((s) => s.id),
    idleCpuMs,
    workloads: results,
    targets: checkTargets(results),
    engine, charts,
    seconds: (performance.now() - started) / 1000,
    ...(partial ? { partial } : {}),
  }
  writeFileSync(join(outDir, `${stem}.md`), markdown(full))
  writeFileSync(join(outDir, `${stem}.json`), JSON.stringify(full, null, 2) + '\n')
}

try {
  for (const s of active) {
    const cpu: number[] = []
    for (let i = 0; i < (quick ? 1 : 3); i++) cpu.push((await runOnce(IDLE, s, -1)).cpuMs ?? NaN)
    if (cpu.every(Number.isFinite)) idleCpuMs[s.id] = median(cpu)
  }
  log(`idle CPU per setup: ${Object.entries(idleCpuMs).map(([k, v]) => `${k} ${(v ?? 0).toFixed(0)} ms`).join(', ')}`)
  for (const w of workloads(inputs)) {
    if (wantedWorkloads !== null && !wantedWorkloads.includes(w.id)) continue
    const load = loadAverage()
    const samples: Sample[] = []
    const failures: Array<{ setup: SetupId; round: number; why: string }> = []
    try {
      await runOnce(w, baseline, -1) // warms the page cache and proves the workload runs at all
    } catch (err) {
      failures.push({ setup: 'baseline', round: 0, why: `warm-up: ${reason(err)}` })
      log(`${w.id}: warm-up failed, skipped: ${reason(err)}`)
      results.push({ id: w.id, label: w.label, group: w.group, samples, summaries: [], failures, load })
      continue
    }
    const order = schedule(monitored, reps)
    for (const [i, { setup, round }] of order.entries()) {
      const s = active.find((a) => a.id === setup)
      if (s === undefined) continue
      const far = round > 0 ? farOff(samples, setup) : null
      if (far !== null) {
        log(`[${w.id} ${i + 1}/${order.length}] round ${round + 1} ${setup}: not run again (${far.toFixed(1)}x in its first round, far from every target)`)
        continue
      }
      try {
        const sample = await runOnce(w, s, round)
        samples.push(sample)
        log(`[${w.id} ${i + 1}/${order.length}] round ${round + 1} ${setup}: ${(sample.workloadMs / 1000).toFixed(2)} s (end-to-end ${(sample.totalMs / 1000).toFixed(2)} s)${sample.peakRssKiB === null ? '' : `, peak RSS ${(sample.peakRssKiB / 1024).toFixed(0)} MiB`}`)
      } catch (err) {
        failures.push({ setup, round, why: reason(err) })
        log(`[${w.id} ${i + 1}/${order.length}] round ${round + 1} ${setup}: FAILED: ${reason(err)}`)
      }
    }
    results.push({ id: w.id, label: w.label, group: w.group, samples, summaries: summarize(samples, idleCpuMs), failures, load })
    await writeResults([], true) // an interrupted suite still leaves what it measured
  }
} finally {
  await stopDaemons()
  rmSync(runs, { recursive: true, force: true })
}

const engine = await runEngineBenches({ repo: REPO, work: join(work, 'engine'), quick, only: wantedEngine, log })
await writeResults(engine, false)
log(`results: ${join(outDir, `${stem}.md`)}`)

const failed = results.some((w) => w.failures.length > 0) || engine.some((f) => !f.ok && !f.why.includes('does not exist'))
process.exitCode = failed ? 1 : 0
