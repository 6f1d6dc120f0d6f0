// A compacted value's crc is checked the first time a journal instance reads it (compactedChecks.ts):
// what a later read of the same value still catches, and what only a recheck, another instance or
// `compactedChecks: 'every read'` catches.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, type Key, type RootDatabase } from 'lmdb'
import { JournalError } from '../../src/journal/errors.js'
import type { Journal } from '../../src/journal/journal.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { lmdbJournal } from './lmdbSupport.js'

const BYTES = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 255))
const KEY: Key = ['g', 1, 0]

const read = (j: Journal, recheck = false): Promise<string | undefined> =>
  j.compacted?.('g', 1, 100, (v) => Buffer.from(v.bytes).toString('hex'), { recheck }) ?? Promise.resolve(undefined)

const corrupt = (e: unknown): boolean => e instanceof JournalError && e.code === 'CORRUPT' && e.where.guest === 'g' && e.where.seq === 1 && /compacted content guest=g seq=1 base=0: checksum mismatch/.test(e.message)

/** Flips one byte of the stored value: `at` counts from its start (0-3: the crc it carries). The raw
 *  handle shares lmdb-js's environment with the journals of this process, so it is closed after them. */
const flip = (raw: RootDatabase, at: number): void => {
  const db = raw.openDB<Buffer, Key>('compacted', { encoding: 'binary', keyEncoding: 'ordered-binary' })
  const v = Buffer.from(db.get(KEY) ?? [])
  v[at] ^= 0x20
  db.putSync(KEY, v)
}

/** A journal holding one compacted value, closed; `run` gets its directory and a raw handle on it. */
const withWritten = async (run: (dir: string, raw: RootDatabase) => Promise<void>): Promise<void> => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    await sut.journal.append('g', [{ ts: 1n, pid: 1, tid: 1, body: { kind: 'file.mkdir', path: '/w' } }]).committed
    await sut.journal.putCheckpoint('g', 1, new Uint8Array([1, 2, 3]), [{ base: 0, bytes: BYTES, sources: new Uint8Array(32) }])
    await sut.journal.close()
    const raw = open(sut.dir, { noSubdir: false, maxDbs: 16 })
    try {
      await run(sut.dir, raw)
    } finally {
      await raw.close()
    }
  } finally {
    await sut.cleanup()
  }
}

test('given a compacted value read once by a journal, when a byte of its data is flipped, then later reads of that journal skip the crc, while a recheck, a new journal and one checking every read report CORRUPT naming guest and seq', async () => {
  await withWritten(async (dir, raw) => {
    const j = await openLmdbJournal(dir, { readOnly: true })
    try {
      assert.equal(await read(j), BYTES.toString('hex'))
      flip(raw, 16 + 1000)
      const again = await read(j)
      assert.notEqual(again, BYTES.toString('hex'), 'the damaged bytes, unchecked: what checking once gives up')
      await assert.rejects(read(j, true), corrupt)
    } finally {
      await j.close()
    }
    for (const opts of [{ readOnly: true }, { readOnly: true, compactedChecks: 'every read' as const }]) {
      const k = await openLmdbJournal(dir, opts)
      try {
        await assert.rejects(read(k), corrupt)
        await assert.rejects(read(k), corrupt, 'a value that failed is checked again')
      } finally {
        await k.close()
      }
    }
  })
})

test('given a compacted value read once by a journal, when the crc it carries or its header is damaged, then the next read of that journal reports CORRUPT', async () => {
  for (const at of [0, 3, 8]) {
    await withWritten(async (dir, raw) => {
      const j = await openLmdbJournal(dir, { readOnly: true })
      try {
        assert.equal(await read(j), BYTES.toString('hex'))
        flip(raw, at)
        await assert.rejects(read(j), corrupt, `byte ${at}`)
      } finally {
        await j.close()
      }
    })
  }
})

test('given a journal checking every read, when a byte of a compacted value it read is flipped, then the next read reports CORRUPT', async () => {
  await withWritten(async (dir, raw) => {
    const j = await openLmdbJournal(dir, { readOnly: true, compactedChecks: 'every read' })
    try {
      assert.equal(await read(j), BYTES.toString('hex'))
      flip(raw, 16 + 7)
      await assert.rejects(read(j), corrupt)
    } finally {
      await j.close()
    }
  })
})
