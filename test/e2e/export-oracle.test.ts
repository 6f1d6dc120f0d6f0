// The kernel as the oracle for `export --at T`: the names workload (directories, files, hard links,
// symlinks; test/fixtures/tree-driver.py) run for real under the native interceptor, and at every
// step's marker eyrie exports the work directory; the exported tree must hold the names the driver
// listed there, with the same types, sizes and symlink targets, files and directories with the
// kernel's permissions less set-user-ID and set-group-ID, and names of one file (hard links)
// exported as one file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { exportAt } from '../../src/forensic/export.js'
import { openDirTarget, ROOT } from '../../src/forensic/exportTargets.js'
import { recordNatively } from '../support/e2e.js'
import { runs } from '../support/runs.js'
import { isSpecial, nameStep, runNames, type Listing } from '../support/names.js'

const partition = <T>(xs: readonly T[], test: (x: T) => boolean): [T[], T[]] => [xs.filter(test), xs.filter((x) => !test(x))]

type Exported = Record<string, [string, number | string | null, number, number]>

/** The exported tree below `top`, as the driver lists its own: [type, size or target, inode, permission bits]. */
const listExport = async (top: string): Promise<Exported> => {
  const out: Exported = {}
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name)
      const st = await lstat(p)
      const rel = relative(top, p)
      const mode = st.mode & 0o7777
      if (st.isDirectory()) {
        out[rel] = ['dir', null, st.ino, mode]
        await walk(p)
      } else if (st.isSymbolicLink()) out[rel] = ['symlink', await readlink(p), st.ino, mode]
      else out[rel] = ['file', st.size, st.ino, mode]
    }
  }
  await walk(top)
  return out
}

/** Inode numbers replaced by the first name (in sorted order) of each file: comparable across trees. */
const byFirstName = (l: Exported | Listing): Record<string, [string, number | string | null, string]> => {
  const first = new Map<number, string>()
  for (const name of Object.keys(l).sort()) if (!first.has(l[name][2])) first.set(l[name][2], name)
  return Object.fromEntries(Object.entries(l).map(([name, [type, what, ino]]) => [name, [type, what, type === 'file' ? (first.get(ino) ?? '?') : '-']]))
}

test('native: given random steps on names run for real, an export at every step holds the tree the kernel listed, hard links as one file', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(nameStep, { minLength: 1, maxLength: 20, size: 'max' }), async (steps) => {
      const { r, listings, markers, top } = await runNames(recordNatively, steps)
      const out = await mkdtemp(join(tmpdir(), 'eyrie-export-oracle-'))
      try {
        for (const [k, seq] of markers.entries()) {
          const dir = join(out, String(k))
          const m = await exportAt(r.journal, r.guest, seq, () => openDirTarget(dir), { under: top })
          const exported = await listExport(join(dir, ROOT, top))
          const what = `step ${k} (${JSON.stringify(steps[k])}) at #${seq}`
          // fifos, sockets and devices are listed in the manifest, not made
          const [specials, rest] = partition(Object.entries(listings[k]), ([, [type]]) => isSpecial(type))
          assert.deepEqual(byFirstName(exported), byFirstName(Object.fromEntries(rest)), what)
          const modes = (entries: ReadonlyArray<readonly [string, readonly [string, unknown, number, number, ...unknown[]]]>) =>
            Object.fromEntries(entries.filter(([, [type]]) => type !== 'symlink').map(([p, e]) => [p, (e[3] & 0o1777).toString(8)]))
          assert.deepEqual(modes(Object.entries(exported)), modes(rest), `${what}: modes`)
          assert.deepEqual(m.specials.map((s) => [relative(top, s.path), s.type]), specials.map(([p, [type]]) => [p, type]).sort(), what)
        }
      } finally {
        await rm(out, { recursive: true, force: true })
        await r.cleanup()
      }
    }),
    { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 20)) },
  )
})
