// Damage done to the files behind the journal's back (a flipped bit, a value under the wrong key, a
// record from a newer eyrie) is reported with the guest and seq it hit, never read as data.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Draft } from '../../src/events/index.js'
import { JournalError } from '../../src/journal/errors.js'
import { seal, unseal } from '../../src/journal/checksum.js'
import { openLmdbJournal, type LmdbJournalOptions } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { lmdbJournal, withRawLmdb } from './lmdbSupport.js'

const drafts: Draft[] = [
  { ts: 10n, pid: 7, tid: 7, body: { kind: 'fd.seek', fd: 3, pos: 1 } },
  { ts: 20n, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: 0, len: 6, known: 6 }, data: Buffer.from('secret') },
  { ts: 30n, pid: 7, tid: 7, body: { kind: 'fd.close', fd: 3 } },
]

const readAll = async (j: Journal): Promise<number> => {
  let n = 0
  for await (const batch of j.read('g', 1, 100)) n += batch.length
  return n
}

const corrupt = (code: JournalError['code'], message: RegExp, seq?: number) => (e: unknown): boolean => {
  assert.ok(e instanceof JournalError, String(e))
  assert.equal(e.code, code)
  assert.match(e.message, message)
  if (seq !== undefined) assert.deepEqual(e.where, { guest: 'g', seq })
  return true
}

/** Writes the three drafts (and checkpoints at 1 and 2), closes, lets `tamper` edit the files, reopens. */
const tampered = async (tamper: Parameters<typeof withRawLmdb>[1], opts: LmdbJournalOptions = {}, body: (j: Journal) => Promise<void>): Promise<void> => {
  const sut = await lmdbJournal(opts)
  try {
    await sut.journal.append('g', drafts).committed
    await sut.journal.putCheckpoint('g', 1, Buffer.from('one'))
    await sut.journal.putCheckpoint('g', 2, Buffer.from('two'))
    await sut.journal.close()
    await withRawLmdb(sut.dir, tamper)
    await body(await sut.reopen())
  } finally {
    await sut.cleanup()
  }
}

const flip = (value: Buffer | undefined, at: number): Buffer => {
  assert.ok(value !== undefined, 'the value to tamper with exists')
  const copy = Buffer.from(value)
  copy[at % copy.length] ^= 0x40
  return copy
}

test('given a stored event with one byte flipped, when it is read or searched, then CORRUPT names guest and seq', async () => {
  for (const at of [0, 5, 21]) {
    await tampered(({ db }) => db('events').putSync(['g', 2], flip(db('events').get(['g', 2]), at)), {}, async (j) => {
      await assert.rejects(readAll(j), corrupt('CORRUPT', /^journal record guest=g seq=2: checksum mismatch$/, 2))
      await assert.rejects(j.seqAt('g', 25n), corrupt('CORRUPT', /guest=g seq=2/, 2))
    })
  }
})

test('given an intact event value copied under another seq, when read, then the checksum catches the move', async () => {
  await tampered(({ db }) => db('events').putSync(['g', 2], db('events').get(['g', 1])!), {}, async (j) => {
    await assert.rejects(readAll(j), corrupt('CORRUPT', /guest=g seq=2: checksum mismatch/, 2))
  })
})

test('given a stored payload with one byte flipped, when its bytes are asked, then CORRUPT names guest and seq', async () => {
  await tampered(({ db }) => db('payloads').putSync(['g', 2], flip(db('payloads').get(['g', 2]), 9)), {}, async (j) => {
    await assert.rejects(j.payload('g', 2), corrupt('CORRUPT', /^journal payload guest=g seq=2: checksum mismatch$/, 2))
    assert.equal(await readAll(j), 3, 'the events themselves are intact')
  })
})

test('given a corrupt newest checkpoint, when a checkpoint is asked, then the previous one is used and the damage is reported', async () => {
  const reported: JournalError[] = []
  await tampered(({ db }) => db('checkpoints').putSync(['g', 2], flip(db('checkpoints').get(['g', 2]), 5)), { onCorruption: (e) => reported.push(e) }, async (j) => {
    const cp = await j.checkpointAtOrBefore('g', 3)
    assert.deepEqual(cp && { seq: cp.seq, state: Buffer.from(cp.state).toString() }, { seq: 1, state: 'one' })
    assert.deepEqual(reported.map((e) => [e.code, e.where]), [['CORRUPT', { guest: 'g', seq: 2 }]])
  })
})

test('given every checkpoint corrupt, when a checkpoint is asked, then there is none', async () => {
  const reported: JournalError[] = []
  await tampered(({ db }) => {
    for (const seq of [1, 2]) db('checkpoints').putSync(['g', seq], flip(db('checkpoints').get(['g', seq]), 4))
  }, { onCorruption: (e) => reported.push(e) }, async (j) => {
    assert.equal(await j.checkpointAtOrBefore('g', 3), undefined)
    assert.equal(reported.length, 2)
  })
})

/** Rewrites the record of seq 2 with `edit` and a valid checksum: the damage is in the content. */
const rewriteRecord = (edit: (record: Buffer) => void): Parameters<typeof withRawLmdb>[1] => ({ db }) => {
  const value = db('events').get(['g', 2])
  assert.ok(value !== undefined)
  const record = Buffer.from(unseal('g', 2, value) ?? [])
  edit(record)
  db('events').putSync(['g', 2], seal('g', 2, record))
}

test('given a checksummed record with a kind code this eyrie does not know, when read, then DECODE names guest, seq and the code', async () => {
  await tampered(rewriteRecord((r) => (r[1] = 200)), {}, async (j) => {
    await assert.rejects(readAll(j), corrupt('DECODE', /^journal record guest=g seq=2: unknown kind code 200$/, 2))
  })
})

test('given a checksummed record of another format version, when read, then DECODE names guest, seq and the version', async () => {
  await tampered(rewriteRecord((r) => (r[0] = 9)), {}, async (j) => {
    await assert.rejects(readAll(j), corrupt('DECODE', /^journal record guest=g seq=2: unsupported format version 9/, 2))
  })
})

test('given a record removed from below the last seq, when the range is read, then CORRUPT says which seq is missing', async () => {
  await tampered(({ db }) => db('events').removeSync(['g', 2]), {}, async (j) => {
    await assert.rejects(readAll(j), corrupt('CORRUPT', /guest=g seq=2: missing/, 2))
  })
})

test('given a corrupt guest record, when the journal is opened for writing, then it refuses, since it cannot know the next seq', async () => {
  const sut = await lmdbJournal()
  try {
    await sut.journal.append('g', drafts).committed
    await sut.journal.close()
    await withRawLmdb(sut.dir, ({ root }) => {
      const guests = root.openDB<Buffer, string>('guests', { encoding: 'binary', keyEncoding: 'ordered-binary' })
      guests.putSync('g', flip(guests.get('g'), 10))
    })
    await assert.rejects(openLmdbJournal(sut.dir), corrupt('CORRUPT', /^journal guest record guest=g: checksum mismatch$/))
    const ro = await openLmdbJournal(sut.dir, { readOnly: true })
    try {
      await assert.rejects(ro.guests(), corrupt('CORRUPT', /guest record guest=g/))
    } finally {
      await ro.close()
    }
  } finally {
    await sut.cleanup()
  }
})
