// What an export holds beyond plain files: hard links stay links, holes read as zeros, bytes eyrie
// never saw are zeros listed in the manifest, a file of unknown size is written up to its last known
// byte and says so; a directory export and a tar export of the same moment hold the same bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Journal } from '../../src/journal/journal.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { exportAt } from '../../src/forensic/export.js'
import { openDirTarget, openTarTarget } from '../../src/forensic/exportTargets.js'
import { StreamBuilder } from '../../src/testing/index.js'
import { tempDir } from '../support/e2e.js'

/** The builder's events in a fresh journal in a work directory; removed after `f`, even where an
 *  export made a directory read-only. */
const withJournal = async (name: string, b: StreamBuilder, f: (j: Journal, dir: string) => Promise<void>): Promise<void> => {
  const dir = await tempDir(name)
  try {
    const j = await openLmdbJournal(join(dir, 'journal'), { noSync: true })
    try {
      await j.append('g', b.drafts()).committed
      await f(j, dir)
    } finally {
      await j.close()
    }
  } finally {
    execFileSync('chmod', ['-R', 'u+w', dir])
    await rm(dir, { recursive: true, force: true })
  }
}

test('given a link, a hole, a partly known file and one of unknown size, the export and its manifest say exactly what is known', async () => {
  const b = new StreamBuilder('g').mkdir(1, '/w')
  b.open(1, 3, '/w/a', 0o1101, true).write(1, 3, 'abc').write(1, 3, 'XY', 10).close(1, 3) // hole [3, 10)
  b.add(1, { kind: 'file.link', from: '/w/a', to: '/w/link-to-a' })
  // existed before: 4 bytes seen at offset 2 of a 10-byte file
  b.add(1, { kind: 'file.observe', path: '/w/old', inode: null, offset: 2, size: 10, len: 4, known: 4 }, Buffer.from('seen'))
  // existed before, size never learned: 3 bytes written at offset 5
  b.open(1, 4, '/w/big', 0o2, false).write(1, 4, 'new', 5).close(1, 4)
  await withJournal('export', b, async (j, dir) => {
    const end = b.events.length
    const out = join(dir, 'out')
    const m = await exportAt(j, 'g', end, () => openDirTarget(out))
    const a = Buffer.concat([Buffer.from('abc'), Buffer.alloc(7), Buffer.from('XY')])
    assert.deepEqual(await readFile(join(out, 'root/w/a')), a)
    assert.equal((await stat(join(out, 'root/w/a'))).ino, (await stat(join(out, 'root/w/link-to-a'))).ino, 'a hard link stays one file')
    assert.deepEqual(await readFile(join(out, 'root/w/old')), Buffer.concat([Buffer.alloc(2), Buffer.from('seen'), Buffer.alloc(4)]))
    assert.deepEqual(await readFile(join(out, 'root/w/big')), Buffer.concat([Buffer.alloc(5), Buffer.from('new')]))
    const byPath = new Map(m.files.map((f) => [f.path, f]))
    assert.deepEqual(byPath.get('/w/a'), { path: '/w/a', size: 12, sizeKnown: true, sha256: createHash('sha256').update(a).digest('hex'), unknown: [], mode: null, uid: null, gid: null, linkOf: null, note: null })
    assert.equal(byPath.get('/w/link-to-a')?.linkOf, '/w/a')
    assert.deepEqual(byPath.get('/w/old')?.unknown, [{ start: 0, end: 2 }, { start: 6, end: 10 }])
    assert.deepEqual([byPath.get('/w/big')?.sizeKnown, byPath.get('/w/big')?.unknown], [false, [{ start: 0, end: 5 }]])
    assert.deepEqual(m.totals, { files: 4, bytes: 30, unknownBytes: 11, incomplete: 2, lagging: 0 })

    const tar = join(dir, 'g.tar')
    await exportAt(j, 'g', end, () => openTarTarget(tar, new Date(0)))
    const x = join(dir, 'x')
    execFileSync('mkdir', [x])
    execFileSync('tar', ['-xf', tar, '-C', x])
    for (const name of ['a', 'link-to-a', 'old', 'big']) assert.deepEqual(await readFile(join(x, 'root/w', name)), await readFile(join(out, 'root/w', name)), name)
    assert.equal((await stat(join(x, 'root/w/a'))).ino, (await stat(join(x, 'root/w/link-to-a'))).ino, 'the tar holds a hard link entry')
    // the same moment gives the same tar, byte for byte
    await exportAt(j, 'g', end, () => openTarTarget(join(dir, 'again.tar'), new Date(0)))
    assert.deepEqual(await readFile(join(dir, 'again.tar')), await readFile(tar))
  })
})

test('given a fifo, a socket and a device node, the export lists them under specials and makes none of them', async () => {
  const b = new StreamBuilder('g').mkdir(1, '/w')
  b.add(1, { kind: 'file.mknod', path: '/w/p', mode: 0o010644, rdev: 0 })
  b.add(1, { kind: 'file.mknod', path: '/w/s', mode: 0o140755, rdev: 0 })
  b.add(1, { kind: 'file.mknod', path: '/w/sda', mode: 0o060660, rdev: 0x800 })
  b.add(1, { kind: 'file.mknod', path: '/w/empty', mode: 0o100600, rdev: 0 })
  await withJournal('export-specials', b, async (j, dir) => {
    const out = join(dir, 'out')
    const m = await exportAt(j, 'g', b.events.length, () => openDirTarget(out))
    assert.deepEqual(m.specials, [{ path: '/w/p', type: 'fifo' }, { path: '/w/s', type: 'socket' }, { path: '/w/sda', type: 'block' }])
    assert.deepEqual(m.files.map((f) => [f.path, f.size, f.sizeKnown]), [['/w/empty', 0, true]])
    execFileSync('test', ['!', '-e', join(out, 'root/w/sda')])
    execFileSync('test', ['!', '-e', join(out, 'root/w/p')])
  })
})

test('given modes and owners the recording saw, the export gives the modes (without set-user-ID and set-group-ID), a read-only directory its own after its names, and the manifest keeps them and the owners as they were', async () => {
  const b = new StreamBuilder('g').mkdir(1, '/w')
  b.add(1, { kind: 'file.mkdir', path: '/w/ro', mode: 0o555, uid: 0, gid: 50 })
  b.open(1, 3, '/w/ro/tool', 0o1101, true).write(1, 3, '#!/bin/sh\n').close(1, 3)
  b.add(1, { kind: 'file.chown', path: '/w/ro/tool', uid: 0, gid: null })
  b.add(1, { kind: 'file.chown', path: '/w/ro/tool', uid: null, gid: 7 })
  b.add(1, { kind: 'file.chmod', path: '/w/ro/tool', mode: 0o4755 }) // after the chowns, which would take it away
  b.open(1, 4, '/w/plain', 0o1101, true).close(1, 4)
  b.add(1, { kind: 'file.chmod', path: '/w/plain', mode: 0o600 })
  b.add(1, { kind: 'file.chmod', path: '/w/plain', mode: 0o640 })
  b.open(1, 5, '/w/unknown', 0o1101, true).close(1, 5)
  await withJournal('export-modes', b, async (j, dir) => {
    const out = join(dir, 'out')
    const m = await exportAt(j, 'g', b.events.length, () => openDirTarget(out))
    const permissions = async (p: string): Promise<number> => (await stat(join(out, 'root', p))).mode & 0o7777
    assert.deepEqual([await permissions('w/ro/tool'), await permissions('w/plain'), await permissions('w/unknown'), await permissions('w/ro')], [0o755, 0o640, 0o644, 0o555])
    const byPath = new Map(m.files.map((f) => [f.path, [f.mode, f.uid, f.gid]]))
    assert.deepEqual([byPath.get('/w/ro/tool'), byPath.get('/w/plain'), byPath.get('/w/unknown')], [[0o4755, 0, 7], [0o640, null, null], [null, null, null]])
    assert.deepEqual(m.dirAttributes, { '/w/ro': { mode: 0o555, uid: 0, gid: 50 } })
    const tar = join(dir, 'g.tar')
    await exportAt(j, 'g', b.events.length, () => openTarTarget(tar, new Date(0)))
    const listing = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' })
    assert.match(listing, /^-rwxr-xr-x .* root\/w\/ro\/tool$/m)
    assert.match(listing, /^dr-xr-xr-x .* root\/w\/ro\/$/m)
    assert.match(listing, /^-rw-r----- .* root\/w\/plain$/m)
  })
})
