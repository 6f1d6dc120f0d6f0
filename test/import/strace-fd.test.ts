// fd family: open*, close*, dup*, fcntl, lseek, read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY } from '../../src/events/flags.js'
import { at, bodiesOf, draftsOf, fdp, str, T0 } from './strace-support.js'

test('given an openat relative to AT_FDCWD, when it succeeds, then fd.open carries the path -y shows for the new fd', async () => {
  const d = await draftsOf([at(7, `openat(${fdp('AT_FDCWD', '/w')}, ${str('link')}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = ${fdp(3, '/w/target')}`)])
  assert.deepEqual(d, [{ ts: T0, pid: 7, tid: 7, body: { kind: 'fd.open', fd: 3, path: '/w/target', flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, inode: null, created: null } }])
})

test('given an openat with O_CREAT|O_EXCL, when it succeeds, then the file is known to be created', async () => {
  const b = await bodiesOf([at(7, `openat(${fdp('AT_FDCWD', '/w')}, ${str('new')}, O_RDWR|O_CREAT|O_EXCL, 0600) = ${fdp(4, '/w/new')}`)])
  assert.deepEqual(b, [{ kind: 'fd.open', fd: 4, path: '/w/new', flags: O_RDWR | O_CREAT | O_EXCL, inode: null, created: true }])
})

test('given an O_TMPFILE open (strace shows its "dir/#INO" deleted, after or inside the decoration), then fd.open says the file has no name; a linkat of its fd links the file the fd holds', async () => {
  const b = await bodiesOf([
    at(7, `openat(${fdp('AT_FDCWD', '/w')}, ${str('/w/d')}, O_RDWR|O_CLOEXEC|O_TMPFILE, 0644) = ${fdp(3, '/w/d/#123')}(deleted)`),
    at(7, `openat(${fdp('AT_FDCWD', '/w')}, ${str('/w/d')}, O_RDWR|O_TMPFILE, 0644) = ${fdp(4, '/w/d/#124 (deleted)')}`),
    at(7, `linkat(${fdp(3, '/w/d/#123')}(deleted), "", ${fdp('AT_FDCWD', '/w')}, ${str('named')}, AT_EMPTY_PATH) = 0`),
  ])
  const flags = O_RDWR | O_TMPFILE
  assert.deepEqual(b, [
    { kind: 'fd.open', fd: 3, path: '/w/d/#123', flags: flags | O_CLOEXEC, inode: null, created: true, deleted: true },
    { kind: 'fd.open', fd: 4, path: '/w/d/#124', flags, inode: null, created: true, deleted: true },
    { kind: 'file.link', from: '/w/d/#123', to: '/w/named', fd: 3 },
  ])
})

test('given an open without a -y path on the result, when it succeeds, then the argument is resolved against the cwd and normalised', async () => {
  const b = await bodiesOf([at(7, `open(${str('./a/../b//c')}, O_RDONLY|0x40000000) = 5`)], '/home/u')
  assert.deepEqual(b, [{ kind: 'fd.open', fd: 5, path: '/home/u/b/c', flags: 0x40000000, inode: null, created: null }])
})

test('given an openat relative to a directory fd without a -y path on the result, then the dirfd path is the base', async () => {
  const b = await bodiesOf([at(7, `openat(${fdp(3, '/data/dir')}, ${str('../x')}, O_RDONLY|O_DIRECTORY) = 4`)])
  assert.deepEqual(b, [{ kind: 'fd.open', fd: 4, path: '/data/x', flags: O_DIRECTORY, inode: null, created: null }])
})

test('given openat2 and creat, when they succeed, then their flags come from open_how and from creat\'s definition', async () => {
  const b = await bodiesOf([
    at(7, `openat2(${fdp(3, '/d')}, ${str('f2')}, {flags=O_RDWR|O_CREAT, mode=0600, resolve=0}, 24) = ${fdp(5, '/d/f2')}`),
    at(7, `creat(${str('f3')}, 0644) = ${fdp(6, '/w/f3')}`),
  ])
  assert.deepEqual(b, [
    { kind: 'fd.open', fd: 5, path: '/d/f2', flags: O_RDWR | O_CREAT, inode: null, created: null },
    { kind: 'fd.open', fd: 6, path: '/w/f3', flags: O_CREAT | O_WRONLY | O_TRUNC, inode: null, created: null },
  ])
})

test('given a failed open, then it changes nothing', async () => {
  const b = await bodiesOf([at(7, `openat(${fdp('AT_FDCWD', '/w')}, ${str('nope/x')}, O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)`)])
  assert.deepEqual(b, [])
})

test('given close calls, when one fails with EBADF and one with EINTR, then only EBADF leaves the fd table alone', async () => {
  const b = await bodiesOf([
    at(7, `close(${fdp(3, '/w/a')}) = 0`),
    at(7, 'close(99) = -1 EBADF (Bad file descriptor)'),
    at(7, `close(${fdp(4, 'pipe:[12]')}) = -1 EINTR (Interrupted system call)`),
  ])
  assert.deepEqual(b, [{ kind: 'fd.close', fd: 3 }, { kind: 'fd.close', fd: 4 }])
})

test('given close_range with and without CLOSE_RANGE_CLOEXEC, then fd.closeRange says which', async () => {
  const b = await bodiesOf([at(7, 'close_range(3, 4294967295, 0) = 0'), at(7, 'close_range(20, 20, CLOSE_RANGE_CLOEXEC) = 0')])
  assert.deepEqual(b, [
    { kind: 'fd.closeRange', first: 3, last: 4294967295, cloexecOnly: false },
    { kind: 'fd.closeRange', first: 20, last: 20, cloexecOnly: true },
  ])
})

test('given dup, dup2, dup3 and fcntl(F_DUPFD*), then each yields fd.dup with the right close-on-exec flag', async () => {
  const a = fdp(4, '/w/g')
  const b = await bodiesOf([
    at(7, `dup(${a}) = ${fdp(9, '/w/g')}`),
    at(7, `dup2(${a}, ${fdp(1, '/dev/pts/0')}) = ${fdp(1, '/w/g')}`),
    at(7, `dup3(${a}, 20, O_CLOEXEC) = ${fdp(20, '/w/g')}`),
    at(7, `fcntl(${a}, F_DUPFD, 30) = ${fdp(30, '/w/g')}`),
    at(7, `fcntl(${a}, F_DUPFD_CLOEXEC, 0) = ${fdp(8, '/w/g')}`),
    at(7, `dup2(${a}, ${a}) = ${a}`),
  ])
  assert.deepEqual(b, [
    { kind: 'fd.dup', fd: 4, newFd: 9, cloexec: false },
    { kind: 'fd.dup', fd: 4, newFd: 1, cloexec: false },
    { kind: 'fd.dup', fd: 4, newFd: 20, cloexec: true },
    { kind: 'fd.dup', fd: 4, newFd: 30, cloexec: false },
    { kind: 'fd.dup', fd: 4, newFd: 8, cloexec: true },
  ])
})

test('given fcntl F_SETFD and other commands, then F_SETFD changes the close-on-exec flag and F_SETFL the status flags', async () => {
  const a = fdp(4, '/w/g')
  const b = await bodiesOf([
    at(7, `fcntl(${a}, F_SETFD, FD_CLOEXEC) = 0`),
    at(7, `fcntl(${a}, F_SETFD, 0) = 0`),
    at(7, `fcntl(${a}, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)`),
    at(7, `fcntl(${a}, F_SETFL, O_RDWR|O_APPEND) = 0`),
  ])
  assert.deepEqual(b, [{ kind: 'fd.cloexec', fd: 4, on: true }, { kind: 'fd.cloexec', fd: 4, on: false }, { kind: 'fd.setfl', fd: 4, flags: O_APPEND }])
})

test('given ioctl FIOCLEX and FIONCLEX (Python sets inheritance so), then each yields fd.cloexec; a failed one and other requests, whatever their arguments, yield nothing', async () => {
  const a = fdp(4, '/w/g')
  const b = await bodiesOf([
    at(7, `ioctl(${a}, FIONCLEX) = 0`),
    at(7, `ioctl(${a}, FIOCLEX) = 0`),
    at(7, `ioctl(${a}, FIONCLEX) = -1 EBADF (Bad file descriptor)`),
    at(7, `ioctl(1</dev/pts/0>, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO, ...}) = 0`),
    at(7, `ioctl(${a}, TCGETS, 0x7ffc1e0) = -1 ENOTTY (Inappropriate ioctl for device)`),
    at(7, `ioctl(3<socket:[1234]>, _IOC(_IOC_READ, 0x54, 0x13, 0x24), 0x7ffc1e0) = 0`),
  ])
  assert.deepEqual(b, [{ kind: 'fd.cloexec', fd: 4, on: false }, { kind: 'fd.cloexec', fd: 4, on: true }])
})

test('given lseek and reads, then the position events follow the return values and skip empty reads and pipes', async () => {
  const f = fdp(3, '/w/p.py')
  const b = await bodiesOf([
    at(7, `lseek(${f}, -22, SEEK_END) = 1072`),
    at(7, `read(${f}, ${str('abc')}, 4096) = 3`),
    at(7, `read(${f}, "", 4096) = 0`),
    at(7, `readv(${f}, [{iov_base=${str('012')}, iov_len=3}, {iov_base=${str('3456')}, iov_len=4}], 2) = 7`),
    at(7, `read(${fdp(0, 'pipe:[99]')}, ${str('x')}, 1) = 1`),
    at(7, `lseek(${fdp(0, 'pipe:[99]')}, 0, SEEK_CUR) = -1 ESPIPE (Illegal seek)`),
  ])
  assert.deepEqual(b, [{ kind: 'fd.seek', fd: 3, pos: 1072 }, { kind: 'fd.read', fd: 3, len: 3 }, { kind: 'fd.read', fd: 3, len: 7 }])
})

test('given O_APPEND among the names strace prints, then the numeric flags are Linux values', async () => {
  const b = await bodiesOf([at(7, `openat(AT_FDCWD, ${str('/l')}, O_WRONLY|O_CREAT|O_APPEND|O_NOCTTY|O_NONBLOCK|O_SYNC|O_NOFOLLOW, 0600) = 4`)])
  assert.equal(b[0].kind, 'fd.open')
  if (b[0].kind === 'fd.open') assert.equal(b[0].flags, O_WRONLY | O_CREAT | O_APPEND | 0o400 | 0o4000 | 0o4010000 | 0o400000)
})

test('given reflink clones (cp on XFS and btrfs), then FICLONE and FICLONERANGE are file.clone; failed ones and other requests are nothing', async () => {
  const b = await bodiesOf([
    at(7, `ioctl(${fdp(4, '/w/copy')}, BTRFS_IOC_CLONE or FICLONE, 3) = 0`),
    at(7, `ioctl(${fdp(4, '/w/copy')}, BTRFS_IOC_CLONE_RANGE or FICLONERANGE, {src_fd=${fdp(3, '/w/src')}, src_offset=4096, src_length=8192, dest_offset=0}) = 0`),
    at(7, `ioctl(${fdp(4, '/w/copy')}, BTRFS_IOC_CLONE or FICLONE, 3) = -1 EXDEV (Invalid cross-device link)`),
    at(7, `ioctl(${fdp(4, '/w/copy')}, TCGETS, 0x7ffd2b0b1f10) = -1 ENOTTY (Inappropriate ioctl for device)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.clone', fd: 4, srcFd: 3, srcOffset: 0, len: 0, destOffset: 0 },
    { kind: 'file.clone', fd: 4, srcFd: 3, srcOffset: 4096, len: 8192, destOffset: 0 },
  ])
})

test('given memfd_create, then fd.open of a new file with no name, close-on-exec from MFD_CLOEXEC', async () => {
  const b = await bodiesOf([
    at(7, `memfd_create(${str('scratch')}, 0) = ${fdp(3, '/memfd:scratch')}(deleted)`),
    at(7, `memfd_create(${str('c')}, MFD_CLOEXEC|MFD_ALLOW_SEALING) = ${fdp(4, '/memfd:c (deleted)')}`),
    at(7, `memfd_create(${str('x')}, MFD_HUGETLB) = -1 EINVAL (Invalid argument)`),
  ])
  assert.deepEqual(b, [
    { kind: 'fd.open', fd: 3, path: '/memfd:scratch', flags: O_RDWR, inode: null, created: true, deleted: true },
    { kind: 'fd.open', fd: 4, path: '/memfd:c', flags: O_RDWR | O_CLOEXEC, inode: null, created: true, deleted: true },
  ])
})

test('given fcntl F_SETFL, then fd.setfl with the status flags it sets (O_APPEND decides where writes land); F_GETFL and failures are nothing', async () => {
  const b = await bodiesOf([
    at(7, `fcntl(${fdp(3, '/w/log')}, F_GETFL) = 0x8001 (flags O_WRONLY|O_LARGEFILE)`),
    at(7, `fcntl(${fdp(3, '/w/log')}, F_SETFL, O_WRONLY|O_APPEND|O_LARGEFILE) = 0`),
    at(7, `fcntl(${fdp(3, '/w/log')}, F_SETFL, O_NONBLOCK) = 0`),
    at(7, `fcntl(${fdp(3, '/w/log')}, F_SETFL, O_APPEND) = -1 EPERM (Operation not permitted)`),
  ])
  assert.deepEqual(b, [
    { kind: 'fd.setfl', fd: 3, flags: O_APPEND },
    { kind: 'fd.setfl', fd: 3, flags: 0o4000 },
  ])
})
