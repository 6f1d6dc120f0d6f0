// content(path, now) for live scanning, where its bytes come from the host: read from the file that
// was looked at, or refused with a reason, and never by blocking the thread that answers the tracees.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { appendFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { liveSource } from '../../src/scanner/live.js'
import { tmp } from './support.js'

let journal: Journal
let source: ReturnType<typeof liveSource>
let root: string

before(async () => {
  root = await tmp('live')
  journal = await openLmdbJournal(join(root, 'journal'))
  const ingest = await Ingest.open(journal, 'live')
  source = liveSource({ journal, guest: 'live', world: () => ingest.now })
})
after(async () => journal.close())

const refOf = async (path: string) => {
  const ref = await source(path)
  assert.ok(ref !== null, `${path} is a host file`)
  return ref
}

test('given a host file looked at, when it is read unchanged, then its bytes come back, whole and by head', async () => {
  const path = join(root, 'same.bin')
  await writeFile(path, 'unchanged content')
  const ref = await refOf(path)
  assert.equal(Buffer.from(await ref.read()).toString(), 'unchanged content')
  assert.equal(Buffer.from(await ref.head!(9)).toString(), 'unchanged')
})

test('given a host file looked at, when a FIFO with a writer is renamed over it before the read, then the read is refused, not served from the FIFO (nor blocked on one without a writer)', async () => {
  const path = join(root, 'prog')
  await writeFile(path, 'clean program bytes')
  const ref = await refOf(path)
  const fifo = join(root, 'fifo')
  execFileSync('mkfifo', [fifo])
  // a writer keeps the FIFO's open from blocking, so the old way (a blocking open by name) read it
  const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK)
  try {
    writeSync(writer, 'bytes of another file')
    await rename(fifo, path)
    await assert.rejects(async () => ref.read(), /no longer a regular file/)
    await assert.rejects(async () => ref.head!(4), /no longer a regular file/)
  } finally {
    closeSync(writer)
  }
})

test('given a host file looked at, when another file of the same size replaces it before the read, then the read is refused and says so', async () => {
  for (const size of [64, 3 << 20]) { // read at once, and through the thread pool
    const path = join(root, `replaced-${size}`)
    await writeFile(path, Buffer.alloc(size, 'a'))
    const ref = await refOf(path)
    const other = join(root, `other-${size}`)
    await writeFile(other, Buffer.alloc(size, 'b'))
    await rename(other, path)
    await assert.rejects(async () => ref.read(), (err: Error) => {
      assert.match(err.message, new RegExp(`${path} was replaced between its look and its read`))
      return true
    })
  }
})

test('given a host file looked at, when it is appended in place before the read (a writer outside the recording), then it is read as it is now', async () => {
  const path = join(root, 'growing.log')
  await writeFile(path, 'first line\n')
  const ref = await refOf(path)
  await appendFile(path, 'second line\n')
  assert.equal(Buffer.from(await ref.read()).toString(), 'first line\n', 'as many bytes as it held when looked at')
  assert.equal(Buffer.from(await ref.head!(64)).toString(), 'first line\nsecond line\n')
})
