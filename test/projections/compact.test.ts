// Content compaction (src/projections/compact.ts), purely: a checkpoint that compacts files, plus the
// events after it, answers exactly as the full fold does, and expands back into the full fold's world.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { Event } from '../../src/events/index.js'
import {
  applyCompaction, compactedKey, compactedValue, compactionPlan, compactWorld, decodeWorld, DEFAULT_COMPACTION, emptyWorld, encodeWorld, evolve, expandWorld, parseCompacted,
  readCompacted, readPlan, type CompactionPlan, type CompactionPolicy, type World,
} from '../../src/projections/index.js'
import { arbStream } from '../../src/testing/index.js'
import { O_CREAT, O_RDWR } from '../../src/events/index.js'
import { Script, open, write } from '../support/events.js'
import { runs } from '../support/runs.js'

const fold = (events: readonly Event[], upTo: number, w: World = emptyWorld()): World => {
  for (const e of events.slice(w.seq, upTo)) evolve(w, e)
  return w
}

/** What a journal would store for a plan: each item's value and sources, by base. */
const store = (plan: CompactionPlan, payloads: ReadonlyMap<number, Uint8Array>) => {
  const values = new Map<number, Uint8Array>()
  const sources = new Map<string, Uint8Array>()
  for (const item of plan.items) {
    const data = new Uint8Array(item.stored)
    for (const p of item.dataPieces) {
      if ('unknown' in p) throw new Error('a data piece is never unknown')
      if (p.seq === 0) continue
      const bytes = payloads.get(p.seq) ?? new Uint8Array(0)
      data.set(bytes.subarray(p.off, p.off + (p.end - p.start)), p.start)
    }
    values.set(item.base, compactedValue(item, data))
    sources.set(compactedKey(item), item.sources)
  }
  return { values, sources }
}

/** Every file's bytes (null where unknown) as `at T cat --allow-unknown` reads them. */
const contents = (w: World, payloads: ReadonlyMap<number, Uint8Array>, values: ReadonlyMap<number, Uint8Array> = new Map()): Map<number, string> => {
  const bases = [...values.keys()].sort((a, b) => b - a)
  const out = new Map<number, string>()
  for (const node of w.nodes.values()) {
    if (node.type !== 'file') continue
    const plan = readPlan(node.content)
    const bytes = Buffer.alloc(plan.length === 0 ? 0 : plan[plan.length - 1].end)
    const unknown: string[] = []
    for (const p of plan) {
      if ('unknown' in p) unknown.push(`${p.start}-${p.end}`)
      else if (p.seq > 0) bytes.set((payloads.get(p.seq) ?? new Uint8Array(0)).subarray(p.off, p.off + (p.end - p.start)), p.start)
      else if (p.seq < 0) {
        const base = bases.find((b) => b <= p.off)
        const value = base === undefined ? undefined : parseCompacted(values.get(base) ?? new Uint8Array(0))
        assert.ok(base !== undefined && value !== undefined, `a value holds compacted position ${p.off}`)
        readCompacted(value, p.off - base, p.off - base + (p.end - p.start), bytes, p.start)
      }
    }
    out.set(node.id, `${node.content.size}:${unknown.join(',')}:${bytes.toString('hex')}`)
  }
  return out
}

const arbPolicy: fc.Arbitrary<CompactionPolicy> = fc.record({
  minExtents: fc.integer({ min: 1, max: 4 }),
  maxBytesPerExtent: fc.oneof(fc.constant(DEFAULT_COMPACTION.maxBytesPerExtent), fc.integer({ min: 1, max: 64 })),
  maxBytes: fc.oneof(fc.constant(DEFAULT_COMPACTION.maxBytes), fc.nat(2000)),
  inlineZeros: fc.nat(64),
})

test('given any valid stream, a compacting checkpoint at any seq plus the events after it answers every file as the full fold does, and expands into the full fold', () => {
  fc.assert(fc.property(arbStream({ maxActions: 80, maxData: 24 }), fc.nat(), arbPolicy, (s, k, policy) => {
    const cut = k % (s.events.length + 1)
    const atCut = fold(s.events, cut)
    const before = encodeWorld(atCut)
    const plan = compactionPlan(atCut, policy)
    const { values, sources } = store(plan, s.payloads)
    const restored = decodeWorld(encodeWorld(compactWorld(atCut, plan)))
    assert.deepEqual(encodeWorld(atCut), before, 'compacting leaves the folded world as it was')
    assert.deepEqual(contents(restored, s.payloads, values), contents(atCut, s.payloads), `content at the checkpoint #${cut}`)
    const tail = fold(s.events, s.events.length, restored)
    const full = fold(s.events, s.events.length)
    assert.deepEqual(contents(tail, s.payloads, values), contents(full, s.payloads), 'content at the end, from the checkpoint')
    assert.ok(isDeepStrictEqual(expandWorld(tail, sources), full), 'expanded, the world is the full fold\'s')
  }), { numRuns: runs(300) })
})

test('given any valid stream, when the writer applies a committed checkpoint\'s compaction late (events folded meanwhile), then its world still expands into the full fold and answers as it does', () => {
  fc.assert(fc.property(arbStream({ maxActions: 80, maxData: 24 }), fc.nat(), fc.nat(), arbPolicy, (s, k, m, policy) => {
    const cut = k % (s.events.length + 1)
    const w = fold(s.events, cut)
    const plan = compactionPlan(w, policy)
    const { values, sources } = store(plan, s.payloads)
    // Ingest applies a plan once its checkpoint is committed: the fold has gone on by then
    fold(s.events, cut + (m % (s.events.length - cut + 1)), w)
    applyCompaction(w, plan)
    fold(s.events, s.events.length, w)
    const full = fold(s.events, s.events.length)
    assert.deepEqual(contents(w, s.payloads, values), contents(full, s.payloads), 'content at the end')
    assert.ok(isDeepStrictEqual(expandWorld(w, sources), full), 'expanded, the world is the full fold\'s')
  }), { numRuns: runs(500) })
})

test('given zeros a checkpoint compacted, when the file is cut into them and a hole written beside before the plan applies, then the hole stays an extent of its own (it expands as the fold has it)', () => {
  const s = new Script()
  s.add(1, open(3, '/f', O_RDWR | O_CREAT, true))
  s.add(1, { kind: 'file.truncate', path: null, fd: 3, size: 14 })
  const events0 = s.events.length
  s.add(1, { kind: 'file.truncate', path: null, fd: 3, size: 1 })
  s.add(1, write(3, Buffer.from('x'), 2), Buffer.from('x'))
  const w = fold(s.events, events0)
  const plan = compactionPlan(w, { ...DEFAULT_COMPACTION, minExtents: 1, inlineZeros: 8 })
  assert.equal(plan.items.length, 1)
  fold(s.events, s.events.length, w)
  applyCompaction(w, plan)
  const full = fold(s.events, s.events.length)
  assert.deepEqual(expandWorld(w, store(plan, s.payloads).sources).nodes, full.nodes)
})

test('given a file of many scattered writes with small holes, when compacted, then it reads as one run from one value whose spans skip the long holes', () => {
  const s = new Script()
  s.add(1, open(3, '/f', O_RDWR | O_CREAT, true))
  for (let i = 0; i < 100; i++) s.add(1, write(3, Buffer.alloc(10, i + 1), i * (i % 2 === 0 ? 20 : 15)), Buffer.alloc(10, i + 1))
  s.add(1, write(3, Buffer.from('end'), 100_000), Buffer.from('end'))
  const w = s.fold()
  const plan = compactionPlan(w, { ...DEFAULT_COMPACTION, inlineZeros: 64 })
  assert.equal(plan.items.length, 1)
  const item = plan.items[0]
  assert.deepEqual(item.runs, [{ start: 0, end: 100_003 }], 'holes are known zeros: one run')
  assert.ok(item.spans.length === 2 && item.stored < 2000, `the 98 KB hole before "end" is not stored (${item.stored} bytes in ${item.spans.length} spans)`)
  const compacted = compactWorld(w, plan)
  const id = w.names.get('/f') ?? -1
  assert.deepEqual(compacted.nodes.get(id)?.content.extents, [{ start: 0, end: 100_003, seq: -w.seq, off: item.base }])
  assert.deepEqual(compacted.compaction?.files, [{ seq: w.seq, node: id, base: item.base, length: 100_003 }])
  const { values } = store(plan, s.payloads)
  assert.deepEqual(contents(compacted, s.payloads, values), contents(w, s.payloads))
})

test('given files with few extents, large extents, or a budget already spent, then they are not compacted, and the files with most extents go first', () => {
  const s = new Script()
  s.add(1, open(3, '/many', O_RDWR | O_CREAT, true))
  for (let i = 0; i < 80; i++) s.add(1, write(3, Buffer.alloc(4, 1), i * 8), Buffer.alloc(4, 1))
  s.add(1, open(4, '/fewer', O_RDWR | O_CREAT, true))
  for (let i = 0; i < 70; i++) s.add(1, write(4, Buffer.alloc(4, 2), i * 8), Buffer.alloc(4, 2))
  s.add(1, open(5, '/few', O_RDWR | O_CREAT, true))
  for (let i = 0; i < 3; i++) s.add(1, write(5, Buffer.alloc(4, 3), i * 8), Buffer.alloc(4, 3))
  const w = s.fold()
  const node = (p: string) => w.names.get(p)
  assert.deepEqual(compactionPlan(w).items.map((i) => i.node), [node('/many'), node('/fewer')], 'defaults: the two files with many extents, most first')
  assert.deepEqual(compactionPlan(w, { ...DEFAULT_COMPACTION, maxBytes: 700 }).items.map((i) => i.node), [node('/many')], 'the budget holds one')
  assert.deepEqual(compactionPlan(w, { ...DEFAULT_COMPACTION, maxBytesPerExtent: 3 }).items.map((i) => i.node), [], '4 bytes per extent (holes stored inline) is more than 3')
})

test('given a growing log checkpointed again and again, then each checkpoint stores only the bytes appended since the last, and reads the older ones from the checkpoints that stored them', () => {
  const s = new Script()
  s.add(1, open(3, '/log', O_RDWR | O_CREAT, true))
  const w = emptyWorld()
  const stored: number[] = []
  const values = new Map<number, Uint8Array>()
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 70; i++) s.add(1, write(3, Buffer.from(`r${round} line ${i}\n`)), Buffer.from(`r${round} line ${i}\n`))
    s.fold(s.events.length, w)
    const plan = compactionPlan(w)
    stored.push(plan.items.reduce((n, i) => n + i.stored, 0))
    const compacted = compactWorld(w, plan)
    // the checkpoint's compacted spaces are per seq: keep the values under seq and base
    for (const [base, v] of store(plan, s.payloads).values) values.set(w.seq * 1_000_000 + base, v)
    applyCompaction(w, plan)
    assert.ok(isDeepStrictEqual(compactWorld(w, compactionPlan(w)), compacted), 'the writer\'s world now is what the checkpoint stored')
  }
  const line = (r: number, i: number) => `r${r} line ${i}\n`.length
  for (let round = 0; round < 5; round++) {
    let n = 0
    for (let i = 0; i < 70; i++) n += line(round, i)
    assert.equal(stored[round], n, `checkpoint ${round} stores round ${round}'s lines only`)
  }
  const node = w.nodes.get(w.names.get('/log') ?? -1)
  assert.equal(node?.content.extents.length, 5, 'one extent per checkpoint that compacted a part of it')
  assert.equal(w.compaction?.files.length, 5)
})

test('given long spans and any window, output place and alignment, then readCompacted copies exactly the stored bytes (8 at a time or not) and leaves the rest alone', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 200 })), { minLength: 1, maxLength: 12 }),
    fc.nat(), fc.nat(), fc.nat(7), fc.nat(7),
    (gaps, x, y, valueShift, outShift) => {
      // a file of spans separated by long zero holes (not stored)
      const s = new Script()
      s.add(1, open(3, '/f', O_RDWR | O_CREAT, true))
      let at = 0
      for (const [gap, len] of gaps) {
        at += gap + 200
        const data = Buffer.from(Array.from({ length: len }, (_, i) => (at + i * 7) % 256))
        s.add(1, write(3, data, at), data)
        at += len
      }
      const w = s.fold()
      const plan = compactionPlan(w, { ...DEFAULT_COMPACTION, minExtents: 1, inlineZeros: 100 })
      assert.equal(plan.items.length, 1)
      const { values } = store(plan, s.payloads)
      const value = values.get(plan.items[0].base) ?? new Uint8Array(0)
      const holder = new Uint8Array(value.length + 8)
      holder.set(value, valueShift)
      const c = parseCompacted(holder.subarray(valueShift, valueShift + value.length))
      assert.ok(c !== undefined)
      const file = Buffer.from(s.bytes(w, '/f') ?? [])
      const from = x % (file.length + 1)
      const to = from + (y % (file.length - from + 1))
      const out = Buffer.alloc(to - from + 16, 0xaa)
      const target = out.subarray(outShift, outShift + (to - from)).fill(0)
      readCompacted(c, from, to, target, 0)
      assert.deepEqual(Buffer.from(target), file.subarray(from, to))
      assert.ok(out.subarray(0, outShift).every((b) => b === 0xaa) && out.subarray(outShift + (to - from)).every((b) => b === 0xaa), 'nothing outside the window is written')
    },
  ), { numRuns: runs(300) })
})
