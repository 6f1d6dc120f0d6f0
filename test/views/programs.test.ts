// Real programs that change files through shared views, recorded by the native interceptor: each
// copies the file aside at chosen moments (another process reads it then), and content at that moment
// must equal the copy; `maps` at a moment must equal the /proc/PID/maps copy taken then.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { worldAt } from '../../src/engine/replay.js'
import type { Event } from '../../src/events/index.js'
import { contentAt, recordNatively, type Recorded } from '../support/e2e.js'
import { procMaps, viewRows } from '../support/maps.js'

/** The seq at which the process that wrote `side` (a copy) exited: the copy was complete then. */
const copiedAt = (r: Recorded, side: string): number => {
  const open = r.events.find((e) => e.kind === 'fd.open' && e.path === side)
  assert.ok(open !== undefined, `${side} was never opened`)
  const exit = r.events.find((e) => e.kind === 'proc.exit' && e.pid === open.pid && e.seq > open.seq && !e.thread)
  assert.ok(exit !== undefined, `the copy into ${side} never ended`)
  return exit.seq
}

const assertCopiesMatch = async (r: Recorded, file: string, sides: readonly string[]): Promise<void> => {
  for (const side of sides) {
    const at = copiedAt(r, join(r.dir, side))
    const expected = await readFile(join(r.dir, side))
    const got = await contentAt(r, at, join(r.dir, file))
    assert.ok(got.equals(expected), `${file} at #${at} differs from ${side} (${got.length} vs ${expected.length} bytes)`)
  }
}

test('given python3 editing a file through mmap, content at each side copy equals the copy, and at the end the disk', async () => {
  const script = `
import mmap, os, subprocess
with open('f', 'wb') as f: f.write(b'.' * 20000)
fd = os.open('f', os.O_RDWR)
m = mmap.mmap(fd, 20000)
m[0:5] = b'hello'
m[12000:12005] = b'world'
subprocess.run(['cp', 'f', 'side1'], check=True)
m[5:10] = b'HELLO'
m.flush()
os.write(fd, b'written')
m[19995:20000] = b'tail!'
subprocess.run(['cp', 'f', 'side2'], check=True)
m.close()
os.close(fd)
`
  const r = await recordNatively(['python3', '-c', script])
  try {
    assert.ok(r.events.some((e) => e.kind === 'view.sync'), 'stores were read out')
    await assertCopiesMatch(r, 'f', ['side1', 'side2'])
    const end = await contentAt(r, r.events.at(-1)?.seq ?? 0, join(r.dir, 'f'))
    assert.ok(end.equals(await readFile(join(r.dir, 'f'))))
  } finally {
    await r.cleanup()
  }
})

test('given python3 mapping files, maps at the moment of each /proc/self/maps copy equals the copy', async () => {
  const script = `
import mmap, os
def snap(name):
    data = open('/proc/self/maps').read()
    with open(name, 'w') as out: out.write(data)
snap('maps1')
with open('g', 'wb') as f: f.write(b'x' * 50000)
fd = os.open('g', os.O_RDWR)
shared = mmap.mmap(fd, 50000)
private = mmap.mmap(fd, 8192, flags=mmap.MAP_PRIVATE, offset=8192)
readonly = mmap.mmap(fd, 4096, prot=mmap.PROT_READ, offset=40960)
snap('maps2')
private.close()
shared.close()
snap('maps3')
`
  const r = await recordNatively(['python3', '-c', script])
  try {
    const python = r.events.find((e): e is Extract<Event, { kind: 'proc.exec' }> => e.kind === 'proc.exec')?.pid
    assert.ok(python !== undefined, 'python3 was exec\'d')
    for (const side of ['maps1', 'maps2', 'maps3']) {
      // the copy is closed after it was written: the maps in it are the ones at that moment
      const open = r.events.find((e): e is Extract<Event, { kind: 'fd.open' }> => e.kind === 'fd.open' && e.path === join(r.dir, side))
      assert.ok(open !== undefined, `${side} was opened`)
      const closed: Event | undefined = r.events.find((e) => e.kind === 'fd.close' && e.pid === python && e.seq > open.seq && e.fd === open.fd)
      assert.ok(closed !== undefined, `${side} was closed`)
      const w = await worldAt(r.journal, r.guest, closed.seq)
      assert.deepEqual(viewRows(w, python), procMaps(await readFile(join(r.dir, side), 'utf8'), true), `${side}: maps at #${closed.seq}`)
    }
  } finally {
    await r.cleanup()
  }
})

test('given sqlite3 in WAL mode, its -shm (a shared mapping) at each copy taken from .shell equals the copy', async () => {
  const sql = [
    'PRAGMA journal_mode=WAL;',
    'CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);',
    ...Array.from({ length: 200 }, (_, i) => `INSERT INTO t (v) VALUES ('row ${i} ${'x'.repeat(i % 50)}');`),
    '.shell cp db.sqlite-shm side1',
    "UPDATE t SET v = 'changed' WHERE k % 3 = 0;",
    '.shell cp db.sqlite-shm side2',
  ].join('\n')
  const r = await recordNatively(['sh', '-c', 'sqlite3 db.sqlite < script.sql'], { setup: (dir) => writeFile(join(dir, 'script.sql'), sql) })
  try {
    assert.ok(r.events.some((e) => e.kind === 'view.sync' && e.path.endsWith('-shm')), 'the -shm view was read out')
    await assertCopiesMatch(r, 'db.sqlite-shm', ['side1', 'side2'])
    const end = await contentAt(r, r.events.at(-1)?.seq ?? 0, join(r.dir, 'db.sqlite'))
    assert.ok(end.equals(await readFile(join(r.dir, 'db.sqlite'))), 'the database at the end equals the disk')
  } finally {
    await r.cleanup()
  }
})

test('given a program using LMDB with writemap (stores only, no write calls to the data file), content at each copy equals it', async () => {
  const lmdb = createRequire(import.meta.url).resolve('lmdb')
  const script = `
const { open } = require(${JSON.stringify(lmdb)})
const { execFileSync } = require('node:child_process')
const db = open({ path: 'db', useWritemap: true, compression: false })
for (let i = 0; i < 300; i++) db.putSync('key' + i, 'value ' + i + ' ' + 'y'.repeat(i % 90))
execFileSync('cp', ['db/data.mdb', 'side1'])
for (let i = 0; i < 300; i += 7) db.putSync('key' + i, 'changed ' + i)
execFileSync('cp', ['db/data.mdb', 'side2'])
db.close()
`
  const r = await recordNatively(['node', '-e', script])
  try {
    const data = join(r.dir, 'db', 'data.mdb')
    // LMDB keeps data.mdb open for writing: its stores are read back with the file (file.sync) at
    // the writer's stops and before each cp opens it, or out of the view (view.sync)
    assert.ok(r.events.some((e) => (e.kind === 'view.sync' || e.kind === 'file.sync') && e.path === data), 'the stores were read out')
    await assertCopiesMatch(r, 'db/data.mdb', ['side1', 'side2'])
  } finally {
    await r.cleanup()
  }
})
