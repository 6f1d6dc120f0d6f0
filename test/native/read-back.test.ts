// Written files are read back, not stopped at (src/native/deferred.cc). The kernel is the oracle:
// what a reader copied while the writer still held the file, the disk at the end; and the journal
// stays proportional to what changed (no whole-file re-reads per call, holes are not journaled).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Event } from '../../src/events/index.js'
import { worldAt } from '../../src/engine/replay.js'
import { fds } from '../../src/projections/index.js'
import { contentAt, recordNatively, seqOfOpen, type Recorded } from '../support/e2e.js'

const last = (r: Recorded): number => r.events[r.events.length - 1].seq
const syncedBytes = (r: Recorded, path: string): number =>
  r.events.filter((e): e is Extract<Event, { kind: 'file.sync' }> => e.kind === 'file.sync' && e.path === path).reduce((n, e) => n + e.len, 0)

test('given a shell writing through an fd it keeps open while cp copies the file twice, then content at each copy equals it, and no write is a draft', async () => {
  const script = 'exec 3>f; echo one >&3; cp f side1; echo two >&3; printf three >&3; cp f side2; exec 3>&-; echo four >> f'
  const r = await recordNatively(['sh', '-c', script])
  try {
    for (const side of ['side1', 'side2']) {
      const at = seqOfOpen(r, join(r.dir, side))
      assert.deepEqual(await contentAt(r, at, join(r.dir, 'f')), await readFile(join(r.dir, side)), `f at the copy to ${side}`)
    }
    assert.deepEqual(await contentAt(r, last(r), join(r.dir, 'f')), await readFile(join(r.dir, 'f')))
    assert.equal(r.events.filter((e) => e.kind === 'file.write').length, 0, 'writes are read back, not recorded one by one')
  } finally {
    await r.cleanup()
  }
})

// The writer makes no traced call between its writes and the reader's open (pipes carry the turns):
// the reader's open is the only moment eyrie can read the file before the reader sees it.
const OPENED_WHILE_WRITTEN = `
import os
r1, w1 = os.pipe(); r2, w2 = os.pipe()
if os.fork() == 0:
    os.read(r1, 1)
    fd = os.open('f', os.O_RDONLY)
    data = os.read(fd, 1 << 20)
    out = os.open('seen', os.O_WRONLY | os.O_CREAT, 0o644); os.write(out, data); os.close(out)
    os.write(w2, b'x')
    os._exit(0)
fd = os.open('f', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'A' * 5000)
os.write(w1, b'x')
os.read(r2, 1)
os.write(fd, b'B' * 100)
os.close(fd)
os.wait()
`

test('given a file its writer holds while another process opens it to read, with no traced call of the writer in between, then content at that open is what the reader read', async () => {
  const r = await recordNatively(['python3', '-c', OPENED_WHILE_WRITTEN])
  try {
    const f = join(r.dir, 'f')
    const opens = r.events.filter((e) => e.kind === 'fd.open' && e.path === f)
    assert.equal(opens.length, 2, 'the writer\'s open and the reader\'s')
    assert.deepEqual(await contentAt(r, opens[1].seq, f), await readFile(join(r.dir, 'seen')))
    assert.deepEqual(await contentAt(r, last(r), f), await readFile(f))
  } finally {
    await r.cleanup()
  }
})

test('given 300 files written and closed, 20 held until their writer is killed, and a file truncated by a new open while eyrie holds the old one, then eyrie keeps none of their descriptors after the run', async () => {
  const script = [
    'for i in $(seq 1 300); do echo $i > f$i; done',
    'exec 3>g; echo a >&3; : > g; echo b >&3', // the same inode adopted again, emptied
    '(for i in $(seq 1 20); do exec {fd}>h$i; echo x >&$fd; done; kill -9 $BASHPID)',
  ].join('; ')
  const r = await recordNatively(['bash', '-c', `${script}; true`])
  try {
    assert.deepEqual(await contentAt(r, last(r), join(r.dir, 'f300')), Buffer.from('300\n'))
    assert.deepEqual(await contentAt(r, last(r), join(r.dir, 'h20')), Buffer.from('x\n'))
    const held = (await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).filter((p) => p.startsWith(`${r.dir}/`))
    assert.deepEqual(held, [], 'descriptors on the workload files left open by the recording')
  } finally {
    await r.cleanup()
  }
})

test('given an 8 MiB file written in 64 KiB pieces with an open of another file between pieces, then it is read at its close, not at every open: the journal holds about its size', async () => {
  const program = `
import os
out = os.open('big', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(128):
    os.write(out, bytes([i]) * 65536)
    os.close(os.open('other', os.O_RDONLY | os.O_CREAT, 0o644))
os.close(out)
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const path = join(r.dir, 'big')
    const disk = await readFile(path)
    assert.equal(disk.length, 8 << 20)
    assert.deepEqual(await contentAt(r, last(r), path), disk)
    const synced = syncedBytes(r, path)
    // program order up to 1 MiB (16 pieces read at each open: 16 * 17 / 2 pieces), then the close
    assert.ok(synced <= disk.length + (9 << 20), `${synced} bytes read back for an ${disk.length}-byte file`)
  } finally {
    await r.cleanup()
  }
})

test('given a sparse file written 64 MiB past its start, then the hole is not journaled and the file reads back whole', async () => {
  const program = `
import os
fd = os.open('sparse', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.pwrite(fd, b'head', 0)
os.pwrite(fd, b'tail', 64 << 20)
os.close(fd)
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const path = join(r.dir, 'sparse')
    assert.equal((await stat(path)).size, (64 << 20) + 4)
    assert.ok(syncedBytes(r, path) <= 2 * 4096, `${syncedBytes(r, path)} bytes journaled for 8 bytes written`)
    assert.deepEqual(await contentAt(r, last(r), path), await readFile(path))
  } finally {
    await r.cleanup()
  }
})

test('given a writer killed by SIGKILL with its file still open, then the content at the end equals the disk', async () => {
  const program = `
import os, signal
fd = os.open('left', os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b'written before the kill\\n' * 100)
os.kill(os.getpid(), signal.SIGKILL)
`
  const r = await recordNatively(['sh', '-c', `python3 -c "$0"; exit 0`, program])
  try {
    const path = join(r.dir, 'left')
    assert.equal((await readFile(path)).length, 2400)
    assert.deepEqual(await contentAt(r, last(r), path), await readFile(path))
  } finally {
    await r.cleanup()
  }
})

test('given a file that is unlinked while its writer still writes to it, then its content stays reachable by inode and no name comes back', async () => {
  const program = `
import os, subprocess
fd = os.open('gone', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'before ')
os.unlink('gone')
os.write(fd, b'after')
subprocess.run(['cp', '/proc/self/fd/0', 'copy'], stdin=fd, check=True)
os.close(fd)
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const copy = await readFile(join(r.dir, 'copy'))
    assert.equal(copy.toString(), 'before after')
    const syncs = r.events.filter((e) => e.kind === 'file.sync')
    assert.ok(syncs.some((e) => e.kind === 'file.sync' && e.path === join(r.dir, 'gone') && e.len > 0), 'read back through the fd after the unlink')
    const { worldAt } = await import('../../src/engine/replay.js')
    const w = await worldAt(r.journal, r.guest, last(r))
    assert.equal(w.names.get(join(r.dir, 'gone')), undefined, 'the unlinked name stays unbound')
  } finally {
    await r.cleanup()
  }
})

test('given 300 appends of a short line, each its own open and close, then each reading journals the new bytes only, not the whole last page', async () => {
  const r = await recordNatively(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "line $i" >> log; done'])
  try {
    const path = join(r.dir, 'log')
    const disk = await readFile(path)
    assert.deepEqual(await contentAt(r, last(r), path), disk)
    assert.equal(syncedBytes(r, path), disk.length, 'the journal holds each byte once')
    // one reading per append, each state exact: after the 100th, the first 100 lines
    const syncs = r.events.filter((e) => e.kind === 'file.sync' && e.path === path)
    assert.equal(syncs.length, 300)
    const lines = disk.toString().split('\n')
    assert.equal((await contentAt(r, syncs[99].seq, path)).toString(), lines.slice(0, 100).join('\n') + '\n')
  } finally {
    await r.cleanup()
  }
})

test('given writes read back, fds reports positions as unknown; with writes stopped, exactly', async () => {
  const program = `
import os
fd = os.open('f', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'hello')
os.lseek(fd, 2, os.SEEK_SET)
os.read(fd, 1)
os.close(os.open('marker', os.O_RDONLY | os.O_CREAT, 0o644))
os.close(fd)
`
  for (const [writes, pos] of [['read-back', null], ['stop', 3]] as const) {
    const r = await recordNatively(['python3', '-c', program], { writes })
    try {
      const w = await worldAt(r.journal, r.guest, seqOfOpen(r, join(r.dir, 'marker')))
      const row = fds(w).find((x) => x.path === join(r.dir, 'f'))
      assert.ok(row !== undefined, `${writes}: f is open at the marker`)
      assert.equal(row.pos, pos, `${writes}: position of f`)
    } finally {
      await r.cleanup()
    }
  }
})

test('given 40 children appending 256 KiB each to a log their shell holds, then the log is not read whole at every exit (quadratic), and it is exact where cp reads it and at the end', async () => {
  const chunk = 256 << 10
  const script = 'for i in $(seq 0 39); do dd if=src bs=262144 count=1 skip=$i status=none; done > log; cp log side; echo tail >> log'
  const r = await recordNatively(['sh', '-c', script], {
    setup: async (dir) => writeFile(join(dir, 'src'), Buffer.from(Array.from({ length: 40 * chunk }, (_, i) => (i * 2654435761) >>> 24))),
  })
  try {
    const log = join(r.dir, 'log')
    assert.deepEqual(await contentAt(r, seqOfOpen(r, join(r.dir, 'side')), log), await readFile(join(r.dir, 'side')))
    assert.deepEqual(await contentAt(r, last(r), log), await readFile(log))
    const syncs = r.events.filter((e) => e.kind === 'file.sync' && e.path === log).length
    // up to 1 MiB it is read at each call of a writer (program order); beyond, when the shell lets go and when cp opens it
    assert.ok(syncs < 30, `${syncs} readings of the log for 40 children`)
    assert.ok(syncedBytes(r, log) <= 40 * chunk + (2 << 20), `${syncedBytes(r, log)} bytes read back`)
  } finally {
    await r.cleanup()
  }
})

test('given a thread that lives on while the main thread closes a 3 MiB file it wrote, then the close reads it: the threads share the descriptors, so no one writes it after', async () => {
  const program = `
import os, threading
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
fd = os.open('big', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(48):
    os.write(fd, bytes([i]) * 65536)
os.close(fd)
os.close(os.open('marker', os.O_RDONLY | os.O_CREAT, 0o644))
stop.set()
t.join()
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const big = join(r.dir, 'big')
    const disk = await readFile(big)
    assert.equal(disk.length, 3 << 20)
    assert.deepEqual(await contentAt(r, seqOfOpen(r, join(r.dir, 'marker')), big), disk, 'at the open after the close')
    assert.deepEqual(await contentAt(r, last(r), big), disk, 'at the end')
  } finally {
    await r.cleanup()
  }
})

test('given a writer that unmaps memory between its writes, then the file is not read back at each munmap, unless the writer maps a file shared through a writable fd (program order with its views at each munmap of a view)', async () => {
  // python maps glibc's gconv-modules.cache shared from a read-only fd: a view that can never store,
  // which must not count
  const program = (shared: boolean): string => `
import ctypes, os, mmap
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
out = os.open('log', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
${shared ? "v = os.open('view', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)\nos.ftruncate(v, 4096)\nsm = mmap.mmap(v, 4096)" : ''}
for i in range(20):
    os.write(out, b'x' * 1000)
    ${shared ? 'libc.munmap(libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE, v, 0), 4096)' : 'mmap.mmap(-1, 1 << 20).close()'}
os.close(out)
`
  const plain = await recordNatively(['python3', '-c', program(false)])
  try {
    const path = join(plain.dir, 'log')
    assert.deepEqual(await contentAt(plain, last(plain), path), await readFile(path))
    const syncs = plain.events.filter((e) => e.kind === 'file.sync' && e.path === path).length
    assert.ok(syncs <= 2, `${syncs} readings of the log: at its close, not at the 20 munmaps`)
  } finally {
    await plain.cleanup()
  }
  const viewing = await recordNatively(['python3', '-c', program(true)])
  try {
    const path = join(viewing.dir, 'log')
    // each munmap (of a private view, mapped and unmapped with no other call between: one of
    // anonymous memory is not journaled) follows one more write: the log at each holds that many (the shared view's unmap comes after)
    const unmaps = viewing.events.filter((e) => e.kind === 'view.unmap' && e.len === 4096).slice(0, 20)
    assert.equal(unmaps.length, 20, 'the 20 munmaps of a view are journaled')
    for (const [i, u] of unmaps.entries()) assert.deepEqual(await contentAt(viewing, u.seq, path), Buffer.alloc(1000 * (i + 1), 'x'), `the log at munmap ${i + 1}`)
  } finally {
    await viewing.cleanup()
  }
})

test('given a large file its writer copies out, then maps, through another, read-only descriptor, then the copy and the view show it as it was then: a call exposes the file by inode, whichever descriptor it names', async () => {
  const program = `
import mmap, os
w = os.open('big', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
r = os.open('big', os.O_RDONLY)
for i in range(32):
    os.write(w, bytes([i]) * 65536)
dst = os.open('copy', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
n = 0
while n < 2 << 20:
    n += os.copy_file_range(r, dst, (2 << 20) - n)
os.close(dst)
os.close(os.open('marker', os.O_RDONLY | os.O_CREAT, 0o644))
os.pwrite(w, b'later' * 65536, 0)
m = mmap.mmap(r, 0, mmap.MAP_SHARED, mmap.PROT_READ)
with open('mapped', 'wb') as f:
    f.write(m[:])
m.close()
os.close(os.open('marker2', os.O_RDONLY | os.O_CREAT, 0o644))
os.close(r)
os.close(w)
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const big = join(r.dir, 'big')
    const copy = await readFile(join(r.dir, 'copy'))
    assert.equal(copy.length, 2 << 20)
    assert.deepEqual(await contentAt(r, seqOfOpen(r, join(r.dir, 'marker')), big), copy, 'at the open after the copy')
    assert.deepEqual(await contentAt(r, seqOfOpen(r, join(r.dir, 'marker2')), big), await readFile(join(r.dir, 'mapped')), 'at the open after the view')
    assert.deepEqual(await contentAt(r, last(r), big), await readFile(big), 'at the end')
  } finally {
    await r.cleanup()
  }
})

test('given a child writing 2 MiB to a file it keeps open while its parent copies the file out through a descriptor of its own, then the copy shows the child\'s bytes: a call shows what other tasks wrote, not only its own task', async () => {
  const program = `
import os
r = os.open('big', os.O_RDONLY | os.O_CREAT, 0o644)
ready, go = os.pipe(), os.pipe()
child = os.fork()
if child == 0:
    w = os.open('big', os.O_WRONLY | os.O_TRUNC)
    for i in range(32):
        os.write(w, bytes([i]) * 65536)
    os.write(ready[1], b'r')
    os.read(go[0], 1)
    os._exit(0)
os.read(ready[0], 1)
dst = os.open('copy', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
n = 0
while n < 2 << 20:
    n += os.copy_file_range(r, dst, (2 << 20) - n, n)
os.close(dst)
os.close(os.open('marker', os.O_RDONLY | os.O_CREAT, 0o644))
os.write(go[1], b'g')
os.waitpid(child, 0)
`
  const r = await recordNatively(['python3', '-c', program])
  try {
    const copy = await readFile(join(r.dir, 'copy'))
    assert.equal(copy.length, 2 << 20)
    assert.deepEqual(await contentAt(r, seqOfOpen(r, join(r.dir, 'marker')), join(r.dir, 'big')), copy, 'at the open after the copy')
  } finally {
    await r.cleanup()
  }
})
