// The suite's paired ratios decide which setups run again: one far slower than every target runs once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FAR_OFF, farOff, type Sample } from '../../bench/suite/stats.js'
import type { SetupId } from '../../bench/suite/setups.js'

const run = (setup: SetupId, round: number, workloadMs: number): Sample => ({
  setup, round, workloadMs, totalMs: workloadMs + 100, cpuMs: null, peakRssKiB: null, journalBytes: null, writtenBytes: null,
  events: null, verdicts: null, byClamd: null, stops: null, tracerMs: null, recorderCpuMs: null,
})

test('given a setup over FAR_OFF times its neighbouring baselines in every run so far, then farOff gives its ratio; under it, or once under it, null', () => {
  const samples = [
    run('baseline', 0, 3000), run('strace', 0, 111_000), run('baseline', 0, 3400),
    run('eyrie', 0, 6400), run('baseline', 0, 3200),
  ]
  assert.equal(farOff(samples, 'strace'), 111_000 / 3200)
  assert.equal(farOff(samples, 'eyrie'), null, 'eyrie at 1.9x runs again')
  assert.equal(farOff(samples, 'clamonacc'), null, 'a setup that has not run yet')
  // a second run under the bound (a first one slowed by the machine, say): it keeps running
  const again = [...samples, run('strace', 1, 3300 * (FAR_OFF - 1)), run('baseline', 1, 3300)]
  assert.equal(farOff(again, 'strace'), null)
})
