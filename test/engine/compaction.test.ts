// Compacting checkpoints on a real journal: content read from a compacted checkpoint plus the events
// after it is the content of the full fold; a writer goes on from the fold's own world; verify checks
// the stored bytes; retention frees compacted bytes with their payloads; damage is named.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { Event } from '../../src/events/index.js'
import { O_CREAT, O_RDWR } from '../../src/events/index.js'
import { JournalError } from '../../src/journal/errors.js'
import type { Journal } from '../../src/journal/journal.js'
import { foldedWorldAt, Ingest, worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { verify } from '../../src/forensic/verify.js'
import { Retention } from '../../src/forensic/retention.js'
import { emptyWorld, evolve, readPlan, type CompactionPolicy, type World, DEFAULT_COMPACTION } from '../../src/projections/index.js'
import { arbStream, draftsOf, StreamBuilder } from '../../src/testing/index.js'
import { lmdbJournal, withRawLmdb } from '../journal/lmdbSupport.js'
import { runs } from '../support/runs.js'

const EAGER: CompactionPolicy = { ...DEFAULT_COMPACTION, minExtents: 1, inlineZeros: 8 }

const fold = (events: readonly Event[], upTo: number): World => {
  const w = emptyWorld()
  for (const e of events.slice(0, upTo)) evolve(w, { ...e, guest: 'g' })
  return w
}

/** Every file at seq as `at #seq cat --allow-unknown` gives it, by node id. */
const answers = async (j: Journal, guest: string, seq: number): Promise<Map<number, string>> => {
  const w = await worldAt(j, guest, seq)
  const out = new Map<number, string>()
  for (const node of w.nodes.values()) {
    if (node.type !== 'file') continue
    const { bytes, unknown } = await materialize(j, guest, readPlan(node.content))
    out.set(node.id, `${node.content.size}|${JSON.stringify(unknown)}|${bytes.toString('hex')}`)
  }
  return out
}

/** The same from the fold of the stream itself, payloads from memory. */
const expected = (events: readonly Event[], payloads: ReadonlyMap<number, Uint8Array>, seq: number): Map<number, string> => {
  const w = fold(events, seq)
  const out = new Map<number, string>()
  for (const node of w.nodes.values()) {
    if (node.type !== 'file') continue
    const plan = readPlan(node.content)
    const bytes = Buffer.alloc(plan.length === 0 ? 0 : plan[plan.length - 1].end)
    const unknown: Array<{ start: number; end: number }> = []
    for (const p of plan) {
      if ('unknown' in p) unknown.push({ start: p.start, end: p.end })
      else if (p.seq > 0) bytes.set((payloads.get(p.seq) ?? new Uint8Array(0)).subarray(p.off, p.off + (p.end - p.start)), p.start)
    }
    out.set(node.id, `${node.content.size}|${JSON.stringify(unknown)}|${bytes.toString('hex')}`)
  }
  return out
}

const record = async (j: Journal, guest: string, events: readonly Event[], payloads: ReadonlyMap<number, Uint8Array>, every: number, policy = EAGER): Promise<void> => {
  const ingest = await Ingest.open(j, guest, every, policy)
  const drafts = draftsOf(events, payloads)
  for (let i = 0; i < drafts.length; i += 5) await ingest.push(drafts.slice(i, i + 5))
  await ingest.finish()
}

test('given random streams recorded with checkpoints that compact every file, then content at any seq from a compacted checkpoint plus the tail is the full fold\'s, the world a writer goes on from is the fold\'s, and verify finds nothing', async () => {
  const sut = await lmdbJournal({ noSync: true, blobFrom: 64 })
  try {
    let run = 0
    let compacted = 0
    await fc.assert(fc.asyncProperty(arbStream({ minActions: 20, maxActions: 90, maxData: 96 }), fc.integer({ min: 3, max: 17 }), fc.nat(), async (s, every, k) => {
      const guest = `g${run++}`
      const j = sut.journal
      await record(j, guest, s.events, s.payloads, every)
      if ((await worldAt(j, guest, s.events.length)).compaction !== null) compacted++
      for (const seq of new Set([k % (s.events.length + 1), s.events.length])) {
        assert.deepEqual(await answers(j, guest, seq), expected(s.events, s.payloads, seq), `content at #${seq}`)
        assert.ok(isDeepStrictEqual(await foldedWorldAt(j, guest, seq), fold(s.events, seq)), `the fold's world at #${seq}`)
      }
      const report = await verify(j, { guests: [guest] })
      assert.deepEqual(report.problems, [])
    }), { numRuns: runs(Number(process.env.EYRIE_COMPACTION_RUNS ?? 40)) })
    assert.ok(compacted > run / 2, `most runs end on a compacted checkpoint (${compacted} of ${run})`)
  } finally {
    await sut.cleanup()
  }
})

/** A file of 200 scattered 10-byte writes (many extents), flushed, then rewritten in place in the
 *  second half, flushed again: what live retention may free after the second flush. */
const rewriter = (): StreamBuilder => {
  const b = new StreamBuilder('g').mkdir(1, '/w').open(1, 3, '/w/f', O_RDWR | O_CREAT, true)
  for (let i = 0; i < 200; i++) b.write(1, 3, Buffer.alloc(10, 1 + (i % 250)), i * 16)
  b.flush(1, 3)
  for (let i = 0; i < 100; i++) b.write(1, 3, Buffer.alloc(10, 255 - (i % 250)), i * 16)
  return b.flush(1, 3).close(1, 3)
}

test('given a guest recorded in two sessions, when the second goes on from a compacted checkpoint, then later checkpoints read the earlier compacted bytes instead of copying them, and every answer is the fold\'s', async () => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    const b = rewriter()
    const half = b.events.length >> 1
    await record(sut.journal, 'g', b.events.slice(0, half), b.payloads, 50, { ...DEFAULT_COMPACTION, minExtents: 16 })
    await sut.journal.close()
    const j = await sut.reopen()
    const ingest = await Ingest.open(j, 'g', 50, { ...DEFAULT_COMPACTION, minExtents: 16 })
    assert.ok(ingest.now.compaction !== null, 'the writer reads what the first session compacted from its checkpoints')
    for (const d of draftsOf(b.events, b.payloads).slice(half)) await ingest.push([d])
    await ingest.finish()
    for (const seq of [half - 1, half, half + 30, b.events.length]) assert.deepEqual(await answers(j, 'g', seq), expected(b.events, b.payloads, seq), `content at #${seq}`)
    assert.deepEqual((await verify(j)).problems, [])
    const cps: number[] = []
    let stored = 0
    await withRawLmdb(sut.dir, ({ db }) => {
      for (const { key, value } of db('compacted').getRange({})) {
        cps.push((key as [string, number, number])[1])
        stored += value.length
      }
    })
    assert.ok(new Set(cps).size >= 4, `several checkpoints compacted a part of the file (${[...new Set(cps)].join(', ')})`)
    // 300 writes of 10 bytes 16 apart (the 6-byte holes stored with them): each copied once, plus
    // headers, not the whole file again at each of the ~6 checkpoints (that would be ~20 KB)
    assert.ok(stored < 2 * 300 * 16, `compacted bytes stored once: ${stored}`)
  } finally {
    await sut.cleanup()
  }
})

test('given live retention after a rewrite, when payloads a compacted value was made of are freed, then the checkpoints reading it read the remaining payloads instead, the value goes, and answers become unknown, never other bytes', async () => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    const b = rewriter()
    const j = sut.journal
    await record(j, 'g', b.events, b.payloads, 120, { ...DEFAULT_COMPACTION, minExtents: 16 })
    const last = b.events.length
    const before = await answers(j, 'g', 240)
    const r = new Retention(j, 'g')
    const report = await r.collect({ upTo: last, checkpoint: true })
    assert.equal(report.freedEvents, 100, 'the first half of the first pass was overwritten after a flush')
    assert.ok(report.checkpointsRewritten >= 1)
    assert.deepEqual(await answers(j, 'g', last), expected(b.events, b.payloads, last), 'the end is unchanged')
    const after = await answers(j, 'g', 240)
    for (const [id, text] of after) {
      const [, unknown, hex] = text.split('|')
      const [, , was] = (before.get(id) ?? '||').split('|')
      const gaps: Array<{ start: number; end: number }> = JSON.parse(unknown)
      assert.ok(gaps.length > 0, 'bytes that were freed read as unknown')
      const now = Buffer.from(hex, 'hex')
      const old = Buffer.from(was, 'hex')
      for (let i = 0; i < now.length; i++) if (!gaps.some((g) => g.start <= i && i < g.end)) assert.equal(now[i], old[i], `byte ${i} is the same or unknown`)
    }
    assert.deepEqual((await verify(j)).problems, [])
    const owners = async (db: string) => {
      const out: number[] = []
      await withRawLmdb(sut.dir, ({ db: open }) => {
        for (const key of open(db).getKeys({})) out.push((key as [string, number, number])[1])
      })
      return out
    }
    // #120 compacted the first writes, half of which the rewrite freed; #240 compacted the rest of the
    // first pass and the rewrites so far (none freed); the end's checkpoint compacted the last rewrites
    assert.deepEqual(await owners('compacted'), [240, last], 'the value of #120 is gone')
    assert.deepEqual(await owners('sources'), [240, last], 'sources go with their values')
    const at240 = await worldAt(j, 'g', 240)
    assert.deepEqual(at240.compaction?.files.map((f) => f.seq), [240], '#240 no longer reads #120\'s value')
  } finally {
    await sut.cleanup()
  }
})

test('given a compacted value or its sources damaged, when the file is read or verified, then CORRUPT names the guest and the checkpoint seq', async () => {
  for (const db of ['compacted', 'sources']) {
    const sut = await lmdbJournal({ noSync: true })
    try {
      const b = rewriter()
      await record(sut.journal, 'g', b.events, b.payloads, 120, { ...DEFAULT_COMPACTION, minExtents: 16 })
      await sut.journal.close()
      let cp = 0
      await withRawLmdb(sut.dir, ({ db: open }) => {
        const key = [...open(db).getKeys({})][0] as [string, number, number]
        cp = key[1]
        const v = Buffer.from(open(db).get(key) ?? [])
        v[v.length >> 1] ^= 0x08
        open(db).putSync(key, v)
      })
      const j = await sut.reopen()
      const report = await verify(j)
      assert.ok(report.problems.some((p) => p.seq === cp && new RegExp(`compacted ${db === 'compacted' ? 'content' : 'sources'} guest=g seq=${cp} base=0: checksum mismatch`).test(p.message)), JSON.stringify(report.problems))
      if (db === 'compacted') {
        await assert.rejects(answers(j, 'g', cp), (e: unknown) => e instanceof JournalError && e.code === 'CORRUPT' && e.where.seq === cp && /guest=g seq=\d+ base=0: checksum mismatch/.test(e.message))
      }
    } finally {
      await sut.cleanup()
    }
  }
})

test('given a checkpoint written again at the same seq without compaction, then answers come from payloads and the earlier compacted bytes stay for checkpoints that may read them', async () => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    const b = rewriter()
    await record(sut.journal, 'g', b.events, b.payloads, 1000, { ...DEFAULT_COMPACTION, minExtents: 16 })
    const j = sut.journal
    const { prepareCheckpoint, writeCheckpoint } = await import('../../src/journal/checkpoint.js')
    const w = await foldedWorldAt(j, 'g', 250)
    await writeCheckpoint(j, 'g', prepareCheckpoint(w, { ...DEFAULT_COMPACTION, minExtents: 16 }))
    const count = async () => {
      let n = 0
      await withRawLmdb(sut.dir, ({ db }) => (n = [...db('compacted').getKeys({})].length + [...db('sources').getKeys({})].length))
      return n
    }
    assert.equal(await count(), 2)
    assert.ok((await worldAt(j, 'g', 250)).compaction !== null)
    await writeCheckpoint(j, 'g', prepareCheckpoint(w, { ...DEFAULT_COMPACTION, minExtents: 100_000 }))
    assert.equal(await count(), 2)
    assert.equal((await worldAt(j, 'g', 250)).compaction, null)
    assert.deepEqual(await answers(j, 'g', 250), expected(b.events, b.payloads, 250))
  } finally {
    await sut.cleanup()
  }
})

test('given one batch far longer than the checkpoint interval, when ingested, then a checkpoint is written every N events inside it, not once per batch', async () => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    const b = rewriter()
    const n = Math.min(b.events.length, 200)
    assert.ok(n >= 100, `a stream long enough (${n} events)`)
    const ingest = await Ingest.open(sut.journal, 'g', 25, EAGER)
    await ingest.push(draftsOf(b.events.slice(0, n), b.payloads))
    await ingest.finish()
    for (let seq = 1; seq <= n; seq++) {
      const cp = await sut.journal.checkpointAtOrBefore('g', seq)
      assert.equal(cp?.seq, seq < 25 ? undefined : seq - (seq % 25), `the checkpoint at or before #${seq}`)
    }
    for (const seq of [24, 25, 26, 99, n]) assert.deepEqual(await answers(sut.journal, 'g', seq), expected(b.events, b.payloads, seq), `content at #${seq}`)
  } finally {
    await sut.cleanup()
  }
})

test('given a clone of a flushed write, when live retention runs after the source is rewritten and flushed, then the payload the clone reads is kept', async () => {
  const sut = await lmdbJournal({ noSync: true })
  try {
    const j = sut.journal
    const b = new StreamBuilder('g')
      .open(1, 3, '/w/a', O_RDWR | O_CREAT, true).write(1, 3, 'AAAA').flush(1, 3)
      .open(1, 4, '/w/b', O_RDWR | O_CREAT, true)
      .add(1, { kind: 'file.clone', fd: 4, srcFd: 3, srcOffset: 0, len: 0, destOffset: 0 })
      .write(1, 3, 'BBBB', 0).flush(1, 3)
    await record(j, 'g', b.events, b.payloads, 1000)
    const report = await new Retention(j, 'g').collect({ upTo: b.events.length, checkpoint: true })
    assert.equal(report.freedEvents, 0, 'the first write is what /w/b reads')
    const w = await worldAt(j, 'g', b.events.length)
    for (const [path, text] of [['/w/a', 'BBBB'], ['/w/b', 'AAAA']]) {
      const node = w.nodes.get(w.names.get(path) ?? -1)
      const { bytes, unknown } = await materialize(j, 'g', readPlan(node?.content ?? { extents: [], size: 0 }))
      assert.deepEqual([Buffer.from(bytes).toString(), unknown], [text, []], path)
    }
  } finally {
    await sut.cleanup()
  }
})
