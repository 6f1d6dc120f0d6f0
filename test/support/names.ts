// The steps of the names workload (test/fixtures/tree-driver.py), shared by the names and export
// oracles: a few names in a few directories, so that steps meet each other's names often; symlinks
// to files, directories (the steps then go through them) and nothing.
import fc from 'fast-check'

const name = fc.constantFrom('a', 'b', 'd', 'e', 'a/b', 'b/a', 'd/a', 'd/b', 'd/e', 'e/a', 'd/e/a')
export const nameStep = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir'), path: name }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmdir'), path: name }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create'), path: name, size: fc.nat(100) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink'), path: name }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('rename', 'noreplace', 'exchange', 'link', 'linkf'), path: name, to: name }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink'), path: name, to: fc.constantFrom('a', 'd', 'e', 'd/a', '../a', '..', 'missing') }) },
)
export type NameStep = typeof nameStep extends fc.Arbitrary<infer T> ? T : never
