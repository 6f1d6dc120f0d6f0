// Re-renders the SVG charts of a results JSON (bench/results/.../<stem>.json) beside it, after a
// change to the charts: `node --import tsx bench/charts.ts FILE.json`.
import { readFileSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { writeCharts } from './suite/charts.js'
import type { Results } from './suite/report.js'

const file = process.argv[2]
if (file === undefined || !file.endsWith('.json')) {
  process.stderr.write('usage: node --import tsx bench/charts.ts RESULTS.json\n')
  process.exit(2)
}
const r = JSON.parse(readFileSync(file, 'utf8')) as Results
if (!Array.isArray(r.workloads) || !Array.isArray(r.measured)) {
  process.stderr.write(`${file}: not a benchmark results file (no workloads/measured)\n`)
  process.exit(1)
}
const charts = await writeCharts(r.workloads, r.measured, dirname(file), basename(file, '.json'))
for (const c of charts) process.stdout.write(`${dirname(file)}/${c.file}\n`)
