// The kernel as the oracle: random file workloads run for real (python3 driver, recorded by strace
// and by the native interceptor); after
// every step the driver reports each file's sha256 and eyrie's content at that step must hash the same.
// The work directory is made inside the recording, so eyrie knows every name in it. The native
// interceptor reads written files back at the points where they can be observed; its own test adds
// steps that observe a file through a descriptor (a copy out of it, a view of it), also with every
// written file treated as large (read at those points only, not at each call of its writer).
// Files that existed before the recording: oracle-old.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import fc from 'fast-check'
import { contentAt, recordNatively, recordWithStrace, RECORDERS, type Recorder } from '../support/e2e.js'
import { assertFdTable, assertFiles, assertSpawned, observeStep, PATHS, runDriver, step } from '../support/driver.js'
import { runs } from '../support/runs.js'

for (const [name, record] of RECORDERS) {
  test(`${name}: given random write/pwrite/lseek/read/truncate/rename/link/unlink workloads run for real, content at every step hashes as the kernel reported`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const { r, reports, markers } = await runDriver(record, steps)
        try {
          for (const [k, seq] of markers.entries()) await assertFiles(r, seq, reports[k], `step ${k} (${JSON.stringify(steps[k])})`)
        } finally {
          await r.cleanup()
        }
      }),
      { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 40)) },
    )
  })
}

// a copy or view of a file another slot wrote since it was last looked at comes in ~4 runs of 100;
// the rules it tests are the large files' (src/native/deferred.cc), so that variant runs most. The
// last two know every position (a stop at every write; strace sees every call): checked too. strace
// has no snapshot: the descriptors the driver inherited (the test's own, stdin) are not its to know.
const variants: ReadonlyArray<readonly [string, Recorder, number, boolean]> = [
  ['native, up to 1 MiB in program order', (cmd) => recordNatively(cmd), 40, false],
  ['native, every written file large', (cmd) => recordNatively(cmd, { programOrderBytes: 0 }), 100, false],
  ['native, a stop at every write', (cmd) => recordNatively(cmd, { writes: 'stop' }), 20, true],
  ['strace', recordWithStrace, 20, true],
]
for (const [label, record, count, exactPositions] of variants) {
  const inherited = record === recordWithStrace
  test(`${label}: given random workloads that also dup, open read-only, write from a child, copy out of and map their files, then what each copy or view got is the file's content there, the fd table after each step is the kernel's, and where the driver opens every file by name each one hashes as the kernel reported`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observeStep, { minLength: 1, maxLength: 30, size: 'max' }), async (steps) => {
        const { r, reports, markers } = await runDriver(record, steps, { observe: true })
        try {
          let positions = 0
          let next = 0 // markers in order: one after each look, then after the step, then after the hashing
          for (const [k, report] of reports.entries()) {
            const what = `step ${k} (${JSON.stringify(steps[k])})`
            for (const pair of report[4] === '-' ? [] : report[4].split(',')) {
              const [file, seen] = pair.split(':')
              const at = markers[next++]
              if (file === '-') continue // a file no name has: nothing to ask content() about
              const path = join(r.dir, 'w', PATHS[Number(file)])
              const got = createHash('sha256').update(await contentAt(r, at, path)).digest('hex')
              assert.equal(got, seen, `${what}: what the call got from ${path}, at #${at}`)
            }
            positions += (await assertFdTable(r, markers[next++], report[5], what, inherited ? join(r.dir, 'w') : '/')).positions // at the step's own marker
            await assertSpawned(r, report[6], what, inherited ? join(r.dir, 'w') : '/')
            await assertFiles(r, markers[next++], report, `${what}, after the opens by name`)
          }
          if (exactPositions && steps.some((s) => s.op === 'open')) assert.ok(positions > 0, 'positions were checked')
        } finally {
          await r.cleanup()
        }
      }),
      { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? count)) },
    )
  })
}
