// Damage to large payloads kept in blob segments: a byte of the file, its reference in LMDB, a file
// cut short or gone. Each is reported with the guest and seq it hit, never read as data.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSync, closeSync, readSync, writeSync, truncateSync, unlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { JournalError } from '../../src/journal/errors.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { BLOB_DIR, segmentName } from '../../src/journal/blobs.js'
import { verify } from '../../src/forensic/verify.js'
import { lmdbJournal, withRawLmdb } from './lmdbSupport.js'

const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251))
const drafts: Draft[] = [
  { ts: 10n, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: 0, len: 3000, known: 3000 }, data },
  { ts: 20n, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: 3000, len: 3000, known: 3000 }, data: Buffer.from(data).reverse() },
]
const segment = (dir: string): string => join(dir, BLOB_DIR, segmentName(1))

const corrupt = (message: RegExp, seq: number) => (e: unknown): boolean => {
  assert.ok(e instanceof JournalError, String(e))
  assert.equal(e.code, 'CORRUPT')
  assert.match(e.message, message)
  assert.deepEqual(e.where, { guest: 'g', seq })
  return true
}

const damaged = async (tamper: (dir: string) => void | Promise<void>, body: (j: Journal) => Promise<void>): Promise<void> => {
  const sut = await lmdbJournal({ blobFrom: 1024 })
  try {
    await sut.journal.append('g', drafts).committed
    await sut.journal.close()
    await tamper(sut.dir)
    const ro = await openLmdbJournal(sut.dir, { readOnly: true })
    try {
      await body(ro)
    } finally {
      await ro.close()
    }
  } finally {
    await sut.cleanup()
  }
}

const flipAt = (file: string, at: number): void => {
  const fd = openSync(file, 'r+')
  try {
    const b = Buffer.alloc(1)
    readSync(fd, b, 0, 1, at)
    b[0] ^= 0x20
    writeSync(fd, b, 0, 1, at)
  } finally {
    closeSync(fd)
  }
}

test('given one byte of a segment file flipped, when the payload holding it is read, then CORRUPT names its guest and seq and the other payload still reads', async () => {
  await damaged((dir) => flipAt(segment(dir), statSync(segment(dir)).size - 10), async (j) => {
    await assert.rejects(j.payload('g', 2), corrupt(/^journal payload guest=g seq=2: checksum mismatch$/, 2))
    assert.deepEqual(Buffer.from(await j.payload('g', 1)), data)
  })
})

test('given a blob reference with a byte flipped, when the payload is read, then CORRUPT says the reference is damaged', async () => {
  await damaged((dir) => withRawLmdb(dir, ({ db }) => {
    const v = Buffer.from(db('blobs').get(['g', 1]) ?? [])
    v[8] ^= 1
    db('blobs').putSync(['g', 1], v)
  }), async (j) => {
    await assert.rejects(j.payload('g', 1), corrupt(/^journal payload guest=g seq=1: checksum mismatch \(blob reference\)$/, 1))
  })
})

test('given an intact blob reference copied under another seq, when read, then the checksum catches the move', async () => {
  await damaged((dir) => withRawLmdb(dir, ({ db }) => db('blobs').putSync(['g', 2], db('blobs').get(['g', 1]) ?? Buffer.alloc(0))), async (j) => {
    await assert.rejects(j.payload('g', 2), corrupt(/guest=g seq=2: checksum mismatch/, 2))
  })
})

test('given a segment cut short, when the payload past the cut is read, then CORRUPT says it is missing', async () => {
  await damaged((dir) => truncateSync(segment(dir), statSync(segment(dir)).size - 100), async (j) => {
    await assert.rejects(j.payload('g', 2), corrupt(/^journal payload guest=g seq=2: missing \(segment 00000001\.seg ends 100 bytes short of it\)$/, 2))
  })
})

test('given a segment file removed, when a payload in it is read, then CORRUPT names guest, seq and the file', async () => {
  await damaged((dir) => unlinkSync(segment(dir)), async (j) => {
    await assert.rejects(j.payload('g', 1), corrupt(/^journal payload guest=g seq=1: segment 00000001\.seg cannot be opened \(ENOENT/, 1))
  })
})

test('given a damaged segment record, when the journal is opened for writing, then it refuses, since it cannot know where appends go', async () => {
  const sut = await lmdbJournal({ blobFrom: 1024 })
  try {
    await sut.journal.append('g', drafts).committed
    await sut.journal.close()
    await withRawLmdb(sut.dir, ({ root }) => {
      const segments = root.openDB<Buffer, number>('segments', { encoding: 'binary', keyEncoding: 'ordered-binary' })
      const v = Buffer.from(segments.get(1) ?? [])
      v[6] ^= 1
      segments.putSync(1, v)
    })
    await assert.rejects(openLmdbJournal(sut.dir), (e: unknown) => e instanceof JournalError && e.code === 'CORRUPT' && /segment record 00000001\.seg: checksum mismatch/.test(e.message))
  } finally {
    await sut.cleanup()
  }
})

test('given a segment whose header is damaged, when a payload in it is read, then CORRUPT names guest, seq and the header', async () => {
  await damaged((dir) => flipAt(segment(dir), 3), async (j) => {
    await assert.rejects(j.payload('g', 1), corrupt(/^journal payload guest=g seq=1: segment 00000001\.seg does not start with the segment header$/, 1))
  })
})

test('given a damaged segment record or a segment shorter than its record says, when the journal is verified, then each is a storage problem naming the segment', async () => {
  const sut = await lmdbJournal({ blobFrom: 1024 })
  try {
    await sut.journal.append('g', drafts).committed
    await sut.journal.close()
    truncateSync(segment(sut.dir), statSync(segment(sut.dir)).size - 1)
    const ro = await openLmdbJournal(sut.dir, { readOnly: true })
    try {
      const report = await verify(ro)
      assert.deepEqual(report.problems.filter((p) => p.what === 'storage').map((p) => p.message), [`journal segment 00000001.seg: ${statSync(segment(sut.dir)).size} bytes, its record says ${statSync(segment(sut.dir)).size + 1} are committed`])
      assert.ok(report.problems.some((p) => p.what === 'payload' && p.seq === 2), 'and the payload it cut')
    } finally {
      await ro.close()
    }
    await withRawLmdb(sut.dir, ({ root }) => {
      const segments = root.openDB<Buffer, number>('segments', { encoding: 'binary', keyEncoding: 'ordered-binary' })
      const v = Buffer.from(segments.get(1) ?? [])
      v[9] ^= 1
      segments.putSync(1, v)
    })
    const again = await openLmdbJournal(sut.dir, { readOnly: true })
    try {
      const report = await verify(again)
      assert.ok(report.problems.some((p) => p.what === 'storage' && p.guest === '' && /segment record 00000001\.seg: checksum mismatch/.test(p.message)), JSON.stringify(report.problems))
    } finally {
      await again.close()
    }
  } finally {
    await sut.cleanup()
  }
})
