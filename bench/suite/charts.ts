// One chart per workload group, like the paper's Figure 13: relative running time per setup
// (baseline = 1.0), bars at the median paired ratio, whiskers from the smallest to the largest.
// Vega-Lite compiles the spec, Vega renders it to SVG headless (renderer 'none': no canvas needed).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { WorkloadResult } from './report.js'
import { SETUP_LABELS, type SetupId } from './setups.js'
import { GROUP_TITLES, type Group } from './workloads.js'

/** Bars taller than this many times the baseline are cut at it (their label gives the value): one
 *  setup at 150x (sqlite under clamonacc) would otherwise flatten every other bar. */
const AXIS_CAP = 6

export interface Bar {
  readonly workload: string
  readonly setup: SetupId
  readonly median: number
  readonly min: number
  readonly max: number
}

export const chartSpec = (title: string, bars: readonly Bar[], setups: readonly SetupId[], measure = 'running time'): TopLevelSpec => {
  const order = setups.map((s) => SETUP_LABELS[s])
  const cut = bars.some((b) => b.max > AXIS_CAP)
  const top = cut ? AXIS_CAP : Math.max(1, ...bars.map((b) => b.max))
  const values = bars.map((b) => ({
    ...b, setup: SETUP_LABELS[b.setup], label: `${b.median > AXIS_CAP ? '> ' : ''}${b.median.toFixed(2)}`,
    median: Math.min(b.median, top), min: Math.min(b.min, top), max: Math.min(b.max, top),
  }))
  const x = { field: 'workload', type: 'nominal' as const, title: null, axis: { labelAngle: 0, labelLimit: 220 } }
  const xOffset = { field: 'setup', type: 'nominal' as const, sort: order }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `${measure} relative to the same workload unmonitored (median of paired runs; whiskers: min to max)${cut ? `; axis cut at ${AXIS_CAP}x, labels give the values` : ''}`,
    },
    // with xOffset the step is one bar's, not one workload's
    width: { step: 26 },
    height: 300,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x, xOffset,
          y: { field: 'median', type: 'quantitative', title: `relative ${measure} (baseline = 1.0)`, scale: { zero: true, domainMax: top } },
          color: { field: 'setup', type: 'nominal', sort: order, title: 'setup', scale: { domain: order, scheme: 'tableau10' }, legend: { labelLimit: 300 } },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { x, xOffset, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
      },
      {
        mark: { type: 'text', dy: -8, fontSize: 9, angle: 0 },
        encoding: { x, xOffset, y: { field: 'max', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' },
        encoding: { y: { datum: 1 } },
      },
    ],
  }
}

/** The chart as an SVG document. */
export const renderSvg = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** One chart per workload group and measure (running time, CPU time) under `outDir`; returns them. */
export const writeCharts = async (results: readonly WorkloadResult[], setups: readonly SetupId[], outDir: string, stem: string): Promise<Array<{ group: Group; measure: 'time' | 'cpu'; file: string }>> => {
  const charts: Array<{ group: Group; measure: 'time' | 'cpu'; file: string }> = []
  for (const group of Object.keys(GROUP_TITLES).filter((g): g is Group => g === 'compute' || g === 'files')) {
    for (const measure of ['time', 'cpu'] as const) {
      const bars: Bar[] = results.filter((w) => w.group === group).flatMap((w) => w.summaries.flatMap((s) => {
        const r = measure === 'time' ? s.ratio : s.cpuRatio
        return s.setup === 'baseline' || r === null ? [] : [{ workload: w.label, setup: s.setup, median: r.median, min: r.min, max: r.max }]
      }))
      if (bars.length === 0) continue
      const file = `${stem}-${group}${measure === 'cpu' ? '-cpu' : ''}.svg`
      const title = `eyrie and its peers: ${GROUP_TITLES[group]}${measure === 'cpu' ? ', CPU time' : ''}`
      writeFileSync(join(outDir, file), await renderSvg(chartSpec(title, bars, setups, measure === 'cpu' ? 'CPU time' : 'running time')))
      charts.push({ group, measure, file })
    }
  }
  return charts
}
