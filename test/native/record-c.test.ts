// Recording a C program (test/native/filework.c) that exercises the write family, dup2, fork,
// threads, ftruncate, a shared mapping and copy_file_range: pid/tid, offsets and bytes per draft.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, realpath, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { afterExec, compile, ofKind, record, tempDir, text } from './support.js'

/** The program's own drafts: after its exec, without the dynamic loader's libraries. */
const own = (drafts: readonly Draft[], dir: string): Draft[] => {
  const start = drafts.findIndex((d) => d.body.kind === 'proc.exec')
  return drafts.slice(start + 1).filter((d) => !('path' in d.body) || d.body.path === null || d.body.path.startsWith(dir))
}

test('given a C program writing through pwrite, writev, dup2, a fork and a thread, then each write is a draft of the right task with its offset and bytes', async () => {
  const program = await compile('filework')
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts, result } = await record([program], dir, { writes: 'stop' })
    assert.equal(result.status, 0)
    const main = drafts[0].pid
    const [fork, thread] = ofKind(drafts, 'proc.spawn')
    assert.deepEqual([fork.body.thread, fork.body.shareFiles, thread.body.thread, thread.body.shareFiles], [false, false, true, true])
    const child = fork.body.child
    const tid = thread.body.child

    const writes = ofKind(own(drafts, dir), 'file.write').map((d) => [d.pid, d.tid, d.body.fd, d.body.offset, text(d)])
    assert.deepEqual(writes, [
      [main, main, 3, null, 'hello'],
      [main, main, 3, 1, 'XY'],
      [main, main, 3, null, 'abcde'],
      [main, main, 10, null, '!'],
      [child, child, 3, null, 'child'],
      [main, tid, 3, 0, 'T'],
      // copy_file_range: the bytes never passed through the program; they were read from the file
      [main, main, 5, null, 'TXYl'],
    ])
    const exits = ofKind(drafts, 'proc.exit').map((d) => [d.pid, d.tid, d.body.status, d.body.thread])
    assert.deepEqual(exits, [[child, child, 3, false], [main, tid, 0, true], [main, main, 0, false]])

    const opens = ofKind(own(drafts, dir), 'fd.open').map((d) => [d.body.fd, d.body.path, d.body.created])
    assert.deepEqual(opens, [[3, join(dir, 'a'), true], [4, join(dir, 'm'), true], [5, join(dir, 'c'), true]])
    assert.deepEqual(ofKind(drafts, 'fd.dup').map((d) => [d.body.fd, d.body.newFd, d.body.cloexec]), [[3, 10, false], [3, 21, false]])
    assert.deepEqual(ofKind(drafts, 'fd.closeRange').map((d) => [d.body.first, d.body.last, d.body.cloexecOnly]), [[20, 25, false]])
    assert.deepEqual(ofKind(drafts, 'file.truncate').map((d) => [d.body.fd, d.body.path, d.body.size]), [[3, null, 4], [4, null, 4096]])
    assert.deepEqual(ofKind(drafts, 'fd.cloexec').map((d) => [d.body.fd, d.body.on]), [[5, true], [10, true]])

    // the shared mapping: mapped, its bytes read back before the unmap, unmapped
    const [map] = ofKind(own(drafts, dir), 'view.map')
    assert.deepEqual([map.body.path, map.body.shared, map.body.len, map.body.offset], [join(dir, 'm'), true, 4096, 0])
    const [sync] = ofKind(drafts, 'view.sync')
    assert.deepEqual([sync.body.path, sync.body.offset, sync.body.len, sync.body.known], [join(dir, 'm'), 0, 4096, 4096])
    assert.deepEqual(Buffer.from(sync.data ?? []), await readFile(join(dir, 'm')))
    const unmap = ofKind(drafts, 'view.unmap').find((d) => d.body.addr === map.body.addr)
    assert.ok(unmap !== undefined && drafts.indexOf(sync) < drafts.indexOf(unmap))

    assert.deepEqual(afterExec(drafts, main).filter((d) => d.body.kind === 'fd.close').map((d) => (d.body.kind === 'fd.close' ? d.body.fd : -1)).slice(-4), [5, 4, 10, 3])
  } finally {
    await cleanup()
  }
})

test('given a file that existed before and is overwritten in place, then its old bytes are observed before the write', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const big = Buffer.alloc(100_000, 'a')
    await writeFile(join(dir, 'small'), 'old content\n')
    await writeFile(join(dir, 'big'), big)
    const { drafts } = await record(['sh', '-c', 'printf NEW | dd of=small conv=notrunc 2>/dev/null; printf NEW | dd of=big bs=50000 seek=1 conv=notrunc 2>/dev/null'], dir)
    const observed = ofKind(drafts, 'file.observe').filter((d) => d.body.path.startsWith(dir)).map((d) => [d.body.path, d.body.offset, d.body.size, d.body.len, text(d)])
    assert.deepEqual(observed, [
      // small: whole at open
      [join(dir, 'small'), 0, 12, 12, 'old content\n'],
      // big: its size at open, then the range each write overwrites
      [join(dir, 'big'), 0, 100_000, 0, ''],
      [join(dir, 'big'), 50_000, 100_000, 3, 'aaa'],
    ])
    const big2 = ofKind(drafts, 'file.observe').filter((d) => d.body.path === join(dir, 'big'))[1]
    const write = ofKind(drafts, 'file.write').find((d) => text(d) === 'NEW' && d.pid === big2.pid)
    assert.ok(write !== undefined && drafts.indexOf(big2) < drafts.indexOf(write))
  } finally {
    await cleanup()
  }
})

test('given an exec, then the mappings the kernel made for the program and its loader follow it, each segment with its file\'s identity', async () => {
  const program = await compile('filework')
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts } = await record([program], dir, { writes: 'stop' })
    const exec = drafts.findIndex((d) => d.body.kind === 'proc.exec')
    assert.ok(exec >= 0)
    // the exec's own maps: read at its stop, before anything the new program does
    const maps = drafts.slice(exec + 1).filter((d) => d.ts === drafts[exec].ts && d.body.kind === 'view.map').map((d) => d.body)
    const identity = async (path: string): Promise<string> => {
      const st = await stat(path, { bigint: true })
      return `${st.dev}:${st.ino}`
    }
    const loader = await realpath('/lib64/ld-linux-x86-64.so.2')
    for (const [path, min] of [[program, 2], [loader, 2]] as const) {
      const segments = maps.filter((m) => m.kind === 'view.map' && m.path === path)
      assert.ok(segments.length >= min, `${path}: ${segments.length} segment(s) in ${JSON.stringify(maps)}`)
      const want = await identity(path)
      for (const m of segments) assert.equal(m.kind === 'view.map' ? m.inode : null, want, `${path} segment's inode`)
    }
  } finally {
    await cleanup()
  }
})
