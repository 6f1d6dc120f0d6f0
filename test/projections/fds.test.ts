// The fd-table projection: fork inheritance, dup, CLOEXEC on exec, close_range, shared tables.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY } from '../../src/events/index.js'
import { decodeWorld, encodeWorld, fds, ls, openFiles, ps } from '../../src/projections/index.js'
import { Script, open, text, write } from '../support/events.js'

const fdList = (s: Script, pid: number) => fds(s.fold(), pid).map((r) => `${r.fd}:${r.path}`)

test('given a fork, when the child closes fd 3, the parent still has fd 3 open', () => {
  const s = new Script()
  s.add(1, open(3, '/f', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'proc.spawn', child: 2, thread: false, shareFiles: false })
  s.add(2, { kind: 'fd.close', fd: 3 })
  assert.deepEqual(fdList(s, 1), ['3:/f'])
  assert.deepEqual(fdList(s, 2), [])
})

test('given a fork, when the child writes through an inherited fd, the parent sees the shared position move', () => {
  const s = new Script()
  s.add(1, open(3, '/f', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'proc.spawn', child: 2, thread: false, shareFiles: false })
  s.add(2, write(3, text('child')), text('child'))
  s.add(1, write(3, text('+parent')), text('+parent'))
  assert.equal(new TextDecoder().decode(s.bytes(s.fold(), '/f')), 'child+parent')
})

test('given dup2 of fd 3 onto 1, when fd 3 is closed, fd 1 still writes to the file at the shared position', () => {
  const s = new Script()
  s.add(1, open(3, '/out', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, write(3, text('ab')), text('ab'))
  s.add(1, { kind: 'fd.dup', fd: 3, newFd: 1, cloexec: false })
  s.add(1, { kind: 'fd.close', fd: 3 })
  s.add(1, write(1, text('cd')), text('cd'))
  assert.deepEqual(fdList(s, 1), ['1:/out'])
  assert.equal(new TextDecoder().decode(s.bytes(s.fold(), '/out')), 'abcd')
})

test('given O_CLOEXEC and fcntl(F_SETFD) fds, when the process execs, only those are closed', () => {
  const s = new Script()
  s.add(1, open(3, '/keep', O_RDONLY))
  s.add(1, open(4, '/gone', O_RDONLY | O_CLOEXEC))
  s.add(1, open(5, '/gone2', O_RDONLY))
  s.add(1, { kind: 'fd.cloexec', fd: 5, on: true })
  s.add(1, { kind: 'proc.exec', path: '/bin/true', argv: ['true'] })
  assert.deepEqual(fdList(s, 1), ['3:/keep'])
  assert.equal(ps(s.fold())[0].exe, '/bin/true')
})

test('given close_range(4, ~0), fds from 4 up are closed and lower ones stay', () => {
  const s = new Script()
  for (const fd of [3, 4, 5, 9]) s.add(1, open(fd, `/f${fd}`, O_RDONLY))
  s.add(1, { kind: 'fd.closeRange', first: 4, last: 0xffffffff, cloexecOnly: false })
  assert.deepEqual(fdList(s, 1), ['3:/f3'])
})

test('given close_range with CLOSE_RANGE_CLOEXEC, the fds close only at exec', () => {
  const s = new Script()
  s.add(1, open(3, '/a', O_RDONLY))
  s.add(1, open(4, '/b', O_RDONLY))
  s.add(1, { kind: 'fd.closeRange', first: 4, last: 10, cloexecOnly: true })
  assert.deepEqual(fdList(s, 1), ['3:/a', '4:/b'])
  s.add(1, { kind: 'proc.exec', path: '/bin/sh', argv: ['sh'] })
  assert.deepEqual(fdList(s, 1), ['3:/a'])
})

test('given CLONE_FILES, when the child opens a file, the parent sees the fd too; after exec the child has its own table', () => {
  const s = new Script()
  s.add(1, { kind: 'proc.spawn', child: 2, thread: false, shareFiles: true })
  s.add(2, open(3, '/shared', O_RDONLY))
  assert.deepEqual(fdList(s, 1), ['3:/shared'])
  s.add(2, { kind: 'proc.exec', path: '/bin/x', argv: ['x'] })
  s.add(2, { kind: 'fd.close', fd: 3 })
  assert.deepEqual(fdList(s, 1), ['3:/shared'])
  assert.deepEqual(fdList(s, 2), [])
})

test('given a thread, when it opens a file, the process has the fd; when the process exits, its fds are gone', () => {
  const s = new Script()
  s.add(1, { kind: 'proc.spawn', child: 7, thread: true, shareFiles: true })
  s.add(1, open(3, '/t', O_RDONLY), undefined, 7)
  assert.deepEqual(fdList(s, 1), ['3:/t'])
  s.add(1, { kind: 'proc.exit', status: 0, thread: false })
  assert.deepEqual(fds(s.fold()), [])
  assert.equal(ps(s.fold())[0].live, false)
})

test('given a file unlinked while open, its content stays reachable through the fd and the fd shows it deleted', () => {
  const s = new Script()
  s.add(1, open(3, '/tmpfile', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.unlink', path: '/tmpfile' })
  s.add(1, write(3, text('still here')), text('still here'))
  const w = s.fold()
  const row = fds(w, 1)[0]
  assert.equal(row.deleted, true)
  const node = w.nodes.get(w.ofds.get(w.tables.get(w.procs.get(1)!.table)!.fds.get(3)!.ofd)!.node)!
  assert.equal(node.content.size, 10)
  s.add(1, { kind: 'fd.close', fd: 3 })
  assert.equal(s.fold().nodes.size, 0, 'released once the last fd closes')
})

test('given a directory made during the recording, a file opened there with O_CREAT (no O_EXCL) is known to be new', () => {
  const s = new Script()
  s.add(1, { kind: 'file.mkdir', path: '/new' })
  s.add(1, open(3, '/new/log', O_WRONLY | O_CREAT | 0o2000, null))
  s.add(1, write(3, text('line\n')), text('line\n'))
  assert.equal(new TextDecoder().decode(s.bytes(s.fold(), '/new/log')), 'line\n')
  s.add(1, open(4, '/elsewhere/log', O_WRONLY | O_CREAT, null))
  assert.equal(s.fold().nodes.get(s.fold().names.get('/elsewhere/log')!)!.content.size, null, 'outside such a directory it may have existed')
})

test('given a file renamed while open, the fd shows its new name and is not deleted', () => {
  const s = new Script()
  s.add(1, { kind: 'file.mkdir', path: '/d' })
  s.add(1, open(3, '/d/a', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.rename', from: '/d', to: '/e', flags: 0 })
  assert.deepEqual(fds(s.fold(), 1).map((r) => [r.path, r.deleted]), [['/e/a', false]])
})

test('given dup2 from an fd eyrie never saw, the target fd no longer names its old file', () => {
  const s = new Script()
  s.add(1, open(1, '/out', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'fd.dup', fd: 12, newFd: 1, cloexec: false })
  s.add(1, write(1, text('x')), text('x'))
  const w = s.fold()
  assert.deepEqual(fds(w, 1), [])
  assert.equal(w.nodes.get(w.names.get('/out')!)!.content.size, 0, 'the write did not land in /out')
})

// Positions: the snapshot says which ones the events that follow keep exact (events/snapshot.ts).
const snapshot = (positions?: 'writable' | 'none') => ({ kind: 'snapshot' as const, procs: [], files: [], ...(positions === undefined ? {} : { positions }) })
const positions = (s: Script, pid: number) => fds(s.fold(), pid).map((r) => `${r.fd}:${r.pos ?? '?'}`)

test('given a recording that keeps every position, fds reports them after writes, reads and seeks', () => {
  const s = new Script()
  s.add(1, snapshot())
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, open(4, '/r', O_RDONLY))
  s.add(1, write(3, text('abc')), text('abc'))
  s.add(1, { kind: 'fd.read', fd: 4, len: 5 })
  s.add(1, { kind: 'fd.seek', fd: 4, pos: 9 })
  assert.deepEqual(positions(s, 1), ['3:3', '4:9'])
})

test('given a recording that reads written files back (positions none), no position is reported, not even after a seek', () => {
  const s = new Script()
  s.add(1, snapshot('none'))
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, open(4, '/r', O_RDONLY))
  s.add(1, { kind: 'fd.seek', fd: 4, pos: 9 })
  s.add(1, { kind: 'fd.read', fd: 4, len: 5 })
  assert.deepEqual(positions(s, 1), ['3:?', '4:?'])
})

test('given positions of writable descriptions only, a read-only one is unknown and a writable one exact', () => {
  const s = new Script()
  s.add(1, snapshot('writable'))
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, open(4, '/r', O_RDONLY))
  s.add(1, write(3, text('abcd')), text('abcd'))
  s.add(1, { kind: 'fd.seek', fd: 4, pos: 2 })
  assert.deepEqual(positions(s, 1), ['3:4', '4:?'])
})

test('given an unknown position, a write without an offset leaves the content unknown instead of placing it', () => {
  const s = new Script()
  s.add(1, snapshot('none'))
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, write(3, text('abc')), text('abc'))
  const w = s.fold()
  assert.equal(w.anomalies, 1)
  assert.throws(() => s.bytes(w, '/w'), /unknown size/)
})

test('given a checkpoint, the positions rule survives it; a version-2 checkpoint (before the rule) keeps every position', () => {
  const s = new Script()
  s.add(1, snapshot('none'))
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  const bytes = encodeWorld(s.fold())
  assert.equal(decodeWorld(bytes).positions, 'none')
  const v2 = Uint8Array.from(bytes)
  v2[0] = 2
  assert.equal(decodeWorld(v2).positions, 'all')
  v2[0] = 9
  assert.throws(() => decodeWorld(v2), /checkpoint state version 9/)
})

test('given two hard links of one file, when one is renamed onto the other, both names stay (rename(2) does nothing)', () => {
  const s = new Script()
  s.add(1, open(3, '/a', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.link', from: '/a', to: '/b' })
  s.add(1, { kind: 'file.rename', from: '/a', to: '/b', flags: 0 })
  const w = s.fold()
  assert.deepEqual(ls(w, '/').map((e) => e.path).sort(), ['/a', '/b'])
  assert.deepEqual(fdList(s, 1), ['3:/a'])
})

test('given a name opened without O_DIRECTORY and then a name below it (an strace log does not say a directory is one), the first is a directory', () => {
  const s = new Script()
  s.add(1, open(3, '/usr/lib/locale/C.utf8/LC_MESSAGES', O_RDONLY, false))
  s.add(1, open(4, '/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES', O_RDONLY, false))
  const w = s.fold()
  const rows = new Map(ls(w, '/usr/lib/locale/C.utf8').map((r) => [r.path, r.type]))
  assert.equal(rows.get('/usr/lib/locale/C.utf8/LC_MESSAGES'), 'dir')
  assert.equal(rows.get('/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES'), 'file')
  // a file whose content eyrie knows stays a file (a name below it is the input's inconsistency)
  s.add(1, open(5, '/w', O_WRONLY | O_CREAT, true))
  s.add(1, open(6, '/w/x', O_RDONLY, false))
  assert.equal(new Map(ls(s.fold(), '/').map((r) => [r.path, r.type])).get('/w'), 'file')
})

test('given a file with two names, when the name an fd was opened by is unlinked, the fd shows it deleted, and a rename of the other name does not move it', () => {
  const s = new Script()
  s.add(1, open(3, '/d/a', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.link', from: '/d/a', to: '/d/b' })
  s.add(1, { kind: 'file.unlink', path: '/d/a' })
  s.add(1, { kind: 'file.rename', from: '/d/b', to: '/d/a', flags: 0 })
  s.add(1, { kind: 'file.rename', from: '/d/a', to: '/d/c', flags: 0 })
  // as /proc/1/fd/3 would: the name it was opened by, gone (the kernel's " (deleted)"), though /d/c is the file
  assert.deepEqual(fds(s.fold(), 1).map((r) => [r.fd, r.path, r.deleted]), [[3, '/d/a', true]])
  assert.deepEqual(fds(decodeWorld(encodeWorld(s.fold())), 1).map((r) => r.deleted), [true], 'a checkpoint keeps it')
})

test('given an fd on a file, when another file is renamed over its name and that name is renamed on, the fd keeps the name, deleted', () => {
  const s = new Script()
  s.add(1, open(3, '/a', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, open(4, '/b', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.rename', from: '/b', to: '/a', flags: 0 })
  s.add(1, { kind: 'file.rename', from: '/a', to: '/c', flags: 0 })
  assert.deepEqual(fds(s.fold(), 1).map((r) => [r.fd, r.path, r.deleted]), [[3, '/a', true], [4, '/c', false]])
})

test('given descriptors of a pipe and a socket at R(0), fds shows their names as /proc does, never " (deleted)" (they have no file name to lose)', () => {
  const s = new Script()
  const fd = (n: number, path: string) => ({ fd: n, path, flags: 1, pos: 0, cloexec: false, inode: null })
  s.add(1, { ...snapshot(), procs: [{ pid: 1, ppid: 0, exe: '/bin/sh', cwd: '/', threads: [1], fds: [fd(1, 'pipe:[4382400]'), fd(2, 'socket:[99]')], maps: [] }] })
  s.add(1, open(3, '/w', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, { kind: 'file.unlink', path: '/w' })
  assert.deepEqual(fds(s.fold(), 1).map((r) => [r.fd, r.path, r.deleted]), [[1, 'pipe:[4382400]', false], [2, 'socket:[99]', false], [3, '/w', true]])
  assert.deepEqual(openFiles(s.fold()).map((r) => [r.path, r.deleted]), [['/w', true], ['pipe:[4382400]', false], ['socket:[99]', false]])
})
