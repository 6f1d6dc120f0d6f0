// The forensic commands as a user runs them (bin/eyrie.js), on one small journal: diff, timeline,
// at T tree, info, gc in both modes, verify. Each CLI start costs seconds on a loaded machine, so one
// journal serves every test.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { Ingest } from '../../src/engine/replay.js'
import { StreamBuilder } from '../../src/testing/index.js'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

let dir: string
let journal: string
let renamedAt: number

/** A build-like history: /w/a.txt written, flushed, overwritten in part, flushed, overwritten whole,
 *  flushed; renamed to b.txt; c.txt made (never flushed) and deleted by a child that exits; the parent
 *  keeps b.txt and d.txt open at the end. */
const history = (): Draft[] => {
  const b = new StreamBuilder('g')
  b.mkdir(1, '/w').exec(1, '/usr/bin/make', ['make', 'all'])
  b.open(1, 3, '/w/a.txt', 0o1101, true).write(1, 3, 'first version\n').flush(1, 3)
  b.write(1, 3, 'SECOND', 0).flush(1, 3)
  b.write(1, 3, 'third version!', 0).flush(1, 3)
  b.spawn(1, 2).exec(2, '/usr/bin/cc', ['cc', '-c']).open(2, 4, '/w/c.txt', 0o1101, true).write(2, 4, 'temp').close(2, 4).exit(2, 0)
  b.rename(1, '/w/a.txt', '/w/b.txt')
  renamedAt = b.events.length
  b.unlink(1, '/w/c.txt')
  b.open(1, 5, '/w/d.txt', 0o1101, true).write(1, 5, 'kept open')
  return b.drafts()
}

before(async () => {
  dir = await tempDir('fcli')
  journal = join(dir, 'journal')
  const j = await openLmdbJournal(journal, { noSync: true })
  const ingest = await Ingest.open(j, 'g', 4)
  for (const d of history()) await ingest.push([d]) // one at a time: a checkpoint every 4 events
  await ingest.finish()
  await j.close()
})
after(() => rm(dir, { recursive: true, force: true }))

test('given a journal, diff --json names the rename, the short-lived file is gone from the net change, and cc started and exited', () => {
  const r = eyrie(['diff', '#3', 'end', '--json'], { journal })
  assert.equal(r.status, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  assert.deepEqual(d.files.map((f: { change: string; path: string }) => [f.change, f.path]), [['renamed', '/w/b.txt'], ['created', '/w/d.txt']])
  const renamed = d.files[0]
  assert.equal(renamed.from, '/w/a.txt')
  assert.ok(renamed.contentChanged && renamed.after.size === 14 && renamed.before.size === 0)
  assert.deepEqual(d.procs.map((p: { pid: number; started: boolean; exited: boolean }) => [p.pid, p.started, p.exited]), [[2, true, true]])
  assert.deepEqual(d.fds.map((f: { fd: number; change: string }) => [f.fd, f.change]), [[5, 'opened']])
  assert.equal(d.activity.byKind['file.unlink'], 1)
})

test('given a journal, timeline --json lists every version of /w/a.txt with its writer, up to the rename that took the name away', () => {
  const a = eyrie(['timeline', '/w/a.txt', '--json'], { journal })
  assert.equal(a.status, 0, a.stderr)
  const av = JSON.parse(a.stdout).versions
  assert.deepEqual(av.map((v: { kind: string; size: number | null; exe: string }) => [v.kind, v.size, v.exe]), [
    ['fd.open', 0, '/usr/bin/make'], ['file.write', 14, '/usr/bin/make'], ['file.write', 14, '/usr/bin/make'], ['file.write', 14, '/usr/bin/make'], ['file.rename', null, '/usr/bin/make'],
  ])
  assert.equal(av[4].type, 'absent')
  assert.equal(av[4].seq, renamedAt)
})

test('given a journal, at end tree shows make with its open files; at #13 it shows cc under make', () => {
  const end = eyrie(['at', 'end', 'tree'], { journal })
  assert.equal(end.status, 0, end.stderr)
  assert.match(end.stdout, /^1 \/usr\/bin\/make {2}make all\n {2,}fd 3 w \/w\/b\.txt\n {2,}fd 5 w \/w\/d\.txt\n$/)
  const mid = JSON.parse(eyrie(['at', '#13', 'tree', '--json'], { journal }).stdout)
  assert.equal(mid.tree[0].children[0].exe, '/usr/bin/cc')
  assert.deepEqual(mid.tree[0].children[0].files.map((f: { fd: number; path: string }) => [f.fd, f.path]), [[3, '/w/a.txt'], [4, '/w/c.txt']])
})

test('given a journal, gc in forensic mode frees nothing and says so; gc --live frees the flushed, overwritten bytes; the end is unchanged, an older cat becomes unknown, verify passes', () => {
  assert.equal(eyrie(['at', '#5', 'cat', '/w/a.txt'], { journal }).stdout, 'first version\n')
  const forensic = eyrie(['gc'], { journal })
  assert.equal(forensic.status, 0, forensic.stderr)
  assert.match(forensic.stdout, /forensic \(dry run\)/)
  assert.match(forensic.stdout, /forensic mode keeps every byte/)
  const live = eyrie(['gc', '--live', '--json'], { journal })
  assert.equal(live.status, 0, live.stderr)
  const g = JSON.parse(live.stdout).guests[0]
  // 'first version\n' and 'SECOND' are overwritten and flushed; c.txt's 'temp' was never flushed: kept
  assert.deepEqual([g.freedEvents, g.freedBytes, g.mode, g.unconfirmed], [2, 20, 'live', 2])
  assert.equal(eyrie(['at', 'end', 'cat', '/w/b.txt'], { journal }).stdout, 'third version!')
  const older = eyrie(['at', '#5', 'cat', '/w/a.txt'], { journal })
  assert.equal(older.status, 1)
  assert.match(older.stderr, /14 byte\(s\) eyrie never saw/)
  const verify = eyrie(['verify'], { journal })
  assert.equal(verify.status, 0, verify.stderr)
  const info = JSON.parse(eyrie(['info', '--json'], { journal }).stdout)
  assert.equal(info.guests[0].retention, 'live')
  assert.equal(info.guests[0].payloadBytes, 14 + 4 + 9)
  assert.ok(info.guests[0].checkpoints >= 4 && info.disk.bytes > 0)
})
