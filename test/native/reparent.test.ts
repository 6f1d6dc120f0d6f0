// A process whose parent exits gets another from the kernel (init, or the nearest subreaper); `ps`
// said the parent at fork forever. The kernel is the oracle: the grandchild reports getppid() before
// and after its parent exits (a marker after each), under a top process that is a subreaper or not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { ps } from '../../src/projections/index.js'
import { recordNatively } from '../support/e2e.js'

const SCRIPT = `
import ctypes, os, sys, time
if sys.argv[1] == 'subreaper':
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
child = os.fork()
if child == 0:
    r, w = os.pipe()
    g = os.fork()
    if g == 0:
        os.close(w)
        said = [(os.getpid(), os.getppid())]; os.chdir('.')
        os.read(r, 1)  # its parent is gone when the pipe closes
        while os.getppid() == said[0][1]: time.sleep(0.001)
        said.append((os.getpid(), os.getppid())); os.chdir('.')
        open('said', 'w').write('\\n'.join('%d %d' % s for s in said))
        os._exit(0)
    time.sleep(0.05)
    os._exit(0)
os.waitpid(child, 0)
while not os.path.exists('said'): time.sleep(0.01)
`

for (const mode of ['plain', 'subreaper']) {
  test(`given a process orphaned when its parent exits (${mode} top process), ps says the parent the kernel gave it`, async () => {
    const r = await recordNatively(['python3', '-c', SCRIPT, mode])
    try {
      const said = (await readFile(join(r.dir, 'said'), 'utf8')).trim().split('\n').map((l) => l.split(' ').map(Number))
      const [pid] = said[0]
      const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === pid).map((e) => e.seq)
      assert.equal(markers.length, 2)
      for (const [k, seq] of markers.entries()) {
        const p = ps(await worldAt(r.journal, r.guest, seq)).find((x) => x.pid === pid)
        assert.equal(p?.ppid, said[k][1], `ppid at marker ${k}`)
      }
      if (mode === 'subreaper') {
        const top = r.events.filter((e) => e.kind === 'proc.spawn' && e.child === said[0][1]).at(0)?.pid
        assert.equal(said[1][1], top, 'the kernel chose the subreaper')
      }
    } finally {
      await r.cleanup()
    }
  })
}

// clone(CLONE_PARENT): the child's parent is the caller's parent, from its birth
const CLONE_PARENT_SCRIPT = `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(56, 0x00008000 | 17, 0, 0, 0, 0)  # SYS_clone(CLONE_PARENT | SIGCHLD)
if pid == 0:
    open('said', 'w').write('%d %d' % (os.getpid(), os.getppid())); os.chdir('.')
    os._exit(0)
while not os.path.exists('said'): time.sleep(0.01)
time.sleep(0.1)
`

test('given a child made with clone(CLONE_PARENT), ps says the parent the kernel gave it: its maker\'s parent', async () => {
  const r = await recordNatively(['python3', '-c', CLONE_PARENT_SCRIPT])
  try {
    const [pid, ppid] = (await readFile(join(r.dir, 'said'), 'utf8')).trim().split(' ').map(Number)
    const marker = r.events.find((e) => e.kind === 'proc.chdir' && e.pid === pid)
    assert.ok(marker !== undefined, 'the marker')
    const p = ps(await worldAt(r.journal, r.guest, marker.seq)).find((x) => x.pid === pid)
    assert.equal(p?.ppid, ppid)
    const maker = r.events.find((e) => e.kind === 'proc.spawn' && e.child === pid)?.pid
    assert.notEqual(maker, ppid, 'the kernel did not make the caller its parent')
  } finally {
    await r.cleanup()
  }
})
