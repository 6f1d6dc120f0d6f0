// What on-access scanning adds to an exec, end to end (issue 6's targets: < 100 µs for a binary
// judged before, below clamonacc's for one never seen):
//   node --import tsx bench/exec-latency.ts [--execs N] [--rounds R]
// A shell loop inside each monitor execs N binaries and times itself (the monitor's start-up is
// outside): "cached" runs one copy of /usr/bin/true N times; "new" runs N copies, each with its own
// trailing bytes, once each (every one a content no scanner has seen). Setups, interleaved per round:
// baseline, eyrie record, eyrie record --scan (the shipped test signatures), clamonacc with
// prevention on the same signatures (bench/suite/onaccess.ts; it watches its own tree). Reported:
// the median time per exec and what each setup adds to the baseline's; then, from `record --stats`,
// the interceptor's own time per exec (its share of the stops, steadier than the end-to-end times on
// a noisy machine; the kernel's part of each stop is not in it), stops, questions and loans.
import { spawnSync } from 'node:child_process'
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { stopStatsIn, stopTotals } from '../src/cli/stopStats.js'
import { startOnAccess } from './suite/onaccess.js'

const { values } = parseArgs({ options: { execs: { type: 'string', default: '300' }, rounds: { type: 'string', default: '5' } } })
const N = Number(values.execs)
const ROUNDS = Number(values.rounds)
const EYRIE = [process.execPath, new URL('../bin/eyrie.js', import.meta.url).pathname]
const SIGNATURES = new URL('../test/fixtures/signatures', import.meta.url).pathname

type Case = 'cached' | 'new'
type SetupId = 'baseline' | 'eyrie record' | 'eyrie record --scan' | 'clamonacc'

/** N binaries in dir: the same one N times (cached) or N distinct contents (new). */
const prepare = (dir: string, c: Case): string[] => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  if (c === 'cached') {
    copyFileSync('/usr/bin/true', join(dir, 'tool'))
    return Array.from({ length: N }, () => './tool')
  }
  return Array.from({ length: N }, (_, i) => {
    const p = join(dir, `tool${i}`)
    copyFileSync('/usr/bin/true', p)
    appendFileSync(p, `${process.pid}-${Date.now()}-${i}`) // ELF loaders ignore trailing bytes
    chmodSync(p, 0o755)
    return `./tool${i}`
  })
}

/** The loop, timing itself: prints the elapsed nanoseconds. The cached binary runs once before the
 *  clock starts: that first exec is a new binary's (each round copies it anew), asked about and
 *  judged; the ones timed are the ones judged before. */
const loop = (bins: string[], c: Case): string[] => {
  return ['sh', '-c', `${c === 'cached' ? `${bins[0]}; ` : ''}s=$(date +%s%N); ${bins.join('; ')}; e=$(date +%s%N); echo $((e - s))`]
}

/** What the interceptor itself did per exec (record --stats): its time on the stops (`waitUs` of it
 *  waiting for the scanner's answers), the stops, the questions the scanner answered and the ones a
 *  lent verdict answered in the tracer. */
interface TracerCost { readonly us: number; readonly waitUs: number; readonly stops: number; readonly questions: number; readonly loans: number }

const tracerCost = (stderr: string): TracerCost => {
  const s = stopStatsIn(stderr)
  if (s === null) throw new Error(`record --stats printed no statistics: ${stderr.slice(-300)}`)
  const { stops, ns } = stopTotals(s)
  return { us: ns / N / 1000, waitUs: s.questionNs / N / 1000, stops: stops / N, questions: s.questions / N, loans: s.loans / N }
}

const run = (setup: SetupId, dir: string, argv: string[], journal: string, verdicts: string): { us: number; tracer: TracerCost | null } => {
  rmSync(journal, { recursive: true, force: true })
  // the verdict cache is this benchmark's own (not the user's), kept across its rounds like clamd's cache
  const cmd = setup === 'eyrie record' ? [...EYRIE, '--json', '--journal', journal, 'record', '--stats', '--', ...argv]
    : setup === 'eyrie record --scan' ? [...EYRIE, '--json', '--journal', journal, 'record', '--stats', '--scan', '--signatures', SIGNATURES, '--verdict-cache', verdicts, '--', ...argv]
    : argv
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${setup}: exit ${r.status}: ${r.stderr}`)
  const ns = Number(r.stdout.trim().split('\n').pop())
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`${setup}: no time in ${JSON.stringify(r.stdout)}`)
  return { us: ns / N / 1000, tracer: setup.startsWith('eyrie') ? tracerCost(r.stderr) : null } // µs per exec
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const main = async () => {
  const work = mkdtempSync(join(tmpdir(), 'eyrie-bench-exec-'))
  const watchedRoot = join(work, 'watched')
  const onAccess = await startOnAccess(watchedRoot, SIGNATURES)
  const setups: SetupId[] = ['baseline', 'eyrie record', 'eyrie record --scan', ...('why' in onAccess ? [] : ['clamonacc' as const])]
  if ('why' in onAccess) console.log(`clamonacc not measured: ${onAccess.why}`)
  try {
    const results = new Map<string, number[]>()
    const costs = new Map<string, TracerCost[]>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of ['cached', 'new'] as const) {
        for (const setup of setups) {
          const dir = setup === 'clamonacc' ? join(watchedRoot, 'run') : join(work, 'run')
          const bins = prepare(dir, c)
          if (setup === 'clamonacc' && !('why' in onAccess)) await onAccess.ready([dir])
          const { us, tracer } = run(setup, dir, loop(bins, c), join(work, 'journal'), join(work, 'verdicts'))
          const key = `${c}|${setup}`
          results.set(key, [...(results.get(key) ?? []), us])
          if (tracer !== null) costs.set(key, [...(costs.get(key) ?? []), tracer])
        }
      }
    }
    const tool = statSync('/usr/bin/true').size
    console.log(`exec latency: ${N} execs of a ${tool}-byte binary per run, ${ROUNDS} rounds interleaved; median µs per exec (added to the baseline's)`)
    console.log('| binaries | ' + setups.join(' | ') + ' |')
    console.log('| --- | ' + setups.map(() => '---:').join(' | ') + ' |')
    for (const c of ['cached', 'new'] as const) {
      const base = median(results.get(`${c}|baseline`) ?? [])
      const cells = setups.map((s) => {
        const m = median(results.get(`${c}|${s}`) ?? [])
        return s === 'baseline' ? `${m.toFixed(0)} µs` : `${m.toFixed(0)} µs (+${(m - base).toFixed(0)})`
      })
      console.log(`| ${c === 'cached' ? 'one binary, run again (judged before)' : 'a new binary each time'} | ${cells.join(' | ')} |`)
    }
    // what the scanning adds to recording alone, per exec
    const over = (c: Case) => median(results.get(`${c}|eyrie record --scan`) ?? []) - median(results.get(`${c}|eyrie record`) ?? [])
    console.log(`--scan over record alone: ${over('cached').toFixed(0)} µs per exec of a binary judged before, ${over('new').toFixed(0)} µs of a new one`)
    // the interceptor's own share, from --stats: steadier than the end-to-end times on a noisy machine
    // (the kernel's part of each stop is not in it)
    console.log('\nthe interceptor per exec (record --stats, the untimed first exec included; median over the rounds): its time on the stops, of it waiting for answers, stops, questions to the scanner, loans')
    console.log('| binaries | setup | tracer µs | waiting µs | stops | questions | loans |')
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    const tracerUs = (key: string, f: (t: TracerCost) => number) => median((costs.get(key) ?? []).map(f))
    for (const c of ['cached', 'new'] as const) {
      for (const s of ['eyrie record', 'eyrie record --scan'] as const) {
        const ts = costs.get(`${c}|${s}`) ?? []
        const m = (f: (t: TracerCost) => number) => median(ts.map(f))
        console.log(`| ${c === 'cached' ? 'judged before' : 'new'} | ${s} | ${m((t) => t.us).toFixed(0)} | ${m((t) => t.waitUs).toFixed(0)} | ${m((t) => t.stops).toFixed(1)} | ${m((t) => t.questions).toFixed(2)} | ${m((t) => t.loans).toFixed(2)} |`)
      }
    }
    // a binary judged before: the first exec's question (its wait) is not an exec of one
    const cachedOver = tracerUs('cached|eyrie record --scan', (t) => t.us - t.waitUs) - tracerUs('cached|eyrie record', (t) => t.us)
    const newOver = tracerUs('new|eyrie record --scan', (t) => t.us) - tracerUs('new|eyrie record', (t) => t.us)
    console.log(`--scan over record in the interceptor: ${cachedOver.toFixed(0)} µs per exec of a binary judged before (the first exec's wait for its answer left out), ${newOver.toFixed(0)} µs of a new one (the question's wait included)`)
  } finally {
    if (!('why' in onAccess)) await onAccess.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

await main()
