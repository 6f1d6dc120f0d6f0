// The kernel as the oracle for names: random steps on directories, files, hard links and symlinks
// (mkdir, rmdir, create, unlink, rename, renameat2 NOREPLACE and EXCHANGE, link, linkat with
// AT_SYMLINK_FOLLOW, symlink, mknod, bind of a Unix socket, chmod, fchmod, chown, lchown, fchown)
// run for real; after every step the driver lists its tree, and eyrie's `ls` at that step's marker
// must hold the same names with the same types, sizes and symlink targets, the same permissions and
// owners wherever it knows them (natively: always), and the same files: names are of one
// node where they are of one inode, at one step and across two (assertSameFiles). The work directory
// is made inside the recording, so eyrie knows every name in it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { worldAt } from '../../src/engine/replay.js'
import { ls } from '../../src/projections/index.js'
import { RECORDERS } from '../support/e2e.js'
import { runs } from '../support/runs.js'
import { nameStep, runNames, type Entry, type NameStep } from '../support/names.js'

// linkat with AT_SYMLINK_FOLLOW of a symlink links the file it leads to (strace's importer linked the
// symlink before 2026-12-07)
const FOLLOWED: NameStep[] = [
  { op: 'create', path: 'a', size: 3 },
  { op: 'symlink', path: 'd', to: 'a' },
  { op: 'linkf', path: 'd', to: 'e' },
]

// a writer's open of a fifo with no reader blocks for ever: the driver opens with O_NONBLOCK, so it
// fails (ENXIO) and the fifo stays one (the suite hung on this before the driver did)
const FIFO_WRITTEN: NameStep[] = [
  { op: 'mknod', path: 'a', type: 'fifo' },
  { op: 'create', path: 'a', size: 3 },
  { op: 'symlink', path: 'd', to: 'a' },
  { op: 'create', path: 'd', size: 1 },
]

// a mode changed through a descriptor of a fifo (no regular file) shows at its close too
const FIFO_MODES: NameStep[] = [
  { op: 'mknod', path: 'a', type: 'fifo' },
  { op: 'chmod', path: 'a', mode: 0o600 },
  { op: 'fchmod', path: 'a', mode: 0o4755 },
  { op: 'mkdir', path: 'd' },
  { op: 'fchmod', path: 'd', mode: 0o1777 },
  { op: 'fchown', path: 'a', uid: 7, gid: -1 },
  { op: 'symlink', path: 'e', to: 'a' },
  { op: 'lchown', path: 'e', uid: 1000, gid: 9 },
  { op: 'chown', path: 'e', uid: -1, gid: 9 },
]

// a chown of anything but a directory takes set-user-ID away (root's too), and set-group-ID where
// the group may execute (the importer's fold kept them: strace shows no stat)
const CHOWN_KILLS_SETID: NameStep[] = [
  { op: 'create', path: 'a', size: 1 },
  { op: 'chmod', path: 'a', mode: 0o6755 },
  { op: 'chown', path: 'a', uid: -1, gid: -1 },
  { op: 'create', path: 'b', size: 1 },
  { op: 'chmod', path: 'b', mode: 0o6745 },
  { op: 'chown', path: 'b', uid: 7, gid: -1 },
  { op: 'mkdir', path: 'd' },
  { op: 'chmod', path: 'd', mode: 0o6755 },
  { op: 'chown', path: 'd', uid: 7, gid: 9 },
]

/** Identity: inode numbers and eyrie's nodes pair one to one over the names of two consecutive steps
 *  (or one): names of one file are one node, a file renamed or linked keeps its node, and a new file
 *  (a name's new inode) has a new node. What `diff` tells a rename from a delete and a create by. */
const assertSameFiles = (pairs: ReadonlyArray<readonly [number, number | undefined, string]>, what: string): void => {
  const nodeOf = new Map<number, number | undefined>()
  const inodeOf = new Map<number | undefined, number>()
  for (const [ino, node, name] of pairs) {
    if (nodeOf.has(ino)) assert.equal(node, nodeOf.get(ino), `${what}: ${name} is inode ${ino}, node ${nodeOf.get(ino)} before`)
    if (inodeOf.has(node)) assert.equal(ino, inodeOf.get(node), `${what}: ${name} is node ${node}, inode ${inodeOf.get(node)} before`)
    nodeOf.set(ino, node)
    inodeOf.set(node, ino)
  }
}

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given random steps on names run for real, then at every step eyrie's ls holds the names the kernel lists, with their types, sizes and symlink targets`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nameStep, { minLength: 1, maxLength: 25, size: 'max' }), async (steps) => {
        const { r, listings, markers, top } = await runNames(record, steps)
        try {
          let last: Array<readonly [number, number | undefined, string]> = []
          for (const [k, seq] of markers.entries()) {
            const w = await worldAt(r.journal, r.guest, seq)
            const known: Record<string, Entry> = {}
            for (const e of ls(w, top)) {
              if (e.path === top) continue
              known[relative(top, e.path)] = e.type === 'dir' ? ['dir', null] : e.type === 'symlink' ? ['symlink', e.target ?? '?'] : e.type === 'file' ? ['file', e.size ?? -1] : [e.type, null]
            }
            const what = `step ${k} (${JSON.stringify(steps[k])}) at #${seq}`
            assert.deepEqual(known, Object.fromEntries(Object.entries(listings[k]).map(([p, e]) => [p, e.slice(0, 2)])), what)
            for (const e of ls(w, top)) {
              const listed = listings[k][relative(top, e.path)]
              if (listed === undefined) continue
              // the interceptor stats every node made (open, mkdir, mknod, bind, symlink) and changed;
              // strace shows a call's values, not the umask or the caller's ids
              if (recorder === 'native') assert.ok(e.mode !== null && e.uid !== null && e.gid !== null, `${what}: mode or owner of ${e.path} not known`)
              if (e.uid !== null) assert.equal(e.uid, listed[4], `${what}: owner of ${e.path}`)
              if (e.gid !== null) assert.equal(e.gid, listed[5], `${what}: group of ${e.path}`)
              if (e.type !== 'symlink' && e.mode !== null) assert.equal(e.mode.toString(8), listed[3].toString(8), `${what}: mode of ${e.path}`)
            }
            const pairs = Object.entries(listings[k]).map(([p, e]) => [e[2], w.names.get(join(top, p)), p] as const)
            assertSameFiles([...last, ...pairs], what)
            last = pairs
          }
        } finally {
          await r.cleanup()
        }
      }),
      { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 40)), examples: [[FOLLOWED], [FIFO_WRITTEN], [FIFO_MODES], [CHOWN_KILLS_SETID]] },
    )
  })
}
