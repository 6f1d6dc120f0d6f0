// A process with a root of its own on eyrie's root mount (chroot): its absolute names mean files
// below that root, which the tracer names as the host knows them. The tracer's one-call walk
// (procfs.cc, kernelWalk) holds only for a task whose root is eyrie's: this one's is not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, lstatSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { recordNatively } from '../support/e2e.js'
import { compile } from './support.js'

const skip = process.getuid?.() === 0 ? false : 'needs root (chroot)'

test('given a program that chroots into its cwd, then renames /a, removes /c and chmods /l (a symlink to /x) there, the journal names the files below that root and the replay follows the kernel', { skip }, async () => {
  const program = await compile('chrooted')
  const r = await recordNatively(['sh', '-c', `echo a > a && echo c > c && echo x > x && ln -s /x l && chmod 644 x && exec ${program}`])
  try {
    const there = (n: string) => lstatSync(join(r.dir, n), { throwIfNoEntry: false }) !== undefined
    const names = ['a', 'b', 'c', 'l', 'x']
    assert.deepEqual(names.map(there), [false, true, false, true, true], 'the kernel')
    assert.equal(statSync(join(r.dir, 'x')).mode & 0o777, 0o600, 'the kernel')
    const w = await worldAt(r.journal, r.guest, r.events.length)
    assert.deepEqual(names.map((n) => w.names.has(join(r.dir, n))), [false, true, false, true, true], 'the replay')
    const x = w.nodes.get(w.names.get(join(r.dir, 'x')) ?? -1)
    assert.equal(x?.mode, 0o600, 'the replay: x as chmod left it')
  } finally {
    await r.cleanup()
  }
})
