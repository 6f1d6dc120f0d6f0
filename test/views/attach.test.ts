// Shared views under `attach`: a view made before eyrie came is in R(0) (the snapshot's maps) and is
// read out on demand like any other; stores made before and after the attach both reach content.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { attachPid } from '../../src/native/index.js'
import { tempDir } from '../support/e2e.js'
import { liveContent } from '../support/views.js'
import { run, until } from '../native/support.js'

const SCRIPT = `
import mmap, os, time
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 3 * 4096)
view = mmap.mmap(fd, 3 * 4096)
view[0:6] = b'before'
view[8192:8195] = b'end'  # every page present: its bytes are read out whole the first time
open('ready', 'w').close()
while not os.path.exists('go'): time.sleep(0.01)
view[4096:4101] = b'after'
open('stored', 'w').close()
while True: time.sleep(0.05)
`

test('given a process with a shared view made before the attach, syncViews() brings stores from before and after the attach into content', async () => {
  const dir = await tempDir('views-attach')
  const journal = await openLmdbJournal(join(dir, 'journal'))
  await writeFile(join(dir, 'script.py'), SCRIPT)
  // orphaned, so it is not a child of this process (attach refuses those: see src/native/README.md)
  const { stdout } = await run('sh', ['-c', 'python3 script.py >/dev/null 2>&1 </dev/null & echo $!'], { cwd: dir })
  const pid = Number(stdout)
  let session: ReturnType<typeof attachPid> | undefined
  try {
    await until('the view', () => existsSync(join(dir, 'ready')))
    const ingest = await Ingest.open(journal, 'attach')
    let snapshotShared = false
    session = attachPid(pid, {
      onBatch: async (drafts) => {
        for (const d of drafts) if (d.body.kind === 'snapshot') snapshotShared = d.body.procs.some((p) => p.maps.some((m) => m.shared && m.path === join(dir, 'f')))
        await ingest.push(drafts)
      },
    })
    await until('the snapshot', () => ingest.now.seq > 0)
    assert.ok(snapshotShared, 'R(0) holds the shared view')
    await writeFile(join(dir, 'go'), '')
    await until('the store after the attach', () => existsSync(join(dir, 'stored')))
    await session.syncViews()
    const got = await liveContent(ingest, journal, join(dir, 'f'))
    assert.ok(got.equals(await readFile(join(dir, 'f'))), 'content(f, now) is the file')
    assert.equal(got.subarray(0, 6).toString(), 'before')
    assert.equal(got.subarray(4096, 4101).toString(), 'after')
    session.detach()
    assert.equal((await session.done).status, null, 'detached, still running')
    await ingest.finish()
  } finally {
    session?.detach() // a failed assertion must not leave batches arriving into a closed journal
    await session?.done.catch(() => undefined)
    process.kill(pid, 'SIGKILL')
    await journal.close()
    await run('rm', ['-rf', dir])
  }
})
