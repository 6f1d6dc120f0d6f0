// Recording real shell commands: the drafts name what happened to which file, with the bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { O_APPEND, O_CREAT, O_DIRECTORY, O_TRUNC } from '../../src/events/index.js'
import { emptyWorld, evolve, lookup, ps } from '../../src/projections/index.js'
import { traceCommand, TraceError } from '../../src/native/index.js'
import { ofKind, record, tempDir, text } from './support.js'

test('given a shell that writes, appends, renames and removes a file, then the drafts say so in order with the bytes', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts, result } = await record(['sh', '-c', 'echo hi > f; echo more >> f; mv f g; rm g'], dir, { writes: 'stop' })
    assert.equal(result.status, 0)
    assert.equal(result.events, drafts.length)

    const first = drafts[0].body
    assert.equal(first.kind, 'snapshot')
    assert.equal(first.procs.length, 1)
    assert.equal(first.procs[0].cwd, dir)
    assert.deepEqual(first.procs[0].fds.map((f) => f.fd), [0, 1, 2])

    const f = join(dir, 'f')
    const opens = ofKind(drafts, 'fd.open').filter((d) => d.body.path === f)
    assert.equal(opens.length, 2)
    assert.equal(opens[0].body.created, true, 'echo hi > f creates f')
    assert.equal(opens[0].body.flags & (O_CREAT | O_TRUNC), O_CREAT | O_TRUNC)
    assert.equal(opens[1].body.created, false, '>> opens the existing f')
    assert.equal(opens[1].body.flags & O_APPEND, O_APPEND)
    assert.match(opens[0].body.inode ?? '', /^\d+:\d+$/)
    assert.equal(opens[0].body.inode, opens[1].body.inode)

    const writes = ofKind(drafts, 'file.write').filter((d) => d.pid === drafts[0].pid && d.body.fd === 1)
    assert.deepEqual(writes.map(text), ['hi\n', 'more\n'])
    assert.deepEqual(writes.map((d) => [d.body.offset, d.body.len, d.body.known]), [[null, 3, 3], [null, 5, 5]])

    const [rename] = ofKind(drafts, 'file.rename')
    assert.deepEqual([rename.body.from, rename.body.to], [f, join(dir, 'g')])
    assert.deepEqual(ofKind(drafts, 'file.unlink').map((d) => d.body.path), [join(dir, 'g')])

    // mv and rm are children of the shell: spawned, exec'd, exited with 0
    const spawns = ofKind(drafts, 'proc.spawn').filter((d) => d.pid === drafts[0].pid)
    assert.equal(spawns.length, 2)
    const execs = ofKind(drafts, 'proc.exec')
    assert.deepEqual(execs.map((d) => d.body.argv), [['sh', '-c', 'echo hi > f; echo more >> f; mv f g; rm g'], ['mv', 'f', 'g'], ['rm', 'g']])
    assert.deepEqual(execs.slice(1).map((d) => d.pid), spawns.map((d) => d.body.child))
    assert.equal(rename.pid, spawns[0].body.child)
    const exits = ofKind(drafts, 'proc.exit')
    assert.deepEqual(exits.map((d) => [d.pid, d.body.status, d.body.thread]), [
      [spawns[0].body.child, 0, false],
      [spawns[1].body.child, 0, false],
      [drafts[0].pid, 0, false],
    ])
    // timestamps do not go backwards
    for (let i = 1; i < drafts.length; i++) assert.ok(drafts[i].ts >= drafts[i - 1].ts, `ts of draft ${i}`)
  } finally {
    await cleanup()
  }
})

test('given relative paths through a symlinked directory and .., when files are made and moved, then every path is absolute and canonical', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await mkdir(join(dir, 'real', 'sub'), { recursive: true })
    await symlink('real', join(dir, 'link'))
    const script = 'cd link/sub && echo x > ../f && mkdir ../d && mv ../f ../d/g && ln -s ../d/g ../s && rmdir ../../link/sub'
    const { drafts, result } = await record(['sh', '-c', script], dir)
    assert.equal(result.status, 0)
    const real = join(dir, 'real')
    assert.deepEqual(ofKind(drafts, 'proc.chdir').map((d) => d.body.path), [join(real, 'sub')])
    assert.ok(ofKind(drafts, 'fd.open').some((d) => d.body.path === join(real, 'f') && d.body.created === true))
    assert.deepEqual(ofKind(drafts, 'file.mkdir').map((d) => d.body.path), [join(real, 'd')])
    assert.deepEqual(ofKind(drafts, 'file.rename').map((d) => [d.body.from, d.body.to]), [[join(real, 'f'), join(real, 'd', 'g')]])
    assert.deepEqual(ofKind(drafts, 'file.symlink').map((d) => [d.body.target, d.body.path]), [['../d/g', join(real, 's')]])
    assert.deepEqual(ofKind(drafts, 'file.rmdir').map((d) => d.body.path), [join(real, 'sub')])
  } finally {
    await cleanup()
  }
})

test('given a command that does not exist, then the result is status 127 with a shell-like message and no exec', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts, result } = await record(['eyrie-no-such-command', 'x'], dir)
    assert.equal(result.status, 127)
    assert.equal(result.signal, null)
    assert.equal(result.message, 'eyrie-no-such-command: command not found')
    assert.equal(ofKind(drafts, 'proc.exec').length, 0)
    assert.equal(drafts[0].body.kind, 'snapshot')
  } finally {
    await cleanup()
  }
})

test('given a command killed by a signal, then the result names the signal and has no status', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const { drafts, result } = await record(['sh', '-c', 'kill -TERM $$'], dir)
    assert.equal(result.status, null)
    assert.equal(result.signal, 'SIGTERM')
    const exits = ofKind(drafts, 'proc.exit')
    assert.deepEqual(exits.map((d) => d.body.status), [128 + 15])
  } finally {
    await cleanup()
  }
})

test('given a working directory that does not exist, then the trace fails with ENOENT saying which', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const missing = join(dir, 'missing')
    await assert.rejects(
      traceCommand(['true'], { cwd: missing, onBatch: () => undefined }),
      (err: unknown) => err instanceof TraceError && err.code === 'ENOENT' && err.message === `cannot change directory to ${missing}: No such file or directory`,
    )
  } finally {
    await cleanup()
  }
})

test('given a directory opened without O_DIRECTORY (as glibc opens locale directories) and a file read below it, then the open is journaled with O_DIRECTORY and the fold holds a directory there, not a file with a name below it', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await mkdir(join(dir, 'locale'))
    await writeFile(join(dir, 'locale', 'messages'), 'm')
    const { drafts, result } = await record(['sh', '-c', 'exec 3< locale; cat locale/messages'], dir)
    assert.equal(result.status, 0)
    const [open] = ofKind(drafts, 'fd.open').filter((d) => d.body.path === join(dir, 'locale'))
    assert.equal(open.body.flags & O_DIRECTORY, O_DIRECTORY)
    const w = emptyWorld()
    drafts.forEach((d, i) => evolve(w, { ...d.body, guest: 'g', seq: i + 1, ts: d.ts, pid: d.pid, tid: d.tid }))
    assert.equal(lookup(w, join(dir, 'locale'))?.type, 'dir')
    assert.equal(lookup(w, join(dir, 'locale', 'messages'))?.type, 'file')
  } finally {
    await cleanup()
  }
})

test('given mkdir -p over names that exist and mkdirat from a directory fd, then exactly the directories made are journaled', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await mkdir(join(dir, 'old'))
    const py = "import os\nfd = os.open('a', os.O_RDONLY)\nos.mkdir('e', dir_fd=fd)\ntry:\n    os.mkdir('b', dir_fd=fd)\nexcept FileExistsError:\n    print('exists')\n"
    const script = `mkdir -p a/b/c && mkdir -p a/b/c/d old/n && mkdir old 2>/dev/null; python3 -c "${py}"`
    const { drafts, result, stdout } = await record(['sh', '-c', script], dir)
    assert.equal(result.status, 0)
    assert.match(stdout, /exists/)
    const made = ofKind(drafts, 'file.mkdir').map((d) => d.body.path)
    assert.deepEqual(made, ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'old/n', 'a/e'].map((p) => join(dir, p)))
  } finally {
    await cleanup()
  }
})

test('given a script run by its #! line, then its exec names the script and, as exe, the interpreter the kernel runs (/proc/PID/exe); ps says the interpreter', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await writeFile(join(dir, 's.sh'), '#!/bin/sh\nreadlink /proc/$$/exe > exe.txt\n', { mode: 0o755 })
    const { drafts, result } = await record(['./s.sh'], dir)
    assert.equal(result.status, 0)
    const kernel = (await readFile(join(dir, 'exe.txt'), 'utf8')).trim()
    const exec = ofKind(drafts, 'proc.exec').find((d) => d.body.path === join(dir, 's.sh'))
    assert.ok(exec !== undefined, 'the exec of the script')
    assert.equal(exec.body.exe, kernel)
    const plain = ofKind(drafts, 'proc.exec').find((d) => d.body.path.endsWith('/readlink'))
    assert.equal(plain?.body.exe, undefined, 'a program exec\'d itself has no other exe')
    const w = emptyWorld()
    drafts.forEach((d, i) => evolve(w, { ...d.body, guest: 'g', seq: i + 1, ts: d.ts, pid: d.pid, tid: d.tid }))
    assert.equal(ps(w).find((p) => p.pid === exec.pid)?.exe, kernel)
  } finally {
    await cleanup()
  }
})
