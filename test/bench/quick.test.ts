// The benchmark suite's quick mode, run once as a user runs it: tiny inputs, one round, every setup this
// machine offers, two workloads (one per chart group) and the engine's quick benchmark. Results go to a
// temporary directory, never into bench/results/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { PathReporter } from 'io-ts/lib/PathReporter.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const LIMIT_MS = 90_000

const Spread = t.union([t.null, t.type({ median: t.number, min: t.number, max: t.number, n: t.number })])
const Results = t.type({
  setups: t.array(t.type({ id: t.string, available: t.boolean })),
  workloads: t.array(t.type({
    id: t.string,
    failures: t.array(t.unknown),
    summaries: t.array(t.type({ setup: t.string, runs: t.number, medianMs: t.number, ratio: Spread, cpuRatio: Spread, peakRssKiB: t.union([t.number, t.null]), journalBytes: t.union([t.number, t.null]), stops: t.union([t.number, t.null]), tracerMs: t.union([t.number, t.null]), recorderCpuMs: t.union([t.number, t.null]) })),
  })),
  engine: t.array(t.type({ id: t.string, ok: t.boolean })),
  charts: t.array(t.type({ group: t.string, measure: t.string, file: t.string })),
})

test('given the quick suite, when it runs, then it writes a markdown table, JSON and one SVG chart per group, all with positive figures', { timeout: LIMIT_MS + 10_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'eyrie-bench-out-'))
  const work = mkdtempSync(join(tmpdir(), 'eyrie-bench-work-'))
  try {
    const t0 = Date.now()
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'bench/suite/main.ts'), '--quick', '--out', out, '--work', work, '--workloads', '7z-decompress,tar-extract', '--engine', 'engine'],
      { cwd: REPO, encoding: 'utf8', timeout: LIMIT_MS, killSignal: 'SIGINT' })
    const took = Date.now() - t0
    assert.equal(r.status, 0, `bench exited with ${r.status ?? r.signal} after ${took} ms:\n${r.stderr.slice(-3000)}`)
    assert.ok(took < LIMIT_MS, `the quick suite took ${took} ms`)

    const files = readdirSync(out)
    const md = files.filter((f) => f.endsWith('.md'))
    const json = files.filter((f) => f.endsWith('.json'))
    assert.equal(md.length, 1, files.join(' '))
    assert.equal(json.length, 1, files.join(' '))
    const decoded = Results.decode(JSON.parse(readFileSync(join(out, json[0]), 'utf8')))
    if (E.isLeft(decoded)) assert.fail(PathReporter.report(decoded).join('\n'))
    const results = decoded.right

    const available = results.setups.filter((s) => s.available).map((s) => s.id)
    assert.ok(available.includes('baseline') && available.includes('eyrie') && available.includes('ptrace-floor'), available.join(' '))
    assert.deepEqual(results.workloads.map((w) => w.id), ['7z-decompress', 'tar-extract'])
    for (const w of results.workloads) {
      assert.deepEqual(w.failures, [], w.id)
      assert.deepEqual(w.summaries.map((s) => s.setup).sort(), [...available].sort(), w.id)
      for (const s of w.summaries) {
        assert.ok(s.medianMs > 0, `${w.id} ${s.setup}: ${s.medianMs} ms`)
        assert.ok(s.ratio !== null && s.ratio.median > 0 && s.ratio.min > 0, `${w.id} ${s.setup}: ratio ${JSON.stringify(s.ratio)}`)
        // CPU is net of the setup's idle start-up CPU: on the quick inputs a run of eyrie can use no
        // more than its idle run did, so 0 is a possible figure (the full inputs dwarf start-up)
        assert.ok(s.cpuRatio === null || (s.cpuRatio.min >= 0 && Number.isFinite(s.cpuRatio.max)), `${w.id} ${s.setup}: CPU ratio ${JSON.stringify(s.cpuRatio)}`)
        if (s.setup === 'eyrie') {
          assert.ok((s.peakRssKiB ?? 0) > 0, `${w.id}: eyrie's peak RSS`)
          assert.ok((s.journalBytes ?? 0) > 0, `${w.id}: eyrie's journal size`)
          assert.ok((s.stops ?? 0) > 0 && (s.tracerMs ?? 0) > 0, `${w.id}: eyrie's stops and tracer time (record --stats): ${s.stops}, ${s.tracerMs}`)
          assert.ok((s.recorderCpuMs ?? 0) > 0, `${w.id}: the recorder's CPU time (record --stats): ${s.recorderCpuMs}`)
        }
        // the null tracer stops where eyrie's filter says, at least at each exec and each file the workload opens
        if (s.setup === 'ptrace-floor') assert.ok((s.stops ?? 0) > 10, `${w.id}: the floor's stops: ${s.stops}`)
      }
    }
    assert.deepEqual(results.engine.map((e) => [e.id, e.ok]), [['engine', true]])

    const table = readFileSync(join(out, md[0]), 'utf8')
    assert.match(table, /\| workload \| baseline \| eyrie record \|/)
    assert.match(table, /\| 7z decompress \(1 thread\) \| [\d.]+ s .*\| [\d.]+x/)
    assert.match(table, /\| tar extract \(200 files\) \| [\d.]+ s .*\| [\d.]+x/)
    assert.match(table, /\| fold, metadata events\/s/)
    assert.match(table, /\| tar extract \(200 files\) \| eyrie record \|( [^|]+ \|){6} [\d,]+ \| [\d.]+ \|/, 'stops and tracer seconds in the monitors table')

    const timeCharts = results.charts.filter((c) => c.measure === 'time')
    assert.deepEqual(timeCharts.map((c) => c.group).sort(), ['compute', 'files'])
    for (const c of timeCharts) {
      const svg = readFileSync(join(out, c.file), 'utf8')
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
      assert.match(svg, c.group === 'compute' ? /7z decompress/ : /tar extract/)
      assert.match(table, new RegExp(`!\\[${c.group}\\]\\(${c.file.replace(/[.]/g, '\\.')}\\)`))
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
    rmSync(work, { recursive: true, force: true })
  }
})
