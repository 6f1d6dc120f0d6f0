// Close after write: which closes in a batch end writes, and the gate judging them once the batch is
// in R(now), journaling its verdict so the same bytes are not judged twice.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import type { Clamd } from '../../src/scanner/clamd.js'
import { closedForWriting, scanClosedFiles } from '../../src/scanner/closes.js'
import { Gate } from '../../src/scanner/gate.js'
import { liveSource } from '../../src/scanner/live.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { CREATED, drafter, eicar, tmp, withPrivateClamd } from './support.js'
import { eventsOf } from '../support/e2e.js'

let clamd: Clamd
let journal: Journal
let root: string

before(async () => {
  clamd = await withPrivateClamd()
  root = await tmp('closes')
  journal = await openLmdbJournal(join(root, 'journal'))
})
after(async () => {
  await journal.close()
  await clamd.stop()
})

const d = drafter(1_700_000_000_000_000_000n)
const created = CREATED

test('given a batch, then writable descriptors closed by close (after dup), close_range and exit are found once each; read-only ones are not', async () => {
  const ingest = await Ingest.open(journal, 'find')
  await ingest.push([d(1, { kind: 'fd.open', fd: 5, path: '/w/early.log', flags: created, inode: null, created: true })])
  const batch = [
    d(1, { kind: 'fd.open', fd: 3, path: '/w/a.exe', flags: created, inode: null, created: true }),
    d(1, { kind: 'fd.dup', fd: 3, newFd: 4, cloexec: false }),
    d(1, { kind: 'fd.close', fd: 3 }),
    d(1, { kind: 'fd.close', fd: 4 }),
    d(1, { kind: 'fd.open', fd: 3, path: '/w/read.txt', flags: 0, inode: null, created: null }),
    d(1, { kind: 'fd.close', fd: 3 }),
    d(1, { kind: 'proc.spawn', child: 2, thread: false, shareFiles: false }),
    d(2, { kind: 'fd.open', fd: 7, path: '/w/b.sh', flags: 0o2, inode: null, created: null }),
    d(2, { kind: 'fd.closeRange', first: 7, last: 0xffffffff, cloexecOnly: false }),
    d(1, { kind: 'proc.exit', status: 0, thread: false }),
  ]
  assert.deepEqual(closedForWriting(ingest.now, batch).map((c) => [c.path, c.pid]), [['/w/a.exe', 1], ['/w/b.sh', 2], ['/w/early.log', 1]])
})

test('given a file written and closed, the gate judges it after the batch, journals the verdict, and a second close of the same bytes is not judged again', async () => {
  const ingest = await Ingest.open(journal, 'judge')
  const gate = new Gate({ scanner: await Scanner.open(clamd), source: liveSource({ journal, guest: 'judge', world: () => ingest.now }), quarantineTo: join(root, 'journal') })
  const clean = join(root, 'report.pdf')
  const bad = join(root, 'payload.exe')
  const cleanBytes = Buffer.from('%PDF-1.4 nothing here')
  await writeFile(clean, cleanBytes)
  await writeFile(bad, eicar())
  const batch = [
    d(9, { kind: 'fd.open', fd: 3, path: clean, flags: created, inode: null, created: true }),
    d(9, { kind: 'file.write', fd: 3, offset: null, len: cleanBytes.length, known: cleanBytes.length }, cleanBytes),
    d(9, { kind: 'fd.close', fd: 3 }),
    d(9, { kind: 'fd.open', fd: 3, path: bad, flags: created, inode: null, created: true }),
    d(9, { kind: 'file.write', fd: 3, offset: null, len: 68, known: 68 }, eicar()),
    d(9, { kind: 'fd.close', fd: 3 }),
  ]
  const closed = closedForWriting(ingest.now, batch)
  await ingest.push(batch)
  const append = (drafts: Draft[]) => ingest.push(drafts)
  await scanClosedFiles(gate, () => ingest.now, closed, { append })
  const tail = (await eventsOf(journal, 'judge')).slice(batch.length)
  assert.deepEqual(tail.map((e) => (e.kind === 'scan.verdict' ? `${e.verdict}:${e.trigger}` : e.kind)), ['clean:close', 'infected:close', 'file.quarantine'])
  assert.equal(existsSync(bad), false)
  const before = await journal.lastSeq('judge')
  await scanClosedFiles(gate, () => ingest.now, closed, { append })
  assert.equal(await journal.lastSeq('judge'), before, 'nothing new: the verdict is newer than the write')
})
