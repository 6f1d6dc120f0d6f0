// chmod and chown by name and mkdir go without their exit stop: what they did is read from the file
// at the task's next stop, or at another task's stop once the file shows it as asked, or at the
// task's death. The kernel is the oracle: lstat at the end; the order is checked against a reader.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { record, tempDir } from './support.js'

const PY = [
  'import os',
  'os.mkdir("d")', // new: read at the open that follows
  'open("d/f", "w").close()',
  'os.chmod("d/f", 0o640); os.chown("d/f", 1234, 5678)',
  'os.chmod("d/f", 0o640)', // the same again: nothing changes, nothing more is journaled
  'try:\n  os.chmod("missing", 0o600)\nexcept FileNotFoundError:\n  pass',
  'os.mkdir("e"); os.chmod("d", 0o700)',
  'os.kill(os.getpid(), 9)', // no traced call after them: read at its death
].join('\n')

const exits = (calls: ReadonlyArray<{ readonly name: string; readonly exits: number }>, ...names: string[]): number =>
  calls.filter((c) => names.includes(c.name)).reduce((n, c) => n + c.exits, 0)

test('given mkdir, chmod and chown by name, a repeated chmod, one of a missing file, and a death right after, then none of them stops at its exit and the journal holds what the kernel does', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts, result } = await record(['python3', '-c', PY], dir)
    assert.equal(result.signal, 'SIGKILL')
    assert.equal(exits(result.stats.calls, 'mkdir', 'mkdirat', 'chmod', 'fchmodat', 'chown', 'fchownat'), 0, JSON.stringify(result.stats.calls))
    const made = drafts.filter((d) => d.body.kind === 'file.mkdir').map((d) => (d.body as { path: string }).path)
    assert.deepEqual(made, [join(dir, 'd'), join(dir, 'e')])
    const modes = drafts.flatMap((d) => (d.body.kind === 'file.chmod' ? [[d.body.path, d.body.mode] as const] : []))
    assert.deepEqual(modes, [[join(dir, 'd/f'), 0o640], [join(dir, 'd'), 0o700]])
    const owners = drafts.flatMap((d) => (d.body.kind === 'file.chown' ? [[d.body.path, d.body.uid, d.body.gid] as const] : []))
    assert.deepEqual(owners, [[join(dir, 'd/f'), 1234, 5678]])
    // each before what the program did next: the mkdir of d before the open in it
    const seqOf = (p: (d: Draft) => boolean) => drafts.findIndex(p)
    assert.ok(seqOf((d) => d.body.kind === 'file.mkdir') < seqOf((d) => d.body.kind === 'fd.open' && d.body.path === join(dir, 'd/f')))
    for (const [p, mode] of [['d', 0o700], ['d/f', 0o640], ['e', null]] as const) {
      const st = await lstat(join(dir, p))
      if (mode !== null) assert.equal(st.mode & 0o7777, mode, p)
    }
  } finally {
    await cleanup()
  }
})

test('given a chmod followed by a long sleep and another process that opens the file meanwhile, once the chmod is done, then the chmod is journaled before that open, not at the chmod\'s next call', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    // the reader opens the file once the chmod is done (a line through a pipe: no traced call)
    const py = 'import os, sys, time; os.chmod("f", 0o700); sys.stdout.write("done\\n"); sys.stdout.flush(); time.sleep(1.5)'
    const script = `touch f; python3 -c '${py}' | (read x; cat f > /dev/null)`
    const { drafts, result } = await record(['sh', '-c', script], dir)
    assert.equal(result.status, 0)
    const chmod = drafts.findIndex((d) => d.body.kind === 'file.chmod' && d.body.path === join(dir, 'f'))
    const opens = drafts.flatMap((d, i) => (d.body.kind === 'fd.open' && d.body.path === join(dir, 'f') ? [i] : []))
    assert.ok(chmod >= 0, 'the chmod is journaled')
    assert.equal((drafts[chmod].body as { mode: number }).mode, 0o700)
    // touch's open, then the chmod, then cat's open
    assert.equal(opens.length, 2)
    assert.ok(opens[0] < chmod && chmod < opens[1], `chmod at #${chmod}, opens at ${opens.join(', ')}`)
  } finally {
    await cleanup()
  }
})
