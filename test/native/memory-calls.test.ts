// munmap, mprotect, mremap and MAP_FIXED anonymous mmap stop at their entry (the filter cannot tell
// memory apart), but only those that may touch a file view the journal holds need their exit and a
// record: the tracer keeps where each address space's views are (src/native/ranges.h). The kernel is
// the oracle: a view moved to memory that never held one, then unmapped there, and one a forked child
// unmaps, must leave eyrie's views at each step what /proc/self/maps listed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { worldAt } from '../../src/engine/replay.js'
import { attachNatively, recordNatively, type Recorded } from '../support/e2e.js'
import { procMaps, viewRows } from '../support/maps.js'

const CHURN = 300

const DRIVER = fileURLToPath(new URL('../fixtures/memory-calls-driver.py', import.meta.url))

const check = async (r: Recorded): Promise<void> => {
  const markers = (pid: number) => r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === pid).map((e) => e.seq)
  const driver = Number(await readFile(join(r.dir, 'pid'), 'utf8'))
  const memory = r.events.filter((e) => e.pid === driver && (e.kind === 'view.unmap' || e.kind === 'view.protect' || e.kind === 'view.remap'))
  // the interpreter's own (its loader's mprotects, its arenas) and the file view's five: not the churn's
  assert.ok(memory.length < CHURN / 2, `${memory.length} memory records of the driver: the anonymous ones are journaled`)
  assert.equal(memory.filter((e) => e.kind === 'view.remap').length, 1)
  const mine = (rows: ReturnType<typeof procMaps>) => rows.filter((m) => m.path === join(r.dir, 'f'))
  const steps = markers(driver)
  assert.equal(steps.length, 5)
  for (const [k, seq] of steps.entries()) {
    const kernel = mine(procMaps(await readFile(join(r.dir, `m${k + 1}`), 'utf8'), true))
    assert.ok(k === 4 ? kernel.length === 0 : kernel.length > 0, `step ${k + 1}: the kernel's maps`)
    assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, seq), driver)), kernel, `step ${k + 1} at #${seq}`)
  }
  const child = r.events.find((e) => e.kind === 'proc.chdir' && e.pid !== driver && e.seq > steps[2])?.pid
  assert.ok(child !== undefined)
  const [at] = markers(child)
  assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, at), child)), mine(procMaps(await readFile(join(r.dir, 'c1'), 'utf8'), true)), `the child at #${at}`)
}

test('given memory calls on anonymous memory and on a file view moved into it, then only those on the view are journaled, and views at each step are what /proc/self/maps listed', async () => {
  const r = await recordNatively(['python3', DRIVER, String(CHURN)])
  try {
    await check(r)
  } finally {
    await r.cleanup()
  }
})

// attach: where the view made before eyrie came is, R(0) says (every call stops there, but only
// those on a view are journaled)
test('attached to a process holding a file view, given memory calls on anonymous memory and on that view, then only those on the view are journaled, and views at each step are what /proc/self/maps listed', async () => {
  const r = await attachNatively(['python3', DRIVER, String(CHURN), 'attach'])
  try {
    await check(r)
  } finally {
    await r.cleanup()
  }
})
