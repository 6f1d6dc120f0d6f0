// The LMDB journal: the shared conformance suite, then what is particular to LMDB on disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultJournalDir, openLmdbJournal } from '../../src/journal/lmdb.js'
import { JournalError } from '../../src/journal/errors.js'
import { testJournal } from './conformance.js'
import { lmdbJournal, tempDir } from './lmdbSupport.js'

testJournal('lmdb', () => lmdbJournal())
testJournal('lmdb (noSync, writeMap, read batches of 7)', () => lmdbJournal({ noSync: true, writeMap: true, readBatch: 7 }))
testJournal('lmdb (every payload in blob segments of 4 KiB)', () => lmdbJournal({ blobFrom: 1, segmentBytes: 4096 }))

const isJournalError = (code: JournalError['code'], message?: RegExp) => (e: unknown): boolean =>
  e instanceof JournalError && e.code === code && (message === undefined || message.test(e.message))

test('given a directory that does not exist, when a journal is created in it, then the directory is 0700 and its files 0600', async () => {
  const parent = tempDir()
  const dir = join(parent, 'deeper', 'journal.d') // a dot in the name must not make LMDB treat it as a file
  const j = await openLmdbJournal(dir)
  try {
    await j.append('g', [{ ts: 1n, pid: 1, tid: 1, body: { kind: 'fd.close', fd: 3 } }]).committed
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    for (const f of ['data.mdb', 'lock.mdb', 'writer.lock']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f)
  } finally {
    await j.close()
    rmSync(parent, { recursive: true })
  }
  assert.equal(existsSync(join(dir, 'writer.lock')), false, 'close releases the writer lock')
})

test('given no journal at a path, when it is opened read-only, then NOT_FOUND says where', async () => {
  const dir = tempDir()
  try {
    await assert.rejects(openLmdbJournal(join(dir, 'nothing'), { readOnly: true }), isJournalError('NOT_FOUND', /nothing/))
  } finally {
    rmSync(dir, { recursive: true })
  }
})

test('given a journal whose data file LMDB has created but not yet written (a writer in its first milliseconds), when it is opened read-only, then NOT_FOUND says it is being created (lmdb-js died of SIGSEGV on it)', async () => {
  const dir = tempDir()
  try {
    mkdirSync(join(dir, 'starting'))
    writeFileSync(join(dir, 'starting', 'data.mdb'), '')
    await assert.rejects(openLmdbJournal(join(dir, 'starting'), { readOnly: true }), isJournalError('NOT_FOUND', /starting is being created/))
  } finally {
    rmSync(dir, { recursive: true })
  }
})

test('given a read-only journal, when something is appended, then USAGE refuses it', async () => {
  const sut = await lmdbJournal()
  try {
    await sut.journal.append('g', [{ ts: 1n, pid: 1, tid: 1, body: { kind: 'fd.close', fd: 3 } }]).committed
    const ro = await openLmdbJournal(sut.dir, { readOnly: true })
    try {
      assert.equal(await ro.lastSeq('g'), 1)
      assert.throws(() => ro.append('g', []), isJournalError('USAGE', /read-only/))
      await assert.rejects(ro.putCheckpoint('g', 1, Buffer.from('x')), isJournalError('USAGE', /read-only/))
      await assert.rejects(ro.setMeta('g', { a: 'b' }), isJournalError('USAGE', /read-only/))
    } finally {
      await ro.close()
    }
  } finally {
    await sut.cleanup()
  }
})

test('given a journal open for writing, when a second writer opens it in the same process, then USAGE refuses it', async () => {
  const sut = await lmdbJournal()
  try {
    await assert.rejects(openLmdbJournal(sut.dir), isJournalError('USAGE', /already open for writing/))
  } finally {
    await sut.cleanup()
  }
})

test('given a writer lock left by a process that is gone, when the journal is opened, then the stale lock is taken over', async () => {
  const dir = tempDir()
  try {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'writer.lock'), '2147483646\n') // above pid_max: no such process
    const j = await openLmdbJournal(dir)
    await j.close()
  } finally {
    rmSync(dir, { recursive: true })
  }
})

test('given invalid guest ids, when used, then USAGE names them', async () => {
  const sut = await lmdbJournal()
  try {
    for (const guest of ['', 'a\0b', 'tab\there', 'x'.repeat(600)]) {
      assert.throws(() => sut.journal.append(guest, []), isJournalError('USAGE', /invalid guest id/))
      await assert.rejects(sut.journal.lastSeq(guest), isJournalError('USAGE', /invalid guest id/))
    }
  } finally {
    await sut.cleanup()
  }
})

test('given a closed journal, when it is used, then USAGE says it is closed, and closing again is harmless', async () => {
  const sut = await lmdbJournal()
  await sut.journal.close()
  try {
    assert.throws(() => sut.journal.append('g', []), isJournalError('USAGE', /closed/))
    await assert.rejects(sut.journal.guests(), isJournalError('USAGE', /closed/))
    await sut.journal.close()
  } finally {
    await sut.cleanup()
  }
})

test('given EYRIE_JOURNAL set or not, when the default directory is asked, then it is that path or ./journal', () => {
  assert.equal(defaultJournalDir({ EYRIE_JOURNAL: '/var/lib/eyrie' }, '/home/u'), '/var/lib/eyrie')
  assert.equal(defaultJournalDir({ EYRIE_JOURNAL: 'rel/j' }, '/home/u'), '/home/u/rel/j')
  assert.equal(defaultJournalDir({}, '/home/u'), '/home/u/journal')
  assert.equal(defaultJournalDir({ EYRIE_JOURNAL: '' }, '/home/u'), '/home/u/journal')
})
