// A python3 program using dirfd-relative calls, a thread, and the less common calls (truncate by
// path, link, fallocate, fsync, sendfile, fchdir): canonical paths, thread ids, copied bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ofKind, record, tempDir, text } from './support.js'

const PROGRAM = `
import os, threading
d = os.open('sub', os.O_RDONLY | os.O_DIRECTORY)
fd = os.open('x', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=d)
os.write(fd, b'via dirfd')
os.rename('x', 'y', src_dir_fd=d, dst_dir_fd=d)
t = threading.Thread(target=lambda: os.pwrite(fd, b'T', 0))
t.start()
t.join()
os.truncate('sub/y', 4)
os.link('y', 'z', src_dir_fd=d, dst_dir_fd=d)
os.posix_fallocate(fd, 0, 64)
os.fsync(fd)
src = os.open('sub/z', os.O_RDONLY)
out = os.open('copy', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.sendfile(out, src, None, 3)
os.unlink('y', dir_fd=d)
os.chdir(d)
os.close(fd)
`

test('given python3 writing through a dirfd and a thread, then paths are canonical and the thread write carries its own tid', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await mkdir(join(dir, 'sub'))
    const { drafts, result } = await record(['python3', '-c', PROGRAM], dir, { writes: 'stop' })
    assert.equal(result.status, 0)
    const sub = join(dir, 'sub')
    const open = ofKind(drafts, 'fd.open').find((d) => d.body.path === join(sub, 'x'))
    assert.ok(open !== undefined)
    assert.equal(open.body.created, true)
    const fd = open.body.fd
    const writes = ofKind(drafts, 'file.write').filter((d) => d.body.fd === fd)
    assert.deepEqual(writes.map((d) => [d.body.offset, text(d)]), [[null, 'via dirfd'], [0, 'T']])
    const [main, thread] = writes
    assert.equal(thread.pid, main.pid)
    assert.notEqual(thread.tid, main.tid)
    const spawn = ofKind(drafts, 'proc.spawn').find((d) => d.body.child === thread.tid)
    assert.ok(spawn !== undefined && spawn.body.thread && spawn.body.shareFiles)
    assert.deepEqual(ofKind(drafts, 'file.rename').map((d) => [d.body.from, d.body.to]), [[join(sub, 'x'), join(sub, 'y')]])
    assert.deepEqual(ofKind(drafts, 'file.unlink').map((d) => d.body.path), [join(sub, 'y')])
    assert.deepEqual(ofKind(drafts, 'file.truncate').map((d) => [d.body.path, d.body.fd, d.body.size]), [[join(sub, 'y'), null, 4]])
    assert.deepEqual(ofKind(drafts, 'file.link').map((d) => [d.body.from, d.body.to]), [[join(sub, 'y'), join(sub, 'z')]])
    assert.deepEqual(ofKind(drafts, 'file.allocate').map((d) => [d.body.fd, d.body.mode, d.body.offset, d.body.len]), [[fd, 0, 0, 64]])
    assert.deepEqual(ofKind(drafts, 'file.flush').map((d) => d.body.fd), [fd])
    // sendfile: the source position moves, and the copied bytes are read back from the destination
    const src = ofKind(drafts, 'fd.open').find((d) => d.body.path === join(sub, 'z'))
    const out = ofKind(drafts, 'fd.open').find((d) => d.body.path === join(dir, 'copy'))
    assert.ok(src !== undefined && out !== undefined)
    assert.ok(ofKind(drafts, 'fd.read').some((d) => d.body.fd === src.body.fd && d.body.len === 3))
    const copied = ofKind(drafts, 'file.write').filter((d) => d.body.fd === out.body.fd)
    assert.deepEqual(copied.map((d) => [d.body.offset, d.body.len, text(d)]), [[null, 3, 'Tia']])
    // (python3 may be a shim script that changes directories of its own before it execs python)
    assert.deepEqual(ofKind(drafts, 'proc.chdir').filter((d) => d.pid === main.pid).map((d) => d.body.path), [sub])
  } finally {
    await cleanup()
  }
})
