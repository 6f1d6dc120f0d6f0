// fallocate's modes, run for real (ext4 or tmpfs under the work dir): plain allocation past the end,
// KEEP_SIZE past it, PUNCH_HOLE, ZERO_RANGE, and COLLAPSE_RANGE and INSERT_RANGE, which move the bytes
// after them; and its twin through memory, madvise MADV_REMOVE on a shared view. Content at each step's marker must hash as the file did then, for both recorders and
// for the native one with every written file read back (program order 0: the read-back rules).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { timeline } from '../../src/forensic/timeline.js'
import { contentAt, recordNatively, RECORDERS, type Recorder } from '../support/e2e.js'

// each step, then the file's sha256 and a marker (chdir); a mode the file system refuses is "skip"
const SCRIPT = `
import ctypes, hashlib, os
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
KEEP, PUNCH, COLLAPSE, ZERO, INSERT = 1, 2, 8, 16, 32
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b''.join(bytes([65 + k]) * 4096 for k in range(6)))  # AAAA BBBB ... FFFF
def step(mode, offset, length):
    ok = libc.fallocate(fd, mode, offset, length) == 0
    print(hashlib.sha256(open('f', 'rb').read()).hexdigest() if ok else 'skip', flush=True)
    os.chdir('.')
step(COLLAPSE, 4096, 4096)        # B goes: A C D E F
step(INSERT, 8192, 8192)          # two blocks of zeros before D: A C 0 0 D E F
os.pwrite(fd, b'written after', 100)
step(PUNCH | KEEP, 0, 4096)       # A's block (and the write) read as zeros
step(ZERO, 5000, 3000)
step(0, 40000, 5000)              # past the end: zeros, size grows
step(KEEP, 60000, 5000)           # past the end, size kept
step(COLLAPSE, 0, 8192)
def hole(at, length, page, pages):
    # a shared view of [at, at+length) of the file; MADV_REMOVE frees pages of it in the file
    view = libc.mmap(None, length, 3, 1, fd, at)
    ok = libc.madvise(view + page * 4096, pages * 4096, 9) == 0
    libc.munmap(view, length)
    print(hashlib.sha256(open('f', 'rb').read()).hexdigest() if ok else 'skip', flush=True)
    os.chdir('.')
hole(0, 4 * 4096, 1, 2)
hole(8192, 8192, 1, 1)
os.close(fd)
`

const check = async (recorder: string, record: Recorder, opts: Parameters<Recorder>[1] = {}): Promise<void> => {
  // the directory made inside the recording: eyrie knows f is new (strace's O_CREAT does not say)
  const r = await record(['sh', '-c', 'mkdir w && cd w && python3 -c "$0" > ../hashes', SCRIPT], opts)
  try {
    const hashes = (await readFile(join(r.dir, 'hashes'), 'utf8')).trim().split('\n')
    const python = r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
    const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === python).map((e) => e.seq)
    assert.equal(markers.length, hashes.length, 'one marker per step')
    // ext4 (here) takes every mode; tmpfs refuses ZERO_RANGE, COLLAPSE_RANGE and INSERT_RANGE
    assert.ok(hashes.filter((h) => h !== 'skip').length >= 3, `the file system took few modes: ${hashes.join(' ')}`)
    // the timeline has a version for every step: each of these calls changes the bytes
    const versions = await timeline(r.journal, r.guest, join(r.dir, 'w', 'f'))
    for (const [k, seq] of markers.entries()) {
      if (hashes[k] === 'skip') continue
      const got = createHash('sha256').update(await contentAt(r, seq, join(r.dir, 'w', 'f'))).digest('hex')
      assert.equal(got, hashes[k], `${recorder}: step ${k} at #${seq}`)
      assert.equal(versions.filter((v) => v.seq <= seq).at(-1)?.sha256, hashes[k], `${recorder}: the timeline at step ${k}`)
    }
  } finally {
    await r.cleanup()
  }
}

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given fallocate in every mode, including COLLAPSE_RANGE and INSERT_RANGE, and madvise MADV_REMOVE, content after each hashes as the file did`, () => check(recorder, record))
}

test('native, every written file read back: given fallocate in every mode, content after each hashes as the file did', () =>
  check('native (read back)', recordNatively, { programOrderBytes: 0 }))
