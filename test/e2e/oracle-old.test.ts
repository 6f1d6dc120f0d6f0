// The kernel as the oracle for files that existed before the recording: a small one is copied whole
// at its first open for writing, a larger one keeps pre-images before each write, the rest of it
// stays unknown. Where the state at every step is exact (program order, attach, two processes taking
// turns), the test reads the files itself from outside the recording while the driver waits after
// each step, and checks every byte eyrie knows there and between steps; elsewhere at checks and looks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { worldAt } from '../../src/engine/replay.js'
import { attachNatively, recordNatively } from '../support/e2e.js'
import { assertBetween, assertFdTable, assertSpawned, bytesOf, handleStep, initialFile, observeStep, pace, PATHS, runDriver, unknownBytes } from '../support/driver.js'
import { runs } from '../support/runs.js'

// In program order the state at every traced call of the driver is exact: there the test checks each
// step against what it read from outside; the large files' rules are exact at checks and looks.
// Attached to, the driver has its old files open from before (in the snapshot) and every call stops.
// Two workers take turns (the test's pace orders their steps): a file one writes, the other looks at;
// with every written file large, only such a look (an open by another) makes the writer's bytes exact.
type RecordSetup = (dir: string) => Promise<void>
const variants = [
  { label: 'up to 1 MiB in program order', everyStep: true, workers: 1, record: (cmd: string[], setup: RecordSetup) => recordNatively(cmd, { setup }) },
  { label: 'every written file large', everyStep: false, workers: 1, record: (cmd: string[], setup: RecordSetup) => recordNatively(cmd, { setup, programOrderBytes: 0 }) },
  { label: 'attached to, the old files open from before', everyStep: true, workers: 1, record: (cmd: string[], setup: RecordSetup) => attachNatively(cmd, { setup }) },
  { label: 'two processes taking turns', everyStep: true, workers: 2, record: (cmd: string[], setup: RecordSetup) => recordNatively(cmd, { setup }) },
  { label: 'two processes taking turns, every written file large', everyStep: false, workers: 2, record: (cmd: string[], setup: RecordSetup) => recordNatively(cmd, { setup, programOrderBytes: 0 }) },
] as const

for (const { label, everyStep, workers, record } of variants) {
  const paced = everyStep || workers === 2 // two workers take turns only at the test's pace
  const anyStep = fc.oneof({ weight: 12, arbitrary: observeStep }, { weight: 1, arbitrary: handleStep })
  const steps = fc.array(fc.tuple(anyStep, fc.nat(workers - 1)).map(([s, by]) => ({ ...s, by })), { minLength: 1, maxLength: 30, size: 'max' })
  test(`native, ${label}: given files that existed before the recording and random workloads over them, then every byte eyrie knows${everyStep ? ' after each step (read from outside) and' : ''} at each check and look is the kernel's, the fd table after each step is the kernel's, and bytes are unknown only where such files were`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(initialFile, initialFile, initialFile), steps, async (initial, steps) => {
        let outside: Awaited<ReturnType<typeof pace>> | undefined
        const setup = async (dir: string): Promise<void> => {
          await mkdir(join(dir, 'w'))
          for (const [i, f] of initial.entries()) {
            const bytes = bytesOf(f)
            if (bytes !== null) await writeFile(join(dir, 'w', PATHS[i]), bytes)
          }
          if (paced) outside = await pace(dir, steps)
        }
        let recorded: Awaited<ReturnType<typeof runDriver>>
        try {
          recorded = await runDriver((cmd) => record(cmd, setup), steps, { observe: true, snaps: true, pause: paced, workers })
        } catch (err) {
          await outside?.finish().catch(() => {}) // the recording's error says more
          throw err
        }
        await outside?.finish()
        const { r, reports, markers } = recorded
        const old = initial.some((f) => f.kind !== 'none')
        try {
          let next = 0
          let unknown = 0
          const stepMarkers: number[] = []
          for (const [k, report] of reports.entries()) {
            const what = `step ${k} (${JSON.stringify(steps[k])})`
            for (const [j, pair] of (report[4] === '-' ? [] : report[4].split(',')).entries()) {
              const file = pair.split(':')[0]
              const at = markers[next++]
              const got = await readFile(join(r.dir, 'snap', `look${k}-${j}`))
              if (file !== '-') unknown += await unknownBytes(r, at, join(r.dir, 'w', PATHS[Number(file)]), got, `${what}, look ${j}`)
            }
            const stepAt = markers[next++]
            await assertFdTable(r, stepAt, report[5], what)
            await assertSpawned(r, report[6], what)
            if (everyStep && outside !== undefined) {
              const w = await worldAt(r.journal, r.guest, stepAt)
              for (const [i, name] of PATHS.entries()) {
                const truth = outside.states[k][i]
                const before = k === 0 ? bytesOf(initial[i]) : outside.states[k - 1][i]
                const path = join(r.dir, 'w', name)
                if (truth === null) assert.equal(w.names.get(path), undefined, `${what}: ${name} is absent`)
                else unknown += await unknownBytes(r, stepAt, path, truth, `${what}, read from outside`, !old)
                if (truth !== null && before !== null) await assertBetween(r, k === 0 ? 0 : stepMarkers[k - 1], stepAt, path, before, truth, what)
              }
            }
            stepMarkers.push(stepAt)
            const at = markers[next++]
            for (const [i, name] of PATHS.entries()) {
              if (report[i + 1] === '?' || report[i + 1] === '-') continue // not looked at; absent (the other oracles check that)
              const truth = await readFile(join(r.dir, 'snap', `${k}-${name}`))
              unknown += await unknownBytes(r, at, join(r.dir, 'w', name), truth, `${what}, after the opens by name`)
            }
          }
          if (!old) assert.equal(unknown, 0, 'every file was made in the recording: every byte is known')
        } finally {
          await r.cleanup()
        }
      }),
      { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 40)) },
    )
  })
}
