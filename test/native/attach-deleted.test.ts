// R(0) of descriptors and mappings whose names are gone before eyrie attaches: /proc shows them with
// the kernel's " (deleted)"; the snapshot keeps the name without it and says it is gone, so `at T fds`
// and `at T maps` answer as /proc does and no file called "x (deleted)" appears in the tree.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { fds, ls } from '../../src/projections/index.js'
import { attachNatively } from '../support/e2e.js'
import { procMaps, viewRows } from '../support/maps.js'

// before the attach: an unlinked file held by an fd and a mapping; a file whose fd's name was
// unlinked while another name remains; a file that keeps its name. After it: the fd table and maps
// as the kernel lists them, then a marker (chdir).
const SCRIPT = `
import json, mmap, os, sys, time
for n in 'abc': open(n, 'w').write(n * 5000)
a = os.open('a', os.O_RDWR); view = mmap.mmap(a, 4096); os.unlink('a')
os.link('b', 'b2'); b = os.open('b', os.O_RDONLY); os.unlink('b')
c = os.open('c', os.O_RDONLY)
start = os.environ['START']
open(os.path.join(start, 'ready'), 'w').close()
while not os.path.exists(os.path.join(start, 'go')): time.sleep(0.005)
table = {str(fd): os.readlink('/proc/self/fd/%d' % fd) for fd in (a, b, c)}
json.dump({'pid': os.getpid(), 'fds': table, 'maps': open('/proc/self/maps').read()}, open('kernel.json', 'w'))
os.chdir('.')
`

test('given a process holding files whose names were unlinked before the attach, fds and maps at the attach show them deleted as /proc does, and ls has no such name', async () => {
  const r = await attachNatively(['python3', '-c', SCRIPT])
  try {
    const kernel = JSON.parse(await readFile(join(r.dir, 'kernel.json'), 'utf8')) as { pid: number; fds: Record<string, string>; maps: string }
    const marker = r.events.find((e) => e.kind === 'proc.chdir' && e.pid === kernel.pid)
    assert.ok(marker !== undefined, 'the marker')
    const w = await worldAt(r.journal, r.guest, marker.seq)
    const rows = fds(w, kernel.pid)
    const shown = Object.fromEntries(Object.keys(kernel.fds).map((fd) => {
      const f = rows.find((x) => String(x.fd) === fd)
      return [fd, f === undefined ? 'missing' : f.deleted ? `${f.path} (deleted)` : f.path]
    }))
    assert.deepEqual(shown, kernel.fds)
    assert.deepEqual(Object.values(kernel.fds).map((p) => p.endsWith(' (deleted)')), [true, true, false], 'the kernel says so too')
    assert.deepEqual(viewRows(w, kernel.pid), procMaps(kernel.maps, true))
    assert.ok(procMaps(kernel.maps, true).some((m) => m.path === `${join(r.dir, 'a')} (deleted)`), 'the unlinked file is mapped')
    const names = ls(w, r.dir).map((e) => e.path).filter((p) => p !== r.dir)
    assert.deepEqual(names.filter((p) => p.includes('deleted') || p.endsWith('/a') || p.endsWith('/b')), [], 'no name for what has none')
    assert.ok(names.includes(join(r.dir, 'c')), `the file that kept its name: ${JSON.stringify(names)}`)
  } finally {
    await r.cleanup()
  }
})
