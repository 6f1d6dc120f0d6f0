// The Kafka record format on its own: round trips under any message size, chunking, and the kafkajs
// partitioner agreeing with ours.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { Partitioners } from 'kafkajs'
import type { Draft, Event } from '../../src/events/index.js'
import { decodeRecord, encodeEvents, encodeMeta, isEntry, joinChunks, MIN_RECORD_BYTES, type Entry } from '../../src/journal/kafka/message.js'
import { murmur2, partitionOf } from '../../src/journal/kafka/partition.js'
import { arbTimedDrafts } from '../support/arbitraries.js'
import { runs } from '../support/runs.js'

const asEvent = (guest: string, seq: number, d: Draft): Event => ({ ...d.body, guest, seq, ts: d.ts, pid: d.pid, tid: d.tid })

/** What a consumer does with one guest's records, in order: chunks wait for the entry naming them. */
const decodeAll = (guest: string, records: readonly Buffer[]): Entry[] => {
  const chunks = new Map<number, Uint8Array[]>()
  const out: Entry[] = []
  for (const r of records) {
    const d = decodeRecord(guest, r)
    if (E.isLeft(d)) throw new Error(d.left)
    if (d.right.type === 'chunk') {
      const list = chunks.get(d.right.seq) ?? []
      list[d.right.index] = d.right.bytes
      chunks.set(d.right.seq, list)
    } else if (d.right.type === 'events') {
      for (const slot of d.right.slots) {
        if (isEntry(slot)) out.push(slot)
        else {
          const joined = joinChunks(guest, slot.seq, chunks.get(slot.seq) ?? [])
          if (E.isLeft(joined)) throw new Error(joined.left)
          out.push(joined.right)
        }
      }
    }
  }
  return out
}

test('given drafts and any message size, when encoded and decoded in order, then every event and payload comes back and no record exceeds the size', () => {
  fc.assert(
    fc.property(arbTimedDrafts({ maxLength: 30 }), fc.integer({ min: MIN_RECORD_BYTES, max: 4096 }), fc.integer({ min: 1, max: 1000 }), (drafts, limit, first) => {
      const records = encodeEvents('g', first, drafts, limit)
      for (const r of records) assert.ok(r.length <= limit, `record of ${r.length} bytes, limit ${limit}`)
      const entries = decodeAll('g', records)
      assert.deepEqual(entries.map((e) => e.event), drafts.map((d, i) => asEvent('g', first + i, d)))
      entries.forEach((e, i) => {
        const data = drafts[i].data
        assert.deepEqual(e.data === undefined ? undefined : Buffer.from(e.data), data === undefined || data.length === 0 ? undefined : Buffer.from(data))
      })
    }),
    { numRuns: runs(200) },
  )
})

test('given a 3 MB write and 1 MB records, when encoded, then it travels as chunk records before the events record naming it', () => {
  const data = Buffer.alloc(3_000_000, 'x')
  const drafts: Draft[] = [
    { ts: 1n, pid: 1, tid: 1, body: { kind: 'fd.close', fd: 3 } },
    { ts: 2n, pid: 1, tid: 1, body: { kind: 'file.write', fd: 4, offset: 0, len: data.length, known: data.length }, data },
    { ts: 3n, pid: 1, tid: 1, body: { kind: 'fd.close', fd: 4 } },
  ]
  const records = encodeEvents('g', 1, drafts, 1_000_000)
  const types = records.map((r) => {
    const d = decodeRecord('g', r)
    if (E.isLeft(d)) throw new Error(d.left)
    return d.right.type
  })
  assert.deepEqual(types, ['events', 'chunk', 'chunk', 'chunk', 'chunk', 'events'])
  assert.ok(Buffer.from(decodeAll('g', records)[1].data ?? []).equals(data))
})

test('given records for one guest, when decoded under another key, then the checksum refuses them', () => {
  const [record] = encodeEvents('alice', 1, [{ ts: 1n, pid: 1, tid: 1, body: { kind: 'fd.close', fd: 3 } }], 4096)
  const d = decodeRecord('mallory', record)
  assert.ok(E.isLeft(d) && /seq=1: checksum mismatch/.test(d.left), JSON.stringify(d))
  assert.ok(E.isLeft(decodeRecord('mallory', encodeMeta('alice', { a: 'b' }))))
})

test('given an encoded record, when any one byte is flipped, then decoding it fails or it is a chunk whose join fails', () => {
  const data = Buffer.from('some bytes that were written')
  const drafts: Draft[] = [
    { ts: 5n, pid: 7, tid: 8, body: { kind: 'fd.seek', fd: 3, pos: 99 } },
    { ts: 6n, pid: 7, tid: 8, body: { kind: 'file.write', fd: 3, offset: null, len: 40, known: data.length }, data },
  ]
  const [record] = encodeEvents('g', 41, drafts, 4096)
  for (let i = 0; i < record.length; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(record)
      bad[i] ^= mask
      const d = decodeRecord('g', bad)
      if (E.isRight(d)) {
        // the type byte turned it into a chunk record: harmless on its own, the missing entry shows as a seq gap
        assert.equal(d.right.type, 'chunk', `byte ${i} ^ ${mask} still decodes as ${d.right.type}`)
      }
    }
  }
})

test('given guest keys, when partitioned, then kafkajs\'s default partitioner picks the same partitions', () => {
  const kafkajs = Partitioners.DefaultPartitioner()
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }), fc.integer({ min: 1, max: 64 }), (guest, n) => {
      const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }))
      assert.equal(partitionOf(guest, n), kafkajs({ topic: 't', partitionMetadata, message: { key: guest, value: null } }))
    }),
    { numRuns: runs(300) },
  )
  // the values Kafka's own UtilsTest holds the Java murmur2 to
  const java: Array<[string, number]> = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829], ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971], ['abc', 479470107]]
  for (const [key, hash] of java) assert.equal(murmur2(Buffer.from(key)), hash, key)
})
