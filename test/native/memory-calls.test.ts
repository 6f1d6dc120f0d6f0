// munmap, mprotect, mremap and MAP_FIXED anonymous mmap stop at their entry (the filter cannot tell
// memory apart), but only those that may touch a file view the journal holds need their exit and a
// record: the tracer keeps where each address space's views are (src/native/ranges.h). The kernel is
// the oracle: a view moved to memory that never held one, then unmapped there, and one a forked child
// unmaps, must leave eyrie's views at each step what /proc/self/maps listed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { recordNatively } from '../support/e2e.js'
import { procMaps, viewRows } from '../support/maps.js'

const CHURN = 300

const DRIVER = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]
PAGE, PRIVATE, ANON, FIXED, MAYMOVE, MREMAP_FIXED = 4096, 0x02, 0x20, 0x10, 1, 2
def ok(v, what):
    if v in (None, 2**64 - 1, -1): raise OSError(ctypes.get_errno(), what)
    return v
def mark(name):
    with open('/proc/self/maps') as f: text = f.read()
    with open(name, 'w') as out: out.write(text)
    os.chdir('.')
# an allocator's and a JIT's memory calls: none touches a file
for i in range(${CHURN}):
    a = ok(libc.mmap(None, 4 * PAGE, 3, PRIVATE | ANON, -1, 0), 'mmap')
    ok(libc.mprotect(a, PAGE, 5), 'mprotect')
    ok(libc.mmap(a + PAGE, PAGE, 3, PRIVATE | ANON | FIXED, -1, 0), 'mmap fixed')
    ok(libc.munmap(a, 4 * PAGE), 'munmap')
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 8 * PAGE)
v = ok(libc.mmap(None, 2 * PAGE, 1, PRIVATE, fd, 0), 'mmap f')
mark('m1')
ok(libc.mprotect(v, PAGE, 3), 'mprotect f')
mark('m2')
# moved into memory that never held a view
r = ok(libc.mmap(None, 4 * PAGE, 0, PRIVATE | ANON, -1, 0), 'mmap r')
w = ok(libc.mremap(v, 2 * PAGE, 2 * PAGE, MAYMOVE | MREMAP_FIXED, r + PAGE), 'mremap')
mark('m3')
pid = os.fork()
if pid == 0:
    ok(libc.munmap(w, PAGE), 'child munmap')
    mark('c1')
    os._exit(0)
os.waitpid(pid, 0)
ok(libc.mprotect(w + PAGE, PAGE, 0), 'mprotect moved')
mark('m4')
ok(libc.munmap(w, 2 * PAGE), 'munmap moved')
mark('m5')
`

test('given memory calls on anonymous memory and on a file view moved into it, then only those on the view are journaled, and views at each step are what /proc/self/maps listed', async () => {
  const r = await recordNatively(['python3', '-c', DRIVER])
  try {
    const driver = r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
    assert.ok(driver !== undefined)
    const memory = r.events.filter((e) => e.pid === driver && (e.kind === 'view.unmap' || e.kind === 'view.protect' || e.kind === 'view.remap'))
    // the interpreter's own (its loader's mprotects, its arenas) and the file view's five: not the churn's
    assert.ok(memory.length < CHURN / 2, `${memory.length} memory records of the driver: the anonymous ones are journaled`)
    assert.equal(memory.filter((e) => e.kind === 'view.remap').length, 1)
    const markers = (pid: number) => r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === pid).map((e) => e.seq)
    const mine = (rows: ReturnType<typeof procMaps>) => rows.filter((m) => m.path === join(r.dir, 'f'))
    const steps = markers(driver)
    assert.equal(steps.length, 5)
    for (const [k, seq] of steps.entries()) {
      const kernel = mine(procMaps(await readFile(join(r.dir, `m${k + 1}`), 'utf8'), true))
      assert.ok(k === 4 ? kernel.length === 0 : kernel.length > 0, `step ${k + 1}: the kernel's maps`)
      assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, seq), driver)), kernel, `step ${k + 1} at #${seq}`)
    }
    const child = r.events.find((e) => e.kind === 'proc.chdir' && e.pid !== driver && e.seq > steps[2])?.pid
    assert.ok(child !== undefined)
    const [at] = markers(child)
    assert.deepEqual(mine(viewRows(await worldAt(r.journal, r.guest, at), child)), mine(procMaps(await readFile(join(r.dir, 'c1'), 'utf8'), true)), `the child at #${at}`)
  } finally {
    await r.cleanup()
  }
})
