// Disk full: the journal on a 4 MiB tmpfs, a workload that writes far more than that. The recorder
// stops with one clear line and exit 1, the workload is killed (record's policy; attach detaches),
// every committed event is still there and verifies, and once there is room recording goes on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan, ls } from '../../src/projections/index.js'
import { eyrie } from '../support/cli.js'
import { leftoversAfter, startRecorder, tempDir } from './support.js'

const WORKLOAD = 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); head -c 400000 /dev/urandom > "big$i"; done; echo finished > done.txt'

test('given the journal on a 4 MiB tmpfs and a workload writing 16 MB, then record stops with one clear message and exit 1, the workload is killed, nothing committed is lost, and recording resumes once there is room', async () => {
  const { dir, cleanup } = await tempDir('diskfull')
  const mnt = join(dir, 'small')
  const work = join(dir, 'work')
  mkdirSync(mnt)
  mkdirSync(work)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', mnt])
  const journal = join(mnt, 'journal')
  try {
    const rec = startRecorder({ journal, guest: 'full', cwd: work, argv: ['sh', '-c', WORKLOAD] })
    const exit = await rec.exited
    assert.equal(exit.status, 1, exit.stderr)
    const ours = exit.stderr.split('\n').filter((l) => l.startsWith('eyrie:'))
    assert.equal(ours.length, 1, exit.stderr)
    assert.match(ours[0], /^eyrie: journal .*: append guest=full seq=\d+\.\.\d+: commit failed: .* \(the file system holding the journal is full: \d+ bytes free\)$/)
    assert.deepEqual(await leftoversAfter(rec.tag), [], 'no process of the workload is left, running or stopped')
    assert.equal(existsSync(join(work, 'done.txt')), false, 'the workload did not run on unrecorded')
    assert.equal(existsSync(join(journal, 'writer.lock')), false, 'the writer lock is released')

    const v = eyrie(['verify'], { journal })
    assert.equal(v.status, 0, v.stdout + v.stderr)
    const j = await openLmdbJournal(journal, { readOnly: true })
    try {
      const last = await j.lastSeq('full')
      assert.ok(last > 0, 'events were committed before the disk filled')
      // every file the journal knows whole is on disk as it says; the one being written when the
      // disk filled may have more bytes on disk than were committed, never other ones
      const w = await worldAt(j, 'full', last)
      const files = ls(w, work).filter((e) => e.type === 'file')
      assert.ok(files.length >= 2, `files recorded: ${files.length}`)
      const short: string[] = []
      for (const f of files) {
        const plan = contentPlan(w, f.path)
        assert.ok(plan.ok)
        const { bytes, unknown } = await materialize(j, 'full', plan.pieces)
        assert.deepEqual(unknown, [], f.path)
        const disk = readFileSync(f.path)
        assert.ok(disk.subarray(0, bytes.length).equals(bytes), `${f.path}: the recorded bytes are the disk's`)
        if (disk.length !== bytes.length) short.push(`${f.path}: ${bytes.length} of ${disk.length} bytes`)
      }
      assert.ok(short.length <= 1, `only the file being written when the disk filled lags: ${short.join('; ')}`)
    } finally {
      await j.close()
    }

    execFileSync('mount', ['-o', 'remount,size=32m', mnt])
    const again = eyrie(['record', '--guest', 'after', '--', 'sh', '-c', 'echo room > room.txt'], { journal, cwd: work })
    assert.equal(again.status, 0, again.stderr)
    const v2 = eyrie(['verify'], { journal })
    assert.equal(v2.status, 0, v2.stdout + v2.stderr)
  } finally {
    execFileSync('umount', ['-l', mnt])
    await cleanup()
  }
})
