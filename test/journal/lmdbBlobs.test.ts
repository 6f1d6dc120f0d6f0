// Large payloads in blob segments (src/journal/blobs.ts): where the bytes go, the order in which
// writes commit, what a writer finds after a crash, what retention frees, and the format record.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { JournalError } from '../../src/journal/errors.js'
import { JOURNAL_FORMAT, openLmdbJournal } from '../../src/journal/lmdb.js'
import { BLOB_DIR, segmentName } from '../../src/journal/blobs.js'
import { formatValue, refFromValue } from '../../src/journal/values.js'
import { lmdbJournal, withRawLmdb } from './lmdbSupport.js'

const write = (ts: bigint, data: Buffer): Draft => ({ ts, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: null, len: data.length, known: data.length }, data })
const seek = (ts: bigint): Draft => ({ ts, pid: 7, tid: 7, body: { kind: 'fd.seek', fd: 3, pos: 0 } })
const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill)
const segments = (dir: string): string[] => readdirSync(join(dir, BLOB_DIR)).sort()
const isJournalError = (code: JournalError['code'], message: RegExp) => (e: unknown): boolean =>
  e instanceof JournalError && e.code === code && message.test(e.message)

test('given payloads below and at the blob threshold, when appended, then the small one stays in LMDB, the large one goes to a segment file, and both read back', async () => {
  const sut = await lmdbJournal({ blobFrom: 1000 })
  try {
    await sut.journal.append('g', [write(1n, bytes(999, 1)), write(2n, bytes(1000, 2))]).committed
    assert.deepEqual(Buffer.from(await sut.journal.payload('g', 1)), bytes(999, 1))
    assert.deepEqual(Buffer.from(await sut.journal.payload('g', 2)), bytes(1000, 2))
    assert.deepEqual(segments(sut.dir), [segmentName(1)])
    assert.equal(statSync(join(sut.dir, BLOB_DIR)).mode & 0o777, 0o700)
    assert.equal(statSync(join(sut.dir, BLOB_DIR, segmentName(1))).mode & 0o777, 0o600)
    await withRawLmdb(sut.dir, ({ db }) => {
      assert.ok(db('payloads').get(['g', 1]) !== undefined)
      assert.equal(db('payloads').get(['g', 2]), undefined)
      assert.ok(db('blobs').get(['g', 2]) !== undefined)
    })
    assert.equal((await sut.journal.guests())[0].payloadBytes, 1999)
  } finally {
    await sut.cleanup()
  }
})

test('given segments of 4 KiB, when batches of 3 KiB are appended, then each batch after a full segment starts a new one and every byte reads back after a reopen', async () => {
  const sut = await lmdbJournal({ blobFrom: 1, segmentBytes: 4096 })
  try {
    for (let b = 0; b < 4; b++) await sut.journal.append('g', [write(BigInt(b), bytes(3072, b + 1))]).committed
    assert.deepEqual(segments(sut.dir), [1, 2, 3, 4].map(segmentName))
    await sut.journal.close()
    const again = await sut.reopen()
    for (let b = 0; b < 4; b++) assert.deepEqual(Buffer.from(await again.payload('g', b + 1)), bytes(3072, b + 1))
  } finally {
    await sut.cleanup()
  }
})

test('given a large batch, then a small one, meta and a checkpoint issued at once, when they commit, then in call order: nothing after the large batch is visible before it', async () => {
  const sut = await lmdbJournal({ blobFrom: 1024 })
  try {
    const j = sut.journal
    const order: string[] = []
    const big = j.append('g', [write(1n, bytes(1 << 20, 9))]).committed.then(() => order.push('big'))
    const small = j.append('g', [seek(2n)]).committed.then(() => order.push('small'))
    const meta = j.setMeta('g', { k: 'v' }).then(() => order.push('meta'))
    const cp = j.putCheckpoint('g', 2, Buffer.from('state')).then(() => order.push('checkpoint'))
    // the small batch cannot be committed ahead of the large one: a reader sees both or neither
    assert.equal(await j.lastSeq('g'), 0)
    await Promise.all([big, small, meta, cp])
    assert.deepEqual(order, ['big', 'small', 'meta', 'checkpoint'])
    assert.equal(await j.lastSeq('g'), 2)
    assert.equal((await j.guests())[0].meta.k, 'v')
  } finally {
    await sut.cleanup()
  }
})

test('given bytes past the last committed payload (a crash mid-batch) and a segment no record knows, when the journal is opened for writing, then both are cut away and appends go on', async () => {
  const sut = await lmdbJournal({ blobFrom: 1 })
  try {
    await sut.journal.append('g', [write(1n, bytes(5000, 1))]).committed
    await sut.journal.close()
    const first = join(sut.dir, BLOB_DIR, segmentName(1))
    const committedSize = statSync(first).size
    appendFileSync(first, bytes(777, 0xee))
    writeFileSync(join(sut.dir, BLOB_DIR, segmentName(2)), 'a segment created by a writer that died before its first commit')
    const again = await sut.reopen()
    assert.equal(statSync(first).size, committedSize)
    assert.equal(existsSync(join(sut.dir, BLOB_DIR, segmentName(2))), false)
    await again.append('g', [write(2n, bytes(100, 2))]).committed
    assert.deepEqual(Buffer.from(await again.payload('g', 1)), bytes(5000, 1))
    assert.deepEqual(Buffer.from(await again.payload('g', 2)), bytes(100, 2))
    assert.equal(statSync(first).size, committedSize + 100)
  } finally {
    await sut.cleanup()
  }
})

test('given payloads in three segments, when retention forgets every payload of the first two and some of the last, then the first two files go, the current one stays, and the journal reopens consistent', async () => {
  const sut = await lmdbJournal({ blobFrom: 1, segmentBytes: 4096 })
  try {
    const j = sut.journal
    for (let b = 0; b < 3; b++) await j.append('g', [write(BigInt(2 * b), bytes(2500, 2 * b + 1)), write(BigInt(2 * b + 1), bytes(2500, 2 * b + 2))]).committed
    assert.deepEqual(segments(sut.dir), [1, 2, 3].map(segmentName))
    assert.ok(j.forget !== undefined)
    assert.deepEqual(await j.forget('g', { payloads: [1, 2, 3], checkpoints: [] }), { events: 3, bytes: 7500 })
    assert.deepEqual(segments(sut.dir), [2, 3].map(segmentName), 'the first segment held only seq 1 and 2')
    assert.deepEqual(await j.forget('g', { payloads: [4, 5, 6], checkpoints: [] }), { events: 3, bytes: 7500 })
    assert.deepEqual(segments(sut.dir), [segmentName(3)], 'the current segment stays, empty or not')
    await j.close()
    const again = await sut.reopen()
    assert.equal((await again.payload('g', 6)).length, 0)
    await again.append('g', [write(7n, bytes(10, 7))]).committed
    assert.deepEqual(Buffer.from(await again.payload('g', 7)), bytes(10, 7))
    assert.equal((await again.guests())[0].payloadBytes, 10)
  } finally {
    await sut.cleanup()
  }
})

test('given a journal written by an earlier eyrie (no format record) or a newer one, when opened, then DECODE says which format it is', async () => {
  const sut = await lmdbJournal()
  try {
    await sut.journal.append('g', [seek(1n)]).committed
    await sut.journal.close()
    await withRawLmdb(sut.dir, ({ db }) => db('meta').removeSync('format'))
    await assert.rejects(openLmdbJournal(sut.dir), isJournalError('DECODE', /is format 1 \(written by an earlier eyrie\); this eyrie reads format 2 only/))
    await assert.rejects(openLmdbJournal(sut.dir, { readOnly: true }), isJournalError('DECODE', /format 1/))
    await withRawLmdb(sut.dir, ({ db }) => db('meta').putSync('format', formatValue(JOURNAL_FORMAT + 1)))
    await assert.rejects(openLmdbJournal(sut.dir), isJournalError('DECODE', /is format 3; .* \(a newer eyrie wrote it\)/))
  } finally {
    await sut.cleanup()
  }
})

test('given an LMDB directory that lacks some of the journal\'s databases, when opened read-only, then DECODE names them (format 1 when only its missing ones are), and nothing is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-partial-'))
  try {
    // what a reader sees while a writer is still creating the databases, or in a foreign LMDB file
    await withRawLmdb(dir, ({ db }) => { db('events'); db('guests') })
    await assert.rejects(openLmdbJournal(dir, { readOnly: true }), isJournalError('DECODE', /has no payloads, blobs, checkpoints, compacted, sources, segments, meta databases: not an eyrie journal, or its writer has not created them yet/))
    // format 1: every database but meta, blobs and segments, and guests that hold something
    await withRawLmdb(dir, ({ db }) => {
      for (const name of ['payloads', 'checkpoints', 'compacted', 'sources']) db(name)
      db('guests').putSync('g', Buffer.from('x'))
    })
    await assert.rejects(openLmdbJournal(dir, { readOnly: true }), isJournalError('DECODE', /is format 1 \(written by an earlier eyrie\)/))
    await withRawLmdb(dir, ({ root }) => {
      assert.equal(root.openDB('meta', { create: false } as never), undefined, 'the read-only opens created nothing')
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('given a journal on a full file system, when a large payload cannot be written, then the append fails with IO naming guest, seqs and the full disk, nothing of it is visible, and the journal refuses further writes', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-blobfull-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir])
  try {
    const j = await openLmdbJournal(join(dir, 'journal'), { blobFrom: 1024 })
    await j.append('g', [seek(1n)]).committed
    const big = j.append('g', [write(2n, bytes(4 << 20, 7))])
    await assert.rejects(big.committed, isJournalError('IO', /^journal .*: append guest=g seq=2\.\.2: .*ENOSPC.*\(the file system holding the journal is full/))
    assert.throws(() => j.append('g', [seek(3n)]), isJournalError('IO', /seq=2\.\.2/))
    await assert.rejects(j.close(), isJournalError('IO', /seq=2\.\.2/))
    const ro = await openLmdbJournal(join(dir, 'journal'), { readOnly: true })
    assert.equal(await ro.lastSeq('g'), 1)
    await ro.close()
  } finally {
    execFileSync('umount', ['-l', dir])
    rmSync(dir, { recursive: true, force: true })
  }
})

test('given one batch of more large payloads than one pwritev takes (IOV_MAX is 1024), when appended, then every one is written and reads back', async () => {
  const sut = await lmdbJournal({ blobFrom: 16 })
  try {
    const drafts = Array.from({ length: 2500 }, (_, i) => write(BigInt(i), Buffer.alloc(16 + (i % 7), i % 256)))
    await sut.journal.append('g', drafts).committed
    const got = await sut.journal.payloads?.('g', drafts.map((_, i) => i + 1))
    assert.ok(got !== undefined)
    got.forEach((bytes, i) => assert.deepEqual(Buffer.from(bytes), Buffer.alloc(16 + (i % 7), i % 256), `payload ${i + 1}`))
  } finally {
    await sut.cleanup()
  }
})

test('given batches of large payloads appended while an fdatasync runs, then each is committed only after an fdatasync that began once its bytes were written', async () => {
  const log: string[] = []
  const writev = fs.writev
  const fdatasync = fs.fdatasync
  let syncs = 0
  fs.writev = ((fd: number, buffers: NodeJS.ArrayBufferView[], position: number, cb: (err: NodeJS.ErrnoException | null, n: number, b: NodeJS.ArrayBufferView[]) => void) =>
    writev(fd, buffers, position, (err, n, b) => {
      log.push(`written ${position}`)
      cb(err, n, b)
    })) as typeof fs.writev
  fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    const id = ++syncs
    log.push(`sync ${id} begins`)
    fdatasync(fd, (err) => {
      log.push(`sync ${id} ends`)
      cb(err)
    })
  }) as typeof fs.fdatasync
  syncBuiltinESMExports()
  const sut = await lmdbJournal({ blobFrom: 1024 })
  try {
    const offsets: number[] = []
    const done = Array.from({ length: 12 }, (_, i) => {
      const r = sut.journal.append('g', [write(BigInt(i), bytes(256 * 1024, i))])
      return r.committed.then(() => log.push(`committed ${i}`))
    })
    await Promise.all(done)
    await withRawLmdb(sut.dir, ({ db }) => {
      for (let i = 0; i < 12; i++) offsets.push(refFromValue('g', i + 1, db('blobs').get(['g', i + 1]) ?? Buffer.alloc(0)).offset)
    })
    for (let i = 0; i < 12; i++) {
      const written = log.indexOf(`written ${offsets[i]}`)
      const committed = log.indexOf(`committed ${i}`)
      assert.ok(written >= 0 && committed > written, `batch ${i} written, then committed`)
      const covered = log.some((e, at) => {
        const m = /^sync (\d+) begins$/.exec(e)
        return m !== null && at > written && log.indexOf(`sync ${m[1]} ends`) < committed
      })
      assert.ok(covered, `batch ${i}: an fdatasync began after its bytes were written and ended before its commit resolved\n${log.join('\n')}`)
    }
    assert.ok(syncs < 12, `batches written meanwhile share an fdatasync (${syncs} for 12)`)
  } finally {
    fs.writev = writev
    fs.fdatasync = fdatasync
    syncBuiltinESMExports()
    await sut.cleanup()
  }
})
