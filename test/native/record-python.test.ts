// A python3 program using dirfd-relative calls and a thread: canonical paths and thread ids.
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
os.unlink('y', dir_fd=d)
os.close(fd)
`

test('given python3 writing through a dirfd and a thread, then paths are canonical and the thread write carries its own tid', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await mkdir(join(dir, 'sub'))
    const { drafts, result } = await record(['python3', '-c', PROGRAM], dir)
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
  } finally {
    await cleanup()
  }
})
