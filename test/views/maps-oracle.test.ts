// The kernel as the oracle for `maps`: random steps map files (shared or private, any protection, at
// any offset), put anonymous memory over them, unmap, protect, move and shrink them, and rename,
// link, unlink and re-create the files mapped (python3 driver, recorded by the native interceptor). After
// every step the driver copies /proc/self/maps; eyrie's views of the process at that step's marker
// must list the same file-backed pages, with the same protection, sharing, offset and name (the
// kernel's " (deleted)" where the name a view shows is gone, even when the file has another); a forked
// child's at its own marker.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import fc from 'fast-check'
import { worldAt } from '../../src/engine/replay.js'
import { recordNatively, recordWithStrace, type Recorder } from '../support/e2e.js'
import { procMaps, viewRows, type MapsRow } from '../support/maps.js'
import { runs } from '../support/runs.js'

const DRIVER = fileURLToPath(new URL('../fixtures/maps-driver.py', import.meta.url))
const AREA = 24 // pages, as in the driver

const page = fc.nat(AREA - 1)
const pages = fc.integer({ min: 1, max: 8 })
const prot = fc.constantFrom(0, 1, 3, 5) // none, r, rw, rx
const file = fc.nat(3) // a, b, c (made at the start) and d
const step = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('map'), page, pages, file, rw: fc.boolean(), shared: fc.boolean(), prot, offset: fc.nat(15) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('anon', 'device'), page, pages }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unmap'), page, pages }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('protect'), page, pages, prot }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move'), page, pages, to: page, newPages: pages }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('shrink'), page, pages, by: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('rename', 'link'), file, to: file }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('unlink', 'create'), file }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork') }) },
)

// counterexamples the property found, each a wrong answer before its fix (2026-12-07)
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never
const found: Step[][] = [
  // anonymous memory moved over a file view (eyrie kept the view)
  [{ op: 'map', page: 1, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'move', page: 0, pages: 1, to: 1, newPages: 1 }],
  // a view of a file renamed over, then its old name renamed on (the view took the new name)
  [{ op: 'map', page: 0, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'rename', file: 1, to: 0 }, { op: 'rename', file: 0, to: 1 }],
  // shrinking in place across mappings unmaps only the tail (eyrie stretched the first over it)
  [{ op: 'map', page: 0, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'shrink', page: 0, pages: 3, by: 1 }],
  // mprotect that fails part way (EACCES at a shared view of a read-only fd) changed the ones before
  [{ op: 'map', page: 0, pages: 2, file: 0, rw: false, shared: true, prot: 0, offset: 0 }, { op: 'map', page: 0, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'protect', page: 0, pages: 2, prot: 3 }],
  // one mremap moving several mappings (Linux 6.17 and later; earlier it fails)
  [{ op: 'map', page: 0, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'move', page: 0, pages: 8, to: 8, newPages: 8 }],
  // mremap with MREMAP_FIXED unmaps where it moves to before it fails (here: a device's memory among
  // what it would move): the view there is gone though the call failed
  [{ op: 'map', page: 0, pages: 1, file: 0, rw: true, shared: false, prot: 0, offset: 0 }, { op: 'device', page: 7, pages: 1 }, { op: 'move', page: 6, pages: 6, to: 0, newPages: 6 }],
  // ... and moves mapping after mapping: those before the one it fails at have moved
  [{ op: 'device', page: 0, pages: 2 }, { op: 'map', page: 0, pages: 1, file: 0, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'move', page: 0, pages: 7, to: 7, newPages: 7 }],
  // ... a view of a file renamed over among them keeps its " (deleted)"
  [{ op: 'map', page: 0, pages: 1, file: 1, rw: false, shared: false, prot: 0, offset: 0 }, { op: 'rename', file: 0, to: 1 }, { op: 'move', page: 0, pages: 2, to: 2, newPages: 3 }],
]

/** The property under a recorder; `onlyOwn`: compare only the work directory's files (strace sees no
 *  mapping the kernel makes at exec: the program's, the loader's). */
const check = (record: Recorder, onlyOwn: boolean) => async (steps: Step[]): Promise<void> => {
  const r = await record(['sh', '-c', 'mkdir w && cd w && /usr/bin/python3 "$0" "$1" > ../out.txt', DRIVER, JSON.stringify(steps)])
  try {
    const copies = (await readFile(join(r.dir, 'out.txt'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as [number, string, [number, string] | null])
    const driver = r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
    assert.ok(driver !== undefined, 'the driver was exec\'d')
    const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === driver).map((e) => e.seq)
    assert.equal(markers.length, steps.length, 'one marker per step')
    for (const [k, seq] of markers.entries()) {
      const mine = (rows: MapsRow[]) => (onlyOwn ? rows.filter((m) => m.path.startsWith(r.dir)) : rows)
      const kernel = mine(procMaps(copies[k][1], true))
      assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, seq), driver)), kernel, `step ${k} (${JSON.stringify(steps[k])}) at #${seq}`)
      const child = copies[k][2]
      if (child === null) continue
      // a forked child has its parent's views, at its own marker
      const at = r.events.find((e) => e.kind === 'proc.chdir' && e.pid === child[0])?.seq
      assert.ok(at !== undefined, `step ${k}: the child's marker`)
      assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, at), child[0])), mine(procMaps(child[1], true)), `step ${k}, the child ${child[0]} at #${at}`)
    }
  } finally {
    await r.cleanup()
  }
}

test('native: given random mmap, munmap, mprotect and mremap of files run for real, maps at every step lists what /proc/self/maps listed', async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25, size: 'max' }), check(recordNatively, false)), {
    numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 60)),
    examples: found.map((steps): [Step[]] => [steps]),
  })
})

// strace cannot see what a failed call changed: an mprotect that fails part way (its shared views are
// of files opened read-write, which mprotect may always make writable) or an mremap that fails after
// it unmapped where it moves to (what makes it fail here is a device's memory among what it moves)
test('strace: given random mmap, munmap, mprotect and mremap of files run for real, the maps of its files at every step are what /proc/self/maps listed', async () => {
  const seen = step.filter((s) => s.op !== 'device').map((s): Step => (s.op === 'map' ? { ...s, rw: true } : s))
  const readWrite = fc.array(seen, { minLength: 1, maxLength: 25, size: 'max' })
  await fc.assert(fc.asyncProperty(readWrite, check(recordWithStrace, true)), { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 30)) })
})
