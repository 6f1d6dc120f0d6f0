// Writes and the name space: write*, copies, truncate, fallocate, rename*, unlink*, link*, symlink*,
// mkdir*, rmdir, fsync.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { at, bodiesOf, bytes, draftsOf, errorsOf, fdp, hexOf, str, T0 } from './strace-support.js'

const F = fdp(3, '/w/a.txt')

test('given a write to a file, then file.write carries exactly the bytes written, escapes decoded', async () => {
  const bytes = Uint8Array.from([0x61, 0x22, 0x5c, 0x0a, 0x00, 0xff])
  const d = await draftsOf([at(7, `write(${F}, ${str(bytes)}, 6) = 6`, 1700000000, 123456)])
  assert.deepEqual(d, [{ ts: T0 + 123_456_000n, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: null, len: 6, known: 6 }, data: bytes }])
})

test('given a short write, then only the first `ret` bytes are data', async () => {
  const d = await draftsOf([at(7, `write(${F}, ${str('abcdef')}, 6) = 4`)])
  assert.deepEqual(d[0].body, { kind: 'file.write', fd: 3, offset: null, len: 4, known: 4 })
  assert.deepEqual(d[0].data, bytes('abcd'))
})

test('given a buffer strace truncated with ..., then the shown bytes are known and the rest of len is not', async () => {
  const d = await draftsOf([at(7, `write(${F}, ${str('yyyy')}..., 70000) = 70000`)])
  assert.deepEqual(d[0].body, { kind: 'file.write', fd: 3, offset: null, len: 70000, known: 4 })
  assert.deepEqual(d[0].data, bytes('yyyy'))
})

test('given writes to a pipe, a socket and a tty, then none is a file write; one to a memfd is (it is a file with no name)', async () => {
  const b = await bodiesOf([
    at(7, `write(${fdp(4, 'pipe:[8640]')}, ${str('p')}, 1) = 1`),
    at(7, `write(${fdp(5, 'socket:[8641]')}, ${str('s')}, 1) = 1`),
    at(7, `write(${fdp(1, '/dev/pts/0')}, ${str('t')}, 1) = 1`),
    at(7, `write(${fdp(6, '/memfd:mfd')}(deleted), ${str('m')}, 1) = 1`),
  ])
  assert.deepEqual(b, [{ kind: 'file.write', fd: 6, offset: null, len: 1, known: 1 }])
})

test('given a write through an fd whose file was unlinked, then it is still a file write', async () => {
  const b = await bodiesOf([at(7, `write(${fdp(11, '/w/f3')}(deleted), ${str('del')}, 3) = 3`)])
  assert.deepEqual(b, [{ kind: 'file.write', fd: 11, offset: null, len: 3, known: 3 }])
})

test('given a failed write and a zero-length write, then neither changes anything', async () => {
  const b = await bodiesOf([at(7, `write(${F}, ${str('x')}, 1) = -1 ENOSPC (No space left on device)`), at(7, `write(${F}, "", 0) = 0`)])
  assert.deepEqual(b, [])
})

test('given pwrite64, pwritev and pwritev2, then explicit offsets are kept, offset -1 means the position, and RWF_APPEND says append', async () => {
  const iov = `[{iov_base=${str('q')}, iov_len=1}, {iov_base=${str('r')}, iov_len=1}]`
  const d = await draftsOf([
    at(7, `pwrite64(${F}, ${str('ZZ')}, 2, 1) = 2`),
    at(7, `pwritev(${F}, ${iov}, 2, 3) = 2`),
    at(7, `pwritev2(${F}, ${iov}, 2, -1, 0) = 2`),
    at(7, `pwritev2(${F}, ${iov}, 2, 9, RWF_APPEND) = 2`),
  ])
  assert.deepEqual(d.map((x) => x.body), [
    { kind: 'file.write', fd: 3, offset: 1, len: 2, known: 2 },
    { kind: 'file.write', fd: 3, offset: 3, len: 2, known: 2 },
    { kind: 'file.write', fd: 3, offset: null, len: 2, known: 2 },
    { kind: 'file.write', fd: 3, offset: 9, len: 2, known: 2, append: true },
  ])
  assert.deepEqual(d.map((x) => Buffer.from(x.data ?? []).toString()), ['ZZ', 'qr', 'qr', 'qr'])
})

test('given a writev, then the iovecs are concatenated and cut at the return value', async () => {
  const d = await draftsOf([at(7, `writev(${F}, [{iov_base=${str('ab')}, iov_len=2}, {iov_base=${str('cd\n')}, iov_len=3}], 2) = 4`)])
  assert.deepEqual(d[0].body, { kind: 'file.write', fd: 3, offset: null, len: 4, known: 4 })
  assert.deepEqual(d[0].data, bytes('abcd'))
})

test('given a writev whose first iovec strace truncated, then later iovecs are not taken as known', async () => {
  const d = await draftsOf([at(7, `writev(${F}, [{iov_base=${str('ab')}..., iov_len=5}, {iov_base=${str('zz')}, iov_len=2}], 2) = 7`)])
  assert.deepEqual(d[0].body, { kind: 'file.write', fd: 3, offset: null, len: 7, known: 2 })
})

test('given copy_file_range, sendfile and splice into files, then the writes are of unknown bytes and inputs at their position move', async () => {
  const src = fdp(4, '/w/src')
  const dst = fdp(5, '/w/dst')
  const d = await draftsOf([
    at(7, `copy_file_range(${src}, NULL, ${dst}, NULL, 5, 0) = 5`),
    at(7, `copy_file_range(${src}, [0] => [5], ${dst}, [100] => [105], 5, 0) = 5`),
    at(7, `sendfile(${dst}, ${src}, [2] => [5], 3) = 3`),
    at(7, `sendfile(${dst}, ${src}, NULL, 3) = 3`),
    at(7, `splice(${fdp(6, 'pipe:[1]')}, NULL, ${dst}, NULL, 2, 0) = 2`),
    at(7, `splice(${src}, [7], ${fdp(8, 'pipe:[1]')}, NULL, 2, SPLICE_F_MOVE|SPLICE_F_MORE) = 2`),
  ])
  assert.deepEqual(d.map((x) => x.body), [
    { kind: 'fd.read', fd: 4, len: 5 },
    { kind: 'file.write', fd: 5, offset: null, len: 5, known: 0 },
    { kind: 'file.write', fd: 5, offset: 100, len: 5, known: 0 },
    { kind: 'file.write', fd: 5, offset: null, len: 3, known: 0 },
    { kind: 'fd.read', fd: 4, len: 3 },
    { kind: 'file.write', fd: 5, offset: null, len: 3, known: 0 },
    { kind: 'file.write', fd: 5, offset: null, len: 2, known: 0 },
  ])
  assert.ok(d.every((x) => x.body.kind !== 'file.write' || x.data?.length === 0))
})

test('given truncate, ftruncate and fallocate, then sizes, modes and paths are exact', async () => {
  const b = await bodiesOf([
    at(7, `truncate(${str('f3')}, 50) = 0`),
    at(7, `ftruncate(${F}, 10) = 0`),
    at(7, `fallocate(${F}, 0, 0, 4096) = 0`),
    at(7, `fallocate(${F}, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 100) = 0`),
    at(7, `ftruncate(${F}, 10) = -1 EINVAL (Invalid argument)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.truncate', path: '/w/f3', fd: null, size: 50 },
    { kind: 'file.truncate', path: null, fd: 3, size: 10 },
    { kind: 'file.allocate', fd: 3, mode: 0, offset: 0, len: 4096 },
    { kind: 'file.allocate', fd: 3, mode: 3, offset: 0, len: 100 },
  ])
})

test('given rename, renameat and renameat2, then both paths are absolute and the flags kept', async () => {
  const d = fdp(3, '/w/d')
  const b = await bodiesOf([
    at(7, `rename(${str('a.txt')}, ${str('d.txt')}) = 0`),
    at(7, `renameat(${d}, ${str('f2')}, ${d}, ${str('f2b')}) = 0`),
    at(7, `renameat2(${d}, ${str('f1')}, ${fdp('AT_FDCWD', '/w')}, ${str('../g1')}, RENAME_NOREPLACE) = 0`),
    at(7, `renameat2(${d}, ${str('x')}, ${d}, ${str('y')}, RENAME_EXCHANGE) = -1 ENOENT (No such file or directory)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.rename', from: '/w/a.txt', to: '/w/d.txt', flags: 0 },
    { kind: 'file.rename', from: '/w/d/f2', to: '/w/d/f2b', flags: 0 },
    { kind: 'file.rename', from: '/w/d/f1', to: '/g1', flags: 1 },
  ])
})

test('given unlink, unlinkat (with and without AT_REMOVEDIR) and rmdir, then files and directories are told apart', async () => {
  const d = fdp(3, '/w/d')
  const b = await bodiesOf([
    at(7, `unlink(${str('e.txt')}) = 0`),
    at(7, `unlinkat(${d}, ${str('sym')}, 0) = 0`),
    at(7, `unlinkat(${d}, ${str('sub')}, AT_REMOVEDIR) = 0`),
    at(7, `rmdir(${str('/w/gone')}) = 0`),
    at(7, `rmdir(${str('nonexist')}) = -1 ENOENT (No such file or directory)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.unlink', path: '/w/e.txt' },
    { kind: 'file.unlink', path: '/w/d/sym' },
    { kind: 'file.rmdir', path: '/w/d/sub' },
    { kind: 'file.rmdir', path: '/w/gone' },
  ])
})

test('given link, linkat, symlink and symlinkat, then link names resolve and symlink targets stay as written', async () => {
  const d = fdp(3, '/w/d')
  const b = await bodiesOf([
    at(7, `link(${str('d.txt')}, ${str('e.txt')}) = 0`),
    at(7, `linkat(${fdp('AT_FDCWD', '/w')}, ${str('g1')}, ${d}, ${str('g1link')}, 0) = 0`),
    at(7, `linkat(${fdp(5, '/w/#123')}(deleted), "", ${d}, ${str('kept')}, AT_EMPTY_PATH) = 0`),
    at(7, `symlink(${str('d.txt')}, ${str('f.txt')}) = 0`),
    at(7, `symlinkat(${str('../g1')}, ${d}, ${str('sym')}) = 0`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.link', from: '/w/d.txt', to: '/w/e.txt' },
    { kind: 'file.link', from: '/w/g1', to: '/w/d/g1link' },
    { kind: 'file.link', from: '/w/#123', to: '/w/d/kept', fd: 5 },
    { kind: 'file.symlink', target: 'd.txt', path: '/w/f.txt' },
    { kind: 'file.symlink', target: '../g1', path: '/w/d/sym' },
  ])
})

test('given mkdir, mkdirat, fsync and fdatasync, then directories and flushes are reported', async () => {
  const b = await bodiesOf([
    at(7, `mkdir(${str('g')}, 0777) = 0`),
    at(7, `mkdirat(${fdp(3, '/w/d')}, ${str('sub')}, 0700) = 0`),
    at(7, `mkdir(${str('g')}, 0777) = -1 EEXIST (File exists)`),
    at(7, `fsync(${F}) = 0`),
    at(7, `fdatasync(${F}) = 0`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.mkdir', path: '/w/g' },
    { kind: 'file.mkdir', path: '/w/d/sub' },
    { kind: 'file.flush', fd: 3 },
    { kind: 'file.flush', fd: 3 },
  ])
})

test('given a path with bytes that need escaping, then it decodes as UTF-8', async () => {
  const b = await bodiesOf([at(7, `mkdir(${str('dir with "quotes", commas> and é')}, 0777) = 0`)])
  assert.deepEqual(b, [{ kind: 'file.mkdir', path: '/w/dir with "quotes", commas> and é' }])
  assert.equal(hexOf('é'), '\\xc3\\xa9')
})

test('given mknod, mknodat and bind, then each node made is named with its type and device; failures, abstract and unnamed sockets and other families make none', async () => {
  const b = await bodiesOf([
    at(7, `mknod(${str('p')}, S_IFIFO|0644) = 0`),
    at(7, `mknodat(${fdp('AT_FDCWD', '/w')}, ${str('c')}, S_IFCHR|0666, makedev(0x1, 0x3)) = 0`),
    at(7, `mknodat(${fdp(3, '/w/d')}, ${str('b')}, S_IFBLK|0660, makedev(0x103, 0xfffff)) = 0`),
    at(7, `mknodat(${fdp('AT_FDCWD', '/w')}, ${str('plain')}, 0600) = 0`),
    at(7, `mknodat(${fdp('AT_FDCWD', '/w')}, ${str('c')}, S_IFCHR|0666, makedev(0x1, 0x3)) = -1 EEXIST (File exists)`),
    at(7, `bind(${fdp(4, 'socket:[1]')}, {sa_family=AF_UNIX, sun_path=${str('s')}}, 4) = 0`),
    at(7, `bind(${fdp(4, 'socket:[1]')}, {sa_family=AF_UNIX, sun_path=@${str('abstract')}}, 11) = 0`),
    at(7, `bind(${fdp(4, 'socket:[1]')}, {sa_family=AF_UNIX}, 2) = 0`),
    at(7, `bind(${fdp(5, 'socket:[2]')}, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(${str('127.0.0.1')})}, 16) = 0`),
    at(7, `bind(${fdp(4, 'socket:[1]')}, {sa_family=AF_UNIX, sun_path=${str('taken')}}, 8) = -1 EADDRINUSE (Address already in use)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.mknod', path: '/w/p', mode: 0o010644, rdev: 0 },
    { kind: 'file.mknod', path: '/w/c', mode: 0o020666, rdev: 0x103 },
    { kind: 'file.mknod', path: '/w/d/b', mode: 0o060660, rdev: 0xfff103ff },
    { kind: 'file.mknod', path: '/w/plain', mode: 0o600, rdev: 0 },
    { kind: 'file.mknod', path: '/w/s', mode: 0o140000, rdev: 0 },
  ])
})

test('given a mknodat whose device number is not makedev(), then the line is refused, naming the argument', async () => {
  const errors = await errorsOf([at(7, `mknodat(${fdp('AT_FDCWD', '/w')}, ${str('c')}, S_IFCHR|0666, 259) = 0`)])
  assert.equal(errors.length, 1)
  assert.match(errors[0].error, /bad device number "259".*argument 4/)
})

test('given chmod, fchmodat and fchmod, then each names the file with its permission bits (octal, or special bits by name); failures and a file with no name left make none', async () => {
  const b = await bodiesOf([
    at(7, `chmod(${str('a')}, 04755) = 0`),
    at(7, `fchmodat(${fdp(3, '/w/d')}, ${str('b')}, 0640) = 0`),
    at(7, `fchmod(${fdp(4, '/w/d/c')}, S_ISGID|S_ISVTX|0711) = 0`),
    at(7, `chmod(${str('missing')}, 0644) = -1 ENOENT (No such file or directory)`),
    at(7, `fchmod(${fdp(5, '/w/gone')}(deleted), 0600) = 0`),
    at(7, `fchmod(${fdp(5, '/w/gone (deleted)')}, 0600) = 0`), // an strace before 6.1 shows it inside
  ])
  assert.deepEqual(b, [
    { kind: 'file.chmod', path: '/w/a', mode: 0o4755 },
    { kind: 'file.chmod', path: '/w/d/b', mode: 0o640 },
    { kind: 'file.chmod', path: '/w/d/c', mode: 0o3711 },
  ])
})

test('given an fchmod whose fd shows no path (strace run without -y), then the line is refused, saying what is missing', async () => {
  const errors = await errorsOf([at(7, 'fchmod(4, 0600) = 0')])
  assert.equal(errors.length, 1)
  assert.match(errors[0].error, /fd 4 shows no path in argument 1 of fchmod/)
})

test('given chown, lchown, fchownat and fchown, then each names the file (a symlink itself where told not to follow) with its owner and group, -1 as unchanged; failures make none', async () => {
  const b = await bodiesOf([
    at(7, `chown(${str('a')}, 1000, 5) = 0`),
    at(7, `lchown(${str('l')}, 7, -1) = 0`),
    at(7, `fchownat(${fdp('AT_FDCWD', '/w')}, ${str('m')}, 7, -1, AT_SYMLINK_NOFOLLOW) = 0`),
    at(7, `fchownat(${fdp(3, '/w/d')}, ${str('b')}, -1, 9, 0) = 0`),
    at(7, `fchown(${fdp(4, '/w/d/c')}, 0, -1) = 0`),
    at(7, `chown(${str('missing')}, 0, 0) = -1 ENOENT (No such file or directory)`),
  ])
  assert.deepEqual(b, [
    { kind: 'file.chown', path: '/w/a', uid: 1000, gid: 5 },
    { kind: 'file.chown', path: '/w/l', uid: 7, gid: null, nofollow: true },
    { kind: 'file.chown', path: '/w/m', uid: 7, gid: null, nofollow: true },
    { kind: 'file.chown', path: '/w/d/b', uid: null, gid: 9 },
    { kind: 'file.chown', path: '/w/d/c', uid: 0, gid: null },
  ])
})
