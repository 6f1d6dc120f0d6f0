// The long fault-injection run (npm run torture): issue 10's counts, figures printed as it goes and
// as a table at the end (and as JSON with --json FILE). Not part of `npm test`.
//
//   npm run torture                      everything at the issue's counts
//   npm run torture -- --crashes 20 --corruptions 200 --scale small
//   npm run torture -- --only scanner    one part: crashes | corruption | diskfull | scanner | scale
//   --seed N replays the random choices of a run (it is printed at the start).
import { writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startClamd } from '../src/scanner/clamd.js'
import { crashRun } from '../test/reliability/crash.js'
import { buildFixture, corruptionRun } from '../test/reliability/corruption.js'
import { diskFullRun } from '../test/reliability/diskfull.js'
import { FakeClamd } from '../test/reliability/fakeClamd.js'
import { faultRun } from '../test/reliability/scannerFaults.js'
import { ISSUE, scaleRun, scaleSpecs, SMALL } from '../test/reliability/scale.js'
import { percentile, rng, startRecorder, tempDir } from '../test/reliability/support.js'
import { SIGNATURES } from '../test/scanner/support.js'

const { values: args } = parseArgs({
  options: {
    crashes: { type: 'string', default: '100' },
    corruptions: { type: 'string', default: '1000' },
    scale: { type: 'string', default: 'issue' },
    only: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'string' },
  },
})
const seed = Number(args.seed ?? Date.now() % 1_000_000)
const wants = (part: string): boolean => args.only === undefined || args.only.split(',').includes(part)
const rows: Array<[string, string, string]> = []
const figures: Record<string, unknown> = { seed, started: new Date().toISOString() }
const report = (part: string, what: string, value: string | number): void => {
  rows.push([part, what, String(value)])
  console.log(`${part}: ${what}: ${value}`)
}
const ms = (x: number): string => `${Math.round(x)} ms`
const failures: string[] = []

console.log(`torture: seed ${seed}`)

if (wants('crashes') && Number(args.crashes) > 0) {
  const t0 = performance.now()
  const run = await crashRun({ instants: Number(args.crashes), random: rng(seed), lanes: 2, maxDelayMs: 2500, checkpointEvery: 400, log: (l) => console.log(`  ${l}`) })
  try {
    const bad = run.instants.filter((i) => i.problems.length > 0)
    const kept = run.instants.map((i) => i.last)
    report('crash', 'kill -9 instants', run.instants.length)
    report('crash', 'instants with a problem', bad.length)
    report('crash', 'events kept per killed guest (min / median / max)', `${Math.min(...kept)} / ${percentile(kept, 50)} / ${Math.max(...kept)}`)
    report('crash', 'reader polls / polls that saw a partial batch', `${run.instants.reduce((n, i) => n + i.polls, 0)} / ${run.instants.reduce((n, i) => n + i.partialPolls, 0)}`)
    report('crash', 'committed events lost (seen by a reader, missing after)', run.instants.reduce((n, i) => n + Math.max(0, i.seenCommitted - i.last) + i.lostSeen, 0))
    report('crash', 'workload processes left after a kill', run.instants.reduce((n, i) => n + i.leftovers.length, 0))
    report('crash', 'guests with checkpoints checked against the fold', run.instants.filter((i) => i.checkpoints > 0).length)
    report('crash', 'time', ms(performance.now() - t0))
    figures.crash = run.instants
    for (const b of bad) failures.push(`crash ${b.guest}: ${b.problems.join(' | ')}`)
  } finally {
    await run.cleanup()
  }
}

if (wants('corruption') && Number(args.corruptions) > 0) {
  const fx = await buildFixture({ every: 60, points: 10 })
  try {
    const s = await corruptionRun(fx, Number(args.corruptions), rng(seed + 1), (l) => console.log(`  ${l}`))
    report('corruption', 'fixture', `${fx.events} events, ${fx.checkpoints} checkpoints, ${fx.queries.length} cat queries per trial`)
    report('corruption', 'trials / detected by verify (naming guest and seq)', `${s.trials} / ${s.detected} (${((100 * s.detected) / s.trials).toFixed(2)} %)`)
    for (const [t, v] of Object.entries(s.byTarget)) report('corruption', `  ${t}: trials / detected`, `${v.trials} / ${v.detected}`)
    report('corruption', 'answers: same / refused (CORRUPT or DECODE) / wrong bytes', `${s.answers.same} / ${s.answers.failed} / ${s.answers.wrong}`)
    report('corruption', 'checkpoint trials that changed an answer (fallback failed)', s.checkpointFallbackFailures)
    report('corruption', 'refusals not naming guest and seq', s.unnamed.length)
    report('corruption', 'time', ms(s.ms))
    figures.corruption = s
    if (s.detected !== s.trials || s.answers.wrong > 0 || s.checkpointFallbackFailures > 0 || s.unnamed.length > 0) failures.push('corruption: see above')
  } finally {
    await fx.cleanup()
  }
}

if (wants('diskfull')) {
  const r = await diskFullRun({ sizeMiB: 4, writeMiB: 64 })
  try {
    report('disk full', 'exit status / stopped after', `${r.status} / ${ms(r.ms)} (recorder start included)`)
    report('disk full', 'message', r.stderr.split('\n').filter((l) => l.startsWith('eyrie:')).join(' | '))
    report('disk full', 'events committed / files recorded / files short (being written) / wrong', `${r.committed} / ${r.files} / ${r.short.length} / ${r.wrong.length}`)
    report('disk full', 'workload processes left / workload ran on / writer lock left', `${r.leftovers.length} / ${r.finished} / ${r.lockLeft}`)
    const v = execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'eyrie.js'), '--journal', r.journal, 'verify'], { encoding: 'utf8' })
    report('disk full', 'eyrie verify afterwards', v.includes('│ 0        │') ? 'ok' : v)
    figures.diskFull = { status: r.status, ms: r.ms, committed: r.committed, files: r.files, short: r.short, wrong: r.wrong, leftovers: r.leftovers }
  } finally {
    await r.cleanup()
  }
}

if (wants('scanner')) {
  // with the default timeout (5 s), as a user gets it
  for (const [what, sig] of [['clamd killed', 'SIGKILL'], ['clamd stopped (SIGSTOP)', 'SIGSTOP']] as const) {
    const { dir, cleanup } = await tempDir('torture-clamd')
    const clamd = await startClamd({ signatures: SIGNATURES, dir })
    const pid = clamd.pid ?? 0
    try {
      if (!('socket' in clamd.endpoint)) throw new Error('a private clamd listens on a socket')
      const r = await faultRun({
        dir, socket: clamd.endpoint.socket, fault: () => void process.kill(pid, sig),
        heal: async () => {
          if (sig === 'SIGSTOP') process.kill(pid, 'SIGCONT')
          await new Promise((res) => setTimeout(res, 1500))
        },
      })
      report('scanner', `${what}: exit codes of runs 1-6`, r.codes.map((c) => c.split(' ')[1]).join(' '))
      report('scanner', `${what}: longest hold of the guest / 3 runs while broken`, `${ms(r.maxGapMs)} / ${ms(r.afterFaultMs)}`)
      report('scanner', `${what}: recorder exited by itself / processes left`, `${!r.hung} / ${r.leftovers.length}`)
      figures[`scanner ${what}`] = { codes: r.codes, maxGapMs: r.maxGapMs, afterFaultMs: r.afterFaultMs, hung: r.hung }
      if (r.hung || r.maxGapMs > 5500) failures.push(`scanner ${what}: held ${r.maxGapMs} ms, hung ${r.hung}`)
    } finally {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {
        // gone
      }
      await clamd.stop()
      await cleanup()
    }
  }
  for (const how of [{ kind: 'garbage', answer: Buffer.from('\x00\xffgarbage\n') }, { kind: 'hangup' }, { kind: 'silent' }, { kind: 'nonsense' }] as const) {
    const { dir, cleanup } = await tempDir('torture-fake')
    const fake = await FakeClamd.start(dir, how)
    try {
      const rec = startRecorder({ journal: join(dir, 'journal'), cwd: dir, argv: ['sh', '-c', 'echo ran > ran.txt'], options: ['--scan', '--clamd', fake.socket] })
      const e = await rec.exited
      report('scanner', `fake clamd that ${how.kind === 'garbage' ? 'answers garbage' : how.kind === 'hangup' ? 'hangs up' : how.kind === 'silent' ? 'never answers' : 'answers PING with nonsense'}: exit / whole run`, `${e.status} / ${ms(e.ms)}`)
    } finally {
      await fake.close()
      await cleanup()
    }
  }
}

if (wants('scale') && args.scale !== 'none') {
  const counts = args.scale === 'small' ? SMALL : ISSUE
  report('scale', 'counts', JSON.stringify(counts))
  for (const spec of await scaleSpecs(counts)) {
    const r = await scaleRun(spec)
    report('scale', `${spec.name}: exit / events / recorded / plain`, `${r.status} / ${r.events} / ${ms(r.recordMs)} / ${ms(r.plainMs)}`)
    report('scale', `${spec.name}: files compared / bytes / mismatches`, `${r.files} / ${r.bytes} / ${r.mismatches.length}`)
    report('scale', `${spec.name}: recorder peak RSS (VmHWM)`, `${(r.peakRssKiB / 1024).toFixed(1)} MiB`)
    figures[`scale ${spec.name}`] = { ...r, mismatches: r.mismatches.slice(0, 20), stderr: r.stderr.slice(-2000) }
    if (r.status !== 0 || r.mismatches.length > 0) failures.push(`scale ${spec.name}: ${r.mismatches.slice(0, 3).join(' | ') || r.stderr}`)
  }
}

console.log('\nsummary')
for (const [part, what, value] of rows) console.log(`  ${part.padEnd(11)} ${what.padEnd(72)} ${value}`)
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ ...figures, rows, failures }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2))
if (failures.length > 0) {
  console.log(`\n${failures.length} failure(s):\n  ${failures.join('\n  ')}`)
  process.exitCode = 1
}
