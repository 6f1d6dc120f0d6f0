// Names through /proc/self and /dev/fd mean the tracee's own entries, as the kernel takes them for
// it: the tracer resolved them as its own process's, so `rm /proc/self/cwd/x` was journaled as an
// unlink in eyrie's working directory and the file lived on in the replay.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstatSync } from 'node:fs'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { recordNatively } from '../support/e2e.js'

test('given a shell that renames and removes files by /proc/self/cwd names, and through a symlink to it, from a directory other than eyrie\'s, the replay follows the kernel', async () => {
  const script = [
    'mkdir sub && cd sub',
    'echo one > a && echo two > b',
    'mv /proc/self/cwd/a /proc/self/cwd/c',
    'rm /proc/self/cwd/b',
    'ln -s /proc/thread-self/cwd/c /proc/self/cwd/d',
    // a symlink of the directory's own to /proc/self/cwd: each process that walks it reaches its cwd
    'ln -s /proc/self/cwd cw && echo three > e && echo four > f',
    'mv cw/e cw/g && rm cw/f',
  ].join(' && ')
  assert.notEqual(process.cwd(), '/', 'eyrie runs in a directory of its own')
  const r = await recordNatively(['sh', '-c', script])
  try {
    const sub = join(r.dir, 'sub')
    const there = (p: string) => lstatSync(p, { throwIfNoEntry: false }) !== undefined
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    assert.deepEqual(names.map((n) => there(join(sub, n))), [false, false, true, true, false, false, true], 'the kernel')
    const w = await worldAt(r.journal, r.guest, r.events.length)
    // the names themselves (d leads where no replay can follow: a process's /proc)
    assert.deepEqual(names.map((n) => w.names.has(join(sub, n))), [false, false, true, true, false, false, true], 'the replay')
    assert.equal(w.nodes.get(w.names.get(join(sub, 'd')) ?? -1)?.target, '/proc/thread-self/cwd/c')
  } finally {
    await r.cleanup()
  }
})
