// One chart per workload group, like the paper's Figure 13: relative running time per setup
// (baseline = 1.0), bars at the median paired ratio, whiskers from the smallest to the largest.
// Vega-Lite compiles the spec, Vega renders it to SVG headless (renderer 'none': no canvas needed).
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import { SETUP_LABELS, type SetupId } from './setups.js'

export interface Bar {
  readonly workload: string
  readonly setup: SetupId
  readonly median: number
  readonly min: number
  readonly max: number
}

export const chartSpec = (title: string, bars: readonly Bar[], setups: readonly SetupId[], measure = 'running time'): TopLevelSpec => {
  const order = setups.map((s) => SETUP_LABELS[s])
  const values = bars.map((b) => ({ ...b, setup: SETUP_LABELS[b.setup], label: `${b.median.toFixed(2)}` }))
  const x = { field: 'workload', type: 'nominal' as const, title: null, axis: { labelAngle: 0, labelLimit: 220 } }
  const xOffset = { field: 'setup', type: 'nominal' as const, sort: order }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `${measure} relative to the same workload unmonitored (median of paired runs; whiskers: min to max)` },
    width: { step: 26 * Math.max(1, order.length) },
    height: 300,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x, xOffset,
          y: { field: 'median', type: 'quantitative', title: `relative ${measure} (baseline = 1.0)`, scale: { zero: true } },
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
