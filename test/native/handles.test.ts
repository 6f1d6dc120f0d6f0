// A file opened by its handle (open_by_handle_at: no name in the call, CAP_DAC_READ_SEARCH). The
// recorder did not trace the call: a truncating open and the writes through its fd were lost, and
// `at now cat` said there was no such file. The kernel is the oracle: the bytes on disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { O_TRUNC, O_WRONLY } from '../../src/events/index.js'
import { contentAt, recordNatively, recordWithStrace, seqOfOpen } from '../support/e2e.js'

const DRIVER = fileURLToPath(new URL('../fixtures/handle-driver.py', import.meta.url))
const setup = (dir: string) => writeFile(join(dir, 'f.txt'), 'old content, longer than the new\n')

test('native: given a file opened by its handle with O_TRUNC and written, its open, truncation and bytes are journaled as the kernel did them', async () => {
  const r = await recordNatively(['python3', DRIVER, 'f.txt', 'w', 'new'], { setup })
  try {
    const path = join(r.dir, 'f.txt')
    const open = r.events.find((e) => e.kind === 'fd.open' && e.path === path)
    assert.ok(open !== undefined && open.kind === 'fd.open', 'the open is journaled')
    assert.deepEqual([open.flags & O_TRUNC, open.flags & 3, open.created], [O_TRUNC, O_WRONLY, false])
    assert.equal((await contentAt(r, seqOfOpen(r, path), path)).toString(), '', 'empty once opened')
    assert.deepEqual(await contentAt(r, r.events.length, path), await readFile(path))
    assert.equal((await readFile(path)).toString(), 'new')
  } finally {
    await r.cleanup()
  }
})

test('strace import: given a file opened by its handle, strace names no file for the fd, and the import says so instead of dropping its writes', async () => {
  await assert.rejects(recordWithStrace(['python3', DRIVER, 'f.txt', 'w', 'new'], { setup }), /open_by_handle_at opened fd \d+ by a file handle, and strace names no file for it/)
})
