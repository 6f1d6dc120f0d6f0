// Memory-mapped views: mmap of files, munmap, mremap, mprotect, msync.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { at, bodiesOf, fdp } from './strace-support.js'

const G = fdp(4, '/w/g1')

test('given an mmap of a file, then view.map has the returned address, the protection bits and the sharing', async () => {
  const b = await bodiesOf([
    at(7, `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, ${G}, 0) = 0x7ff5cd517000`),
    at(7, `mmap(0x7f190e84f000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, ${G}, 0x26000) = 0x7f190e84f000`),
    at(7, `mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE, ${G}, 0) = 0x7ff5cd517000`),
  ])
  assert.deepEqual(b, [
    { kind: 'view.map', addr: 0x7ff5cd517000, len: 4096, prot: 3, shared: true, path: '/w/g1', inode: null, offset: 0 },
    { kind: 'view.map', addr: 0x7f190e84f000, len: 1400832, prot: 5, shared: false, path: '/w/g1', inode: null, offset: 0x26000 },
    { kind: 'view.map', addr: 0x7ff5cd517000, len: 4096, prot: 1, shared: true, path: '/w/g1', inode: null, offset: 0 },
  ])
})

test('given an mmap of a file unlinked since it was opened, then its view is mapped by no name (the fold must not bring the name back)', async () => {
  const b = await bodiesOf([
    at(7, `mmap(NULL, 1, PROT_READ|PROT_WRITE, MAP_SHARED, ${fdp(4, '/w/c')}(deleted), 0) = 0x7feda6bf1000`),
    at(7, `mmap(NULL, 1, PROT_READ, MAP_PRIVATE, ${fdp(4, '/w/c (deleted)')}, 0) = 0x7feda6bf2000`), // before strace 6.1
  ])
  assert.deepEqual(b, [
    { kind: 'view.map', addr: 0x7feda6bf1000, len: 1, prot: 3, shared: true, path: '/w/c', inode: null, offset: 0, deleted: true },
    { kind: 'view.map', addr: 0x7feda6bf2000, len: 1, prot: 1, shared: false, path: '/w/c', inode: null, offset: 0, deleted: true },
  ])
})

test('given anonymous maps, a map of /dev/zero and a failed map, then no view is reported', async () => {
  const b = await bodiesOf([
    at(7, 'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7fed5f2d6000'),
    at(7, 'mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f63ce6d4000'),
    at(7, `mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ${fdp(5, '/dev/zero')}, 0) = 0x7f63ce6d4000`),
    at(7, `mmap(NULL, 4096, PROT_READ, MAP_SHARED, ${G}, 0) = -1 ENOMEM (Cannot allocate memory)`),
  ])
  assert.deepEqual(b, [])
})

test('given madvise, then MADV_REMOVE (a hole behind shared views) is reported when it succeeded, and other advice is not', async () => {
  const b = await bodiesOf([
    at(7, 'madvise(0x7ff5cd515000, 8192, MADV_REMOVE) = 0'),
    at(7, 'madvise(0x7ff5cd515000, 8192, MADV_DONTNEED) = 0'),
    at(7, 'madvise(0x7ff5cd515000, 4096, MADV_REMOVE) = -1 EINVAL (Invalid argument)'),
  ])
  assert.deepEqual(b, [{ kind: 'view.remove', addr: 0x7ff5cd515000, len: 8192 }])
})

test('given munmap, mremap, mprotect and msync, then every region change is reported and msync is not', async () => {
  const b = await bodiesOf([
    at(7, 'mremap(0x7ff5cd517000, 4096, 8192, MREMAP_MAYMOVE) = 0x7ff5cd515000'),
    at(7, 'mremap(0x7ff5cd515000, 8192, 4096, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ff5cd000000) = 0x7ff5cd000000'),
    at(7, 'mprotect(0x7ff5cd515000, 4096, PROT_READ) = 0'),
    at(7, 'msync(0x7ff5cd515000, 4096, MS_SYNC) = 0'),
    at(7, 'munmap(0x7ff5cd515000, 8192) = 0'),
    at(7, 'munmap(0x1000, 8192) = -1 EINVAL (Invalid argument)'),
  ])
  assert.deepEqual(b, [
    { kind: 'view.remap', addr: 0x7ff5cd517000, len: 4096, newAddr: 0x7ff5cd515000, newLen: 8192 },
    { kind: 'view.remap', addr: 0x7ff5cd515000, len: 8192, newAddr: 0x7ff5cd000000, newLen: 4096 },
    { kind: 'view.protect', addr: 0x7ff5cd515000, len: 4096, prot: 1 },
    { kind: 'view.unmap', addr: 0x7ff5cd515000, len: 8192 },
  ])
})
