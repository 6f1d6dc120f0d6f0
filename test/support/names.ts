// The steps of the names workload (test/fixtures/tree-driver.py), shared by the names and export
// oracles: a few names in a few directories, so that steps meet each other's names often; symlinks
// to files, directories (the steps then go through them) and nothing; fifos, sockets and devices.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import fc from 'fast-check'
import type { Recorded } from './e2e.js'

const DRIVER = fileURLToPath(new URL('../fixtures/tree-driver.py', import.meta.url))

const name = fc.constantFrom('a', 'b', 'd', 'e', 'a/b', 'b/a', 'd/a', 'd/b', 'd/e', 'e/a', 'd/e/a')
export const nameStep = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir'), path: name }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmdir'), path: name }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create'), path: name, size: fc.nat(100) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink'), path: name }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('rename', 'noreplace', 'exchange', 'link', 'linkf'), path: name, to: name }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink'), path: name, to: fc.constantFrom('a', 'd', 'e', 'd/a', '../a', '..', 'missing') }) },
  // nodes made with no open: mknod (a fifo, a device, an empty file) and bind of a Unix socket
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mknod'), path: name, type: fc.constantFrom('fifo', 'socket', 'char', 'file') }) },
  // permissions, by name and through a descriptor (a directory's without x stops the steps below it)
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('chmod', 'fchmod'), path: name, mode: fc.constantFrom<number>(0o600, 0o755, 0o4755, 0o2711, 0o1777, 0o444, 0) }) },
  // owners (the test runs as root), by name, of a symlink itself and through a descriptor; -1 leaves one as it is
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('chown', 'lchown', 'fchown'), path: name, uid: fc.constantFrom(-1, 0, 7, 1000), gid: fc.constantFrom(-1, 0, 9) }) },
)
export type NameStep = typeof nameStep extends fc.Arbitrary<infer T> ? T : never

export type Special = 'fifo' | 'socket' | 'char' | 'block'
export type Entry = ['file', number] | ['dir', null] | ['symlink', string] | [Special, null]
export const isSpecial = (type: string): type is Special => type === 'fifo' || type === 'socket' || type === 'char' || type === 'block'
/** the driver's listing after a step: each entry with its inode number, permission bits, owner and group */
export type Listing = Record<string, [...Entry, number, number, number, number]>

/** The workload run under `record` in a work directory `w` it makes (so eyrie knows every name in
 *  it): the driver's listing after each step and the seq of each step's marker. */
export const runNames = async (record: (cmd: string[]) => Promise<Recorded>, steps: readonly NameStep[]) => {
  const r = await record(['sh', '-c', 'mkdir w && cd w && /usr/bin/python3 "$0" "$1" > ../out.txt', DRIVER, JSON.stringify(steps)])
  const listings = (await readFile(join(r.dir, 'out.txt'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Listing)
  const driver = r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
  const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === driver).map((e) => e.seq)
  assert.equal(markers.length, steps.length, 'one marker per step')
  return { r, listings, markers, top: join(r.dir, 'w') }
}
