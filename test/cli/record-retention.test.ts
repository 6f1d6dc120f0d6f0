// record --retention live: the paper's GC while recording. A long writer that rewrites and fsyncs
// one file keeps the journal's payload bounded (at the end, the last version); the answer at the end
// is the disk's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

const WRITER = `
import os
fd = os.open("data.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(300):
    os.pwrite(fd, bytes([i % 251]) * 65536, 0)
    os.fsync(fd)
os.close(fd)
`

const payloadBytes = (journal: string, guest: string): number =>
  JSON.parse(eyrie(['guests', '--json'], { journal }).stdout).find((g: { guest: string }) => g.guest === guest).payloadBytes

test('given a writer that rewrites and fsyncs one file 300 times, live retention keeps the journal bounded while forensic keeps every version, and both answer the end as the disk', async () => {
  const dir = await tempDir('retention')
  const journal = join(dir, 'journal')
  for (const mode of ['forensic', 'live']) {
    const r = eyrie(['record', '--guest', mode, '--retention', mode, '--checkpoint-every', '200', '--', '/usr/bin/python3', '-c', WRITER], { journal, cwd: dir })
    assert.equal(r.status, 0, r.stderr)
    const end = eyrie(['at', 'end', 'cat', join(dir, 'data.bin'), '--guest', mode], { journal })
    assert.equal(end.status, 0, end.stderr)
    assert.deepEqual(end.raw, await readFile(join(dir, 'data.bin')))
  }
  const forensic = payloadBytes(journal, 'forensic')
  const live = payloadBytes(journal, 'live')
  assert.ok(forensic >= 300 * 65536, `forensic keeps every version (${forensic})`)
  assert.ok(live < forensic / 5, `live frees confirmed versions (${live} vs ${forensic})`)
  // and at the end what was written since its last collection, under a checkpoint at the end
  assert.ok(live <= 2 * 65536, `live keeps the last version, not the last interval's (${live})`)
})
