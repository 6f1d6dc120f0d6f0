// The state store on its own (records handed in as a fetch would, no broker): at-least-once delivery,
// producer re-sends and consumer crashes never duplicate or reorder state; malformed records are
// parked with their topic/partition/offset while other guests go on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { hasPayload, type Draft, type Event } from '../../src/events/index.js'
import { seal } from '../../src/journal/checksum.js'
import { encodeEvents, encodeMeta } from '../../src/journal/kafka/message.js'
import { PARKED_META, StateStore } from '../../src/journal/kafka/store.js'
import type { FetchedRecord } from '../../src/journal/kafka/fetch.js'
import { readParked, PARKED_FILE } from '../../src/journal/kafka/parked.js'
import { arbTimedDrafts } from '../support/arbitraries.js'
import { runs } from '../support/runs.js'

const TOPIC = 'journal'
const asEvent = (guest: string, seq: number, d: Draft): Event => ({ ...d.body, guest, seq, ts: d.ts, pid: d.pid, tid: d.tid })

const withStore = async (body: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-store-'))
  try {
    await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const events = async (store: StateStore, guest: string): Promise<Event[]> => {
  const out: Event[] = []
  for await (const batch of store.journal.read(guest, 1, Number.MAX_SAFE_INTEGER)) out.push(...batch)
  return out
}

const assertHolds = async (store: StateStore, guest: string, drafts: readonly Draft[]): Promise<void> => {
  assert.deepEqual(await events(store, guest), drafts.map((d, i) => asEvent(guest, i + 1, d)), `events of ${guest}`)
  for (const [i, d] of drafts.entries()) {
    if (hasPayload(d.body) && d.body.known > 0) assert.ok(Buffer.from(await store.journal.payload(guest, i + 1)).equals(Buffer.from(d.data ?? [])), `payload ${guest}#${i + 1}`)
  }
}

interface Logged { readonly key: Buffer; readonly value: Buffer }

/** Applies log[from..] in fetches of `batch` records, starting where the store says. */
const consume = async (store: StateStore, log: readonly Logged[], batch: number, stopAt = log.length): Promise<void> => {
  for (;;) {
    const from = store.next(0)
    if (from >= stopAt) return
    const records: FetchedRecord[] = log.slice(from, Math.min(stopAt, from + batch)).map((r, i) => ({ offset: from + i, key: r.key, value: r.value }))
    await store.apply(0, records)
  }
}

test('given records re-sent by the producer and re-read after consumer crashes, when applied, then each guest holds exactly its events once, in order', async () => {
  const scenario = fc.record({
    guests: fc.array(arbTimedDrafts({ maxLength: 12 }), { minLength: 1, maxLength: 3 }),
    limit: fc.integer({ min: 64, max: 1500 }),
    picks: fc.array(fc.nat(), { maxLength: 120 }),
    resends: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })), { maxLength: 4 }),
    crashes: fc.array(fc.nat(), { maxLength: 3 }),
    batch: fc.integer({ min: 1, max: 6 }),
  })
  await withStore(async (root) => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const dir = join(root, String(run++))
        // each guest's records, interleaved in the partition as the picks say
        const queues = s.guests.map((drafts, g) => encodeEvents(`g${g}`, 1, drafts, s.limit).map((value) => ({ key: Buffer.from(`g${g}`), value })))
        const log: Logged[] = []
        let p = 0
        while (queues.some((q) => q.length > 0)) {
          const open = queues.filter((q) => q.length > 0)
          log.push(open[(s.picks[p++] ?? 0) % open.length].shift() as Logged)
        }
        // a producer retry puts the last k records in the log again
        for (const [at, k] of s.resends) {
          const pos = at % (log.length + 1)
          log.splice(pos, 0, ...log.slice(Math.max(0, pos - k), pos))
        }
        let store = await StateStore.open(dir, TOPIC, 1, { noSync: true })
        try {
          for (const crash of [...new Set(s.crashes.map((c) => c % (log.length + 1)))].sort((a, b) => a - b)) {
            await consume(store, log, s.batch, crash)
            await store.close() // whatever it held in memory (position, waiting chunks) is gone
            store = await StateStore.open(dir, TOPIC, 1, { noSync: true })
          }
          await consume(store, log, s.batch)
          for (const [g, drafts] of s.guests.entries()) await assertHolds(store, `g${g}`, drafts)
          assert.deepEqual(store.parked(), [])
        } finally {
          await store.close()
        }
      }),
      { numRuns: runs(60) },
    )
  })
})

/** An events record with one entry whose event value is `value` (sealed or not): the wire format by hand. */
const rawEventsRecord = (seq: number, value: Buffer): Buffer => {
  const b = Buffer.alloc(14 + 4 + value.length + 4)
  b[0] = 1
  b[1] = 1
  b.writeUInt32LE(seq, 2)
  b.writeUInt32LE(1, 10)
  b.writeUInt32LE(value.length, 14)
  value.copy(b, 18)
  return b
}

const close = (ts: bigint, fd: number): Draft => ({ ts, pid: 1, tid: 1, body: { kind: 'fd.close', fd } })

test('given a flipped byte, a bad codec behind a good checksum and a keyless record, when applied, then each is parked naming topic/partition/offset and the other guest is served', async () => {
  await withStore(async (dir) => {
    const alice = Array.from({ length: 6 }, (_, i) => close(BigInt(i), i))
    const bob = Array.from({ length: 6 }, (_, i) => close(BigInt(i), 100 + i))
    const a = alice.map((d, i) => encodeEvents('alice', i + 1, [d], 4096)[0])
    const b = bob.map((d, i) => encodeEvents('bob', i + 1, [d], 4096)[0])
    const flipped = Buffer.from(a[2])
    flipped[25] ^= 0x10 // inside the event value
    const badCodec = rawEventsRecord(4, seal('alice', 4, Buffer.from([1, 200, ...new Array<number>(16).fill(0), 0x80]))) // kind code 200
    const key = (g: string) => Buffer.from(g)
    const log: Logged[] = [
      { key: key('alice'), value: a[0] }, { key: key('bob'), value: b[0] }, { key: key('alice'), value: a[1] },
      { key: key('alice'), value: flipped }, // offset 3
      { key: key('bob'), value: b[1] }, { key: key('bob'), value: b[2] },
      { key: Buffer.alloc(0), value: b[3] }, // offset 6: no guest
      { key: key('alice'), value: a[3] }, // offset 7: seq gap (seq 3 was parked)
      { key: key('bob'), value: b[3] }, { key: key('bob'), value: b[4] }, { key: key('bob'), value: b[5] },
    ]
    const told: string[] = []
    const store = await StateStore.open(dir, TOPIC, 1, { noSync: true, onParked: (r) => told.push(r.error) })
    try {
      await consume(store, log, 4)
      await assertHolds(store, 'bob', bob)
      await assertHolds(store, 'alice', alice.slice(0, 2))
      const parked = store.parked()
      assert.deepEqual(parked.map((r) => [r.offset, r.guest]), [[3, 'alice'], [6, null], [7, 'alice']])
      assert.match(parked[0].error, /^kafka topic=journal partition=0 offset=3 guest=alice: event seq=3: checksum mismatch$/)
      assert.match(parked[1].error, /^kafka topic=journal partition=0 offset=6: record key is not a guest id/)
      assert.match(parked[2].error, /offset=7 guest=alice: seq gap: the store has up to seq 2, the record starts at 4/)
      assert.deepEqual(told, parked.map((r) => r.error))
      assert.ok(Buffer.from(parked[0].value ?? '', 'base64').equals(flipped), 'the parked record is kept byte for byte')
      assert.deepEqual(readParked(join(dir, PARKED_FILE)), parked, 'and on disk')
      assert.equal((await store.journal.guests()).find((g) => g.guest === 'alice')?.meta[PARKED_META], parked[0].error)
      assert.equal(store.stalled('alice'), parked[0].error)

      // a record that passes its checksum but does not decode
      await store.apply(0, [{ offset: 11, key: key('alice'), value: badCodec }])
      assert.match(store.parked()[3].error, /^kafka topic=journal partition=0 offset=11 guest=alice: event seq=4: unknown kind code 200$/)

      // the recorder re-sends from the missing seq: alice recovers, in order
      await store.apply(0, a.slice(2).map((value, i) => ({ offset: 12 + i, key: key('alice'), value })))
      await assertHolds(store, 'alice', alice)
      assert.equal(store.parked().length, 4, 'the parked records stay on record')
      assert.equal(store.stalled('alice'), undefined)
      assert.equal((await store.journal.guests()).find((g) => g.guest === 'alice')?.meta[PARKED_META], '')
    } finally {
      await store.close()
    }
  })
})

test('given meta records and a restart, when applied, then meta merges in log order and the store resumes after the last applied offset', async () => {
  await withStore(async (dir) => {
    const log: Logged[] = [
      { key: Buffer.from('g'), value: encodeMeta('g', { host: 'a', cmd: 'x' }) },
      { key: Buffer.from('g'), value: encodeEvents('g', 1, [close(1n, 3)], 4096)[0] },
      { key: Buffer.from('g'), value: encodeMeta('g', { cmd: 'y' }) },
    ]
    let store = await StateStore.open(dir, TOPIC, 2, { noSync: false })
    await consume(store, log, 2)
    await store.close()
    store = await StateStore.open(dir, TOPIC, 2)
    try {
      assert.equal(store.next(0), 3)
      assert.equal(store.next(1), 0)
      assert.deepEqual((await store.journal.guests()).map((g) => [g.guest, g.events, g.meta]), [['g', 1, { host: 'a', cmd: 'y' }]])
      await assert.rejects(StateStore.open(dir, TOPIC, 2), /already open for writing/, 'one engine per state store')
    } finally {
      await store.close()
    }
    await assert.rejects(StateStore.open(dir, 'other', 2), /mirrors topic journal, not other/)
    await assert.rejects(StateStore.open(dir, TOPIC, 1), /knows 2 partitions of journal, the broker 1/)
  })
})
