// Linux native AIO: io_submit hands the kernel writes with no write call (InnoDB's data files). Into
// a large file that existed before (whose writes eyrie journals one by one, its old bytes kept),
// under attach (every call journaled) and in strace's log (io_submit was not traced), they went
// unseen: eyrie served the bytes of the pwrite that came before, a wrong answer. The kernel is the
// oracle: the file's bytes after each step.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { materialize } from '../../src/engine/content.js'
import { worldAt } from '../../src/engine/replay.js'
import { contentPlan } from '../../src/projections/index.js'
import { attachNatively, recordNatively, recordWithStrace, type Recorded } from '../support/e2e.js'

const DRIVER = fileURLToPath(new URL('../fixtures/aio-driver.py', import.meta.url))
// written before the recording: 4 MiB, large enough for per-write records
const setup = async (dir: string): Promise<void> => {
  const big = Buffer.alloc(4 << 20)
  for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 10)) & 0xff
  await writeFile(join(dir, 'big'), big)
}
// the ranges each step writes, all of which eyrie must know after it
const WRITTEN: ReadonlyArray<ReadonlyArray<readonly [number, number]>> = [[[0, 13]], [[0, 10]], [[70000, 70015]], [[100, 105], [8192, 8198]]]

const check = async (r: Recorded): Promise<void> => {
  const path = join(r.dir, 'big')
  const driver = r.events.filter((e) => e.kind === 'proc.chdir').at(-1)?.pid
  const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === driver).map((e) => e.seq)
  assert.equal(markers.length, 4, 'one marker per step')
  for (const [k, seq] of markers.entries()) {
    const truth = await readFile(join(r.dir, 'snaps', String(k)))
    const plan = contentPlan(await worldAt(r.journal, r.guest, seq), path)
    // (strace shows no size of a file that existed before: the importer does not know it)
    assert.ok(plan.ok && (plan.size === truth.length || plan.size === null), `size at step ${k}`)
    const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
    // bytes eyrie never saw (most of the file) are unknown; what it knows is the kernel's
    for (const u of unknown) truth.copy(bytes, u.start, u.start, Math.min(u.end, bytes.length))
    const same = truth.subarray(0, bytes.length)
    assert.ok(bytes.equals(same), `known bytes at step ${k} (#${seq}): ${JSON.stringify(bytes.subarray(0, 16).toString('latin1'))} against ${JSON.stringify(same.subarray(0, 16).toString('latin1'))}`)
    for (const [from, to] of WRITTEN.slice(0, k + 1).flat()) {
      assert.ok(to <= bytes.length && !unknown.some((u) => u.start < to && u.end > from), `[${from}, ${to}) known at step ${k}`)
    }
  }
}

const cmd = ['sh', '-c', 'mkdir -p snaps && exec python3 "$0" big snaps', DRIVER]

const recorders = [
  ['native', (c: string[]) => recordNatively(c, { setup })],
  ['native, attached', (c: string[]) => attachNatively(c, { setup })],
  ['strace import', (c: string[]) => recordWithStrace(c, { setup })],
] as const
for (const [label, record] of recorders) {
  test(`${label}: given AIO writes (io_submit: pwrite, pwritev, two in one submission) into a large file that existed before, every byte eyrie knows after each is the kernel's, the written ones included`, async () => {
    const r = await record(cmd)
    try {
      await check(r)
    } finally {
      await r.cleanup()
    }
  })
}
