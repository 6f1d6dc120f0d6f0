// verify finds damage done behind the journal's back and names the first bad guest/seq: a flipped
// record, a missing payload, a checkpoint whose bytes are damaged, and one whose bytes are intact but
// whose world is not what the events fold to.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { JournalError } from '../../src/journal/errors.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { Ingest, worldAt } from '../../src/engine/replay.js'
import { encodeWorld } from '../../src/projections/index.js'
import { verify } from '../../src/forensic/verify.js'
import { StreamBuilder } from '../../src/testing/index.js'
import { withRawLmdb } from '../journal/lmdbSupport.js'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

/** 12 events of guest g, checkpoints at 4, 8, 12; then `tamper` edits the files; then verify. */
const tampered = async (tamper: Parameters<typeof withRawLmdb>[1], check: (journal: string, report: Awaited<ReturnType<typeof verify>>) => void | Promise<void>) => {
  const dir = await tempDir('verify')
  const journal = join(dir, 'journal')
  try {
    const j = await openLmdbJournal(journal, { noSync: true })
    const b = new StreamBuilder('g').mkdir(1, '/w').open(1, 3, '/w/a', 0o1101, true)
    for (let i = 0; i < 8; i++) b.write(1, 3, `line ${i}\n`)
    b.close(1, 3).exit(1)
    const ingest = await Ingest.open(j, 'g', 4)
    for (const d of b.drafts()) await ingest.push([d])
    await ingest.finish()
    // a checkpoint that decodes fine and is sealed right, but holds the world of another moment
    if (tamper === WRONG_WORLD) await j.putCheckpoint('g', 8, encodeWorld(await worldAt(j, 'g', 6)))
    await j.close()
    await withRawLmdb(journal, tamper)
    const reported: JournalError[] = []
    const ro = await openLmdbJournal(journal, { readOnly: true, onCorruption: (e) => reported.push(e) })
    try {
      await check(journal, await verify(ro, { takeCorruption: () => reported.splice(0) }))
    } finally {
      await ro.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
const WRONG_WORLD = (): void => {}

test('given an intact journal, verify finds nothing and counts every payload and checkpoint', async () => {
  await tampered(() => {}, (_j, r) => {
    assert.deepEqual(r.problems, [])
    assert.deepEqual(r.guests, [{ guest: 'g', events: 12, payloads: 8, payloadBytes: 56, checkpoints: 3, problems: 0 }])
  })
})

test('given record #6 with a flipped byte, verify exits 1 naming guest=g seq=6, and still checks the rest', async () => {
  await tampered(({ db }) => {
    const v = db('events').get(['g', 6])
    assert.ok(v !== undefined)
    const bad = Buffer.from(v)
    bad[bad.length - 1] ^= 1
    db('events').putSync(['g', 6], bad)
  }, (journal, r) => {
    assert.deepEqual(r.problems.map((p) => [p.what, p.seq]), [['record', 6]])
    // the fold restarts at checkpoint 8 and goes on: the payloads after the bad record are checked
    assert.equal(r.guests[0].payloads, 7)
    const cli = eyrie(['verify'], { journal })
    assert.equal(cli.status, 1)
    assert.match(cli.stderr, /first bad guest=g seq=6: journal record guest=g seq=6: checksum mismatch/)
  })
})

test('given a payload deleted and a checkpoint damaged, verify names both at their seqs, in seq order', async () => {
  await tampered(({ db }) => {
    db('payloads').removeSync(['g', 5])
    const v = db('checkpoints').get(['g', 8])
    assert.ok(v !== undefined)
    db('checkpoints').putSync(['g', 8], Buffer.concat([v.subarray(0, 10), Buffer.from([v[10] ^ 0xff]), v.subarray(11)]))
  }, (_j, r) => {
    assert.deepEqual(r.problems.map((p) => [p.what, p.seq]), [['payload', 5], ['checkpoint', 8]])
    assert.match(r.problems[1].message, /checksum mismatch/)
  })
})

test('given a checkpoint sealed correctly but holding another moment\'s world, verify says it differs from the fold', async () => {
  await tampered(WRONG_WORLD, (_j, r) => {
    assert.deepEqual(r.problems.map((p) => [p.what, p.seq]), [['checkpoint', 8]])
    assert.match(r.problems[0].message, /differs from the fold of the previous checkpoint and the events after it/)
  })
})

