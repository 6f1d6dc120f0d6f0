// Disk full: the journal on a 4 MiB tmpfs, a workload that writes 16 MB. The recorder stops with one
// clear line and exit 1, the workload is killed (record's policy; attach detaches), every committed
// event is still there and verifies, and once there is room recording goes on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { eyrie } from '../support/cli.js'
import { diskFullRun } from './diskfull.js'

test('given the journal on a 4 MiB tmpfs and a workload writing 16 MB, then record stops with one clear message and exit 1, the workload is killed, nothing committed is lost, and recording resumes once there is room', async () => {
  const r = await diskFullRun({ sizeMiB: 4, writeMiB: 16 })
  try {
    assert.equal(r.status, 1, r.stderr)
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('eyrie:'))
    assert.equal(ours.length, 1, r.stderr)
    // the batch that found the disk full failed in LMDB's commit or, for a payload of 64 KiB or more
    // (a written file read back whole), in the blob segment before it
    assert.match(ours[0], /^eyrie: journal .*: append guest=full seq=\d+\.\.\d+: (commit failed|journal blobs: write to \S+ at \d+): .* \(the file system holding the journal is full: \d+ bytes free\)$/)
    assert.deepEqual(r.leftovers, [], 'no process of the workload is left, running or stopped')
    assert.equal(r.finished, false, 'the workload did not run on unrecorded')
    assert.equal(r.lockLeft, false, 'the writer lock is released')
    assert.ok(r.committed > 0 && r.files >= 2, `events were committed before the disk filled: ${r.committed} events, ${r.files} files`)
    // every file the journal knows is on disk as it says; the one being written when the disk filled
    // may have more bytes on disk than were committed, never other ones
    assert.deepEqual(r.wrong, [])
    assert.ok(r.short.length <= 1, r.short.join('; '))

    const v = eyrie(['verify'], { journal: r.journal })
    assert.equal(v.status, 0, v.stdout + v.stderr)
    execFileSync('mount', ['-o', 'remount,size=32m', r.mount])
    const again = eyrie(['record', '--guest', 'after', '--', 'sh', '-c', 'echo room > /dev/null'], { journal: r.journal })
    assert.equal(again.status, 0, again.stderr)
    const v2 = eyrie(['verify'], { journal: r.journal })
    assert.equal(v2.status, 0, v2.stdout + v2.stderr)
  } finally {
    await r.cleanup()
  }
})
