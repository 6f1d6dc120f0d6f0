// The behaviour every Journal back end owes its callers. A back end's test file calls
// testJournal(name, factory); the factory gives a fresh, empty journal, a way to open the same
// storage again after close (reopen), and cleanup.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { hasPayload, type Body, type Draft, type Event } from '../../src/events/index.js'
import type { Journal } from '../../src/journal/journal.js'
import { JournalError } from '../../src/journal/errors.js'
import { arbTimedDrafts } from '../support/arbitraries.js'
import { runs } from '../support/runs.js'

export interface JournalUnderTest {
  readonly journal: Journal
  /** Opens the same storage again; called only after journal.close(). */
  reopen(): Promise<Journal>
  cleanup(): Promise<void>
}

export type JournalFactory = () => Promise<JournalUnderTest>

const seek = (ts: bigint, fd: number, pos: number): Draft => ({ ts, pid: 100, tid: 101, body: { kind: 'fd.seek', fd, pos } })
const write = (ts: bigint, text: string, len = text.length): Draft => ({
  ts, pid: 100, tid: 100, body: { kind: 'file.write', fd: 3, offset: null, len, known: Buffer.byteLength(text) }, data: Buffer.from(text),
})

const readAll = async (j: Journal, guest: string, from = 1, to = Number.MAX_SAFE_INTEGER): Promise<Event[][]> => {
  const batches: Event[][] = []
  for await (const batch of j.read(guest, from, to)) batches.push([...batch])
  return batches
}
const events = async (j: Journal, guest: string, from?: number, to?: number): Promise<Event[]> => (await readAll(j, guest, from, to)).flat()
const seqs = (es: readonly Event[]): number[] => es.map((e) => e.seq)
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i)
const asEvent = (guest: string, seq: number, d: Draft): Event => ({ ...d.body, guest, seq, ts: d.ts, pid: d.pid, tid: d.tid })

/** Runs `body` on a fresh journal and always cleans up. */
const withJournal = (factory: JournalFactory, body: (j: Journal, sut: JournalUnderTest) => Promise<void>) => async (): Promise<void> => {
  const sut = await factory()
  try {
    await body(sut.journal, sut)
  } finally {
    await sut.cleanup()
  }
}

export const testJournal = (name: string, factory: JournalFactory): void => {
  describe(`${name}: Journal conformance`, () => {
    test('given arbitrary drafts with payloads, when appended and read back, then every event and every known byte round-trips', withJournal(factory, async (j) => {
      let run = 0
      await fc.assert(
        fc.asyncProperty(arbTimedDrafts({ maxLength: 30 }), async (drafts) => {
          const guest = `guest-${run++}`
          const r = j.append(guest, drafts)
          await r.committed
          assert.deepEqual({ first: r.first, last: r.last }, { first: 1, last: drafts.length })
          assert.deepEqual(await events(j, guest), drafts.map((d, i) => asEvent(guest, i + 1, d)))
          for (const [i, d] of drafts.entries()) {
            if (hasPayload(d.body)) assert.ok(Buffer.from(await j.payload(guest, i + 1)).equals(Buffer.from(d.data ?? [])), `payload of seq ${i + 1}`)
          }
        }),
        { numRuns: runs(40) },
      )
    }))

    test('given large payloads appended batch after batch, when read back, then every byte is the one written', withJournal(factory, async (j) => {
      // Large enough for any buffer recycling or chunking a back end does; distinct content per event.
      const sizes = [64 * 1024 - 4, 64 * 1024, 300 * 1024, 1024 * 1024 + 1]
      const blob = (seq: number, size: number): Buffer => Buffer.alloc(size, `seq ${seq} of size ${size};`)
      let seq = 0
      for (let batch = 0; batch < 6; batch++) {
        const drafts = sizes.map((size) => {
          const data = blob(++seq, size)
          return { ts: BigInt(seq), pid: 1, tid: 1, body: { kind: 'file.write' as const, fd: 3, offset: null, len: size, known: size }, data }
        })
        await j.append('g', drafts).committed
      }
      for (let s = 1; s <= seq; s++) {
        const size = sizes[(s - 1) % sizes.length]
        assert.ok(Buffer.from(await j.payload('g', s)).equals(blob(s, size)), `payload of seq ${s}`)
      }
      if (j.payloads !== undefined) {
        const wanted = [seq, 1, 2, 2]
        const got = await j.payloads('g', wanted)
        wanted.forEach((s, i) => assert.ok(Buffer.from(got[i]).equals(blob(s, sizes[(s - 1) % sizes.length])), `payloads() entry ${i} (seq ${s})`))
      }
      assert.equal((await j.guests())[0].payloadBytes, 6 * sizes.reduce((a, b) => a + b, 0))
    }))

    test('given several appends, when their results are compared, then seqs are dense from 1 and each batch continues the last', withJournal(factory, async (j) => {
      const sizes = [1, 5, 0, 17, 3]
      let expected = 1
      for (const n of sizes) {
        const r = j.append('g', Array.from({ length: n }, (_, i) => seek(BigInt(expected + i), 3, i)))
        assert.deepEqual({ first: r.first, last: r.last }, { first: expected, last: expected + n - 1 })
        expected += n
        await r.committed
      }
      assert.deepEqual(seqs(await events(j, 'g')), range(1, 26))
    }))

    test('given two guests appended in turns, when each is read, then each has its own seqs from 1 and only its own events', withJournal(factory, async (j) => {
      for (let i = 0; i < 10; i++) {
        j.append('alpha', [seek(BigInt(i), 1, i)])
        j.append('beta', [seek(BigInt(i), 2, i), seek(BigInt(i), 2, i + 100)])
      }
      await j.flush()
      const a = await events(j, 'alpha')
      const b = await events(j, 'beta')
      assert.deepEqual(seqs(a), range(1, 10))
      assert.deepEqual(seqs(b), range(1, 20))
      assert.ok(a.every((e) => e.guest === 'alpha' && e.kind === 'fd.seek' && e.fd === 1))
      assert.ok(b.every((e) => e.guest === 'beta' && e.kind === 'fd.seek' && e.fd === 2))
      assert.deepEqual(await events(j, 'gamma'), [])
    }))

    test('given events at ts 10, 20, 20, 30, when asked for the seq at a time, then it is the highest seq at or before it', withJournal(factory, async (j) => {
      await j.append('g', [seek(10n, 3, 0), seek(20n, 3, 1), seek(20n, 3, 2), seek(30n, 3, 3)]).committed
      const cases: Array<[bigint, number]> = [[0n, 0], [9n, 0], [10n, 1], [15n, 1], [20n, 3], [25n, 3], [30n, 4], [1n << 63n, 4]]
      for (const [ts, seq] of cases) assert.equal(await j.seqAt('g', ts), seq, `seqAt(${ts})`)
      assert.equal(await j.seqAt('nobody', 10n), 0)
    }))

    test('given non-decreasing timestamps, when asked for the seq at any time, then it counts the events at or before it', withJournal(factory, async (j) => {
      let run = 0
      await fc.assert(
        fc.asyncProperty(arbTimedDrafts({ maxLength: 60 }), fc.array(fc.bigInt({ min: 0n, max: 1n << 62n }), { maxLength: 5 }), async (drafts, probes) => {
          const guest = `t-${run++}`
          await j.append(guest, drafts).committed
          for (const ts of [...probes, ...drafts.map((d) => d.ts), ...drafts.map((d) => d.ts - 1n)]) {
            assert.equal(await j.seqAt(guest, ts), drafts.filter((d) => d.ts <= ts).length, `seqAt(${ts})`)
          }
        }),
        { numRuns: runs(30) },
      )
    }))

    test('given appends, when lastSeq is asked, then it is 0 for an unknown guest and the last committed seq otherwise', withJournal(factory, async (j) => {
      assert.equal(await j.lastSeq('g'), 0)
      await j.append('g', [seek(1n, 3, 0), seek(2n, 3, 1)]).committed
      assert.equal(await j.lastSeq('g'), 2)
      await j.append('g', [seek(3n, 3, 2)]).committed
      assert.equal(await j.lastSeq('g'), 3)
      assert.equal(await j.lastSeq('other'), 0)
    }))

    test('given two guests with events, payloads and meta, when guests() is asked, then each reports its count, first/last ts, payload bytes and meta', withJournal(factory, async (j) => {
      assert.deepEqual(await j.guests(), [])
      j.append('web', [seek(5n, 3, 0), write(7n, 'hello', 9)])
      j.append('db', [write(11n, 'xyz'), write(12n, '', 4)])
      j.append('web', [seek(9n, 3, 1)])
      await j.setMeta('web', { host: 'h1', cmd: 'nginx' })
      await j.setMeta('web', { cmd: 'nginx -g daemon' })
      await j.flush()
      const info = [...(await j.guests())].sort((a, b) => a.guest.localeCompare(b.guest))
      assert.deepEqual(info, [
        { guest: 'db', events: 2, firstTs: 11n, lastTs: 12n, payloadBytes: 3, meta: {} },
        { guest: 'web', events: 3, firstTs: 5n, lastTs: 9n, payloadBytes: 5, meta: { host: 'h1', cmd: 'nginx -g daemon' } },
      ])
    }))

    test('given checkpoints at 10, 20 and 30, when asked at or before a seq, then the newest one not after it comes back', withJournal(factory, async (j) => {
      await j.append('g', Array.from({ length: 40 }, (_, i) => seek(BigInt(i), 3, i))).committed
      for (const seq of [10, 20, 30]) await j.putCheckpoint('g', seq, Buffer.from(`state@${seq}`))
      const at = async (seq: number): Promise<string | undefined> => {
        const cp = await j.checkpointAtOrBefore('g', seq)
        return cp === undefined ? undefined : `${cp.seq}:${Buffer.from(cp.state).toString()}`
      }
      assert.equal(await at(9), undefined)
      assert.equal(await at(10), '10:state@10')
      assert.equal(await at(25), '20:state@20')
      assert.equal(await at(30), '30:state@30')
      assert.equal(await at(1000), '30:state@30')
      assert.equal(await j.checkpointAtOrBefore('other', 1000), undefined)
    }))

    test('given 2500 events, when ranges are read, then they arrive in several batches, exactly the asked range and in order', withJournal(factory, async (j) => {
      const n = 2500
      await j.append('g', Array.from({ length: n }, (_, i) => seek(BigInt(i), 3, i))).committed
      const batches = await readAll(j, 'g', 1, n)
      assert.ok(batches.length > 1, `${batches.length} batch(es)`)
      assert.ok(batches.every((b) => b.length > 0))
      assert.deepEqual(seqs(batches.flat()), range(1, n))
      assert.deepEqual(seqs(await events(j, 'g', 100, 2000)), range(100, 2000))
      assert.deepEqual(seqs(await events(j, 'g', 2400, 9999)), range(2400, n))
      assert.deepEqual(seqs(await events(j, 'g', 0, 3)), [1, 2, 3])
      assert.deepEqual(seqs(await events(j, 'g', 7, 7)), [7])
      assert.deepEqual(await events(j, 'g', 9, 8), [])
      assert.deepEqual(await events(j, 'g', n + 1, n + 10), [])
    }))

    test('given a reader that stops early, when it breaks out of the batches, then the journal keeps working', withJournal(factory, async (j) => {
      await j.append('g', Array.from({ length: 3000 }, (_, i) => seek(BigInt(i), 3, i))).committed
      for await (const batch of j.read('g', 1, 3000)) {
        assert.equal(batch[0].seq, 1)
        break
      }
      await j.append('g', [seek(9999n, 3, 0)]).committed
      assert.equal(await j.lastSeq('g'), 3001)
    }))

    test('given many callers appending concurrently, when their batches commit, then seqs follow the order of the calls', withJournal(factory, async (j) => {
      const calls: Array<{ caller: number; first: number; last: number; n: number }> = []
      const caller = async (id: number): Promise<void> => {
        for (let round = 0; round < 5; round++) {
          await new Promise((resolve) => setImmediate(resolve))
          const n = 1 + ((id * 7 + round) % 4)
          const r = j.append('g', Array.from({ length: n }, (_, i) => seek(BigInt(calls.length), id, round * 10 + i)))
          calls.push({ caller: id, first: r.first, last: r.last, n })
          await (id % 2 === 0 ? r.committed : Promise.resolve())
        }
      }
      await Promise.all(Array.from({ length: 12 }, (_, id) => caller(id)))
      await j.flush()
      let next = 1
      for (const c of calls) {
        assert.deepEqual([c.first, c.last], [next, next + c.n - 1], 'each call takes the seqs right after the previous call')
        next += c.n
      }
      const all = await events(j, 'g')
      assert.equal(all.length, next - 1)
      for (const c of calls) {
        const mine = all.slice(c.first - 1, c.last)
        assert.ok(mine.every((e) => e.kind === 'fd.seek' && e.fd === c.caller), `seqs ${c.first}..${c.last} belong to caller ${c.caller}`)
      }
    }))

    test('given a draft whose data does not match known, when appended, then it is refused and no seq is spent', withJournal(factory, async (j) => {
      await j.append('g', [seek(1n, 3, 0)]).committed
      const bad: Body = { kind: 'file.write', fd: 3, offset: 0, len: 10, known: 4 }
      assert.throws(() => j.append('g', [seek(2n, 3, 1), { ts: 3n, pid: 1, tid: 1, body: bad, data: Buffer.from('abc') }]), (e: unknown) => e instanceof JournalError && e.code === 'USAGE')
      const r = j.append('g', [seek(4n, 3, 2)])
      assert.equal(r.first, 2)
      await r.committed
      assert.deepEqual(seqs(await events(j, 'g')), [1, 2])
    }))

    test('given a closed journal, when the same storage is opened again, then events, payloads, guests, checkpoints and the next seq are kept', withJournal(factory, async (j, sut) => {
      j.append('g', [seek(1n, 3, 0), write(2n, 'persisted')])
      j.append('h', [seek(3n, 4, 0)])
      await j.setMeta('g', { k: 'v' })
      await j.putCheckpoint('g', 2, Buffer.from('cp'))
      await j.close()
      const again = await sut.reopen()
      try {
        assert.deepEqual(seqs(await events(again, 'g')), [1, 2])
        assert.equal(Buffer.from(await again.payload('g', 2)).toString(), 'persisted')
        assert.deepEqual((await again.guests()).map((g) => [g.guest, g.events, g.meta]).sort(), [['g', 2, { k: 'v' }], ['h', 1, {}]])
        assert.equal((await again.checkpointAtOrBefore('g', 5))?.seq, 2)
        const r = again.append('g', [seek(4n, 3, 1)])
        assert.equal(r.first, 3)
        await r.committed
        assert.equal(await again.seqAt('g', 4n), 3)
      } finally {
        await again.close()
      }
    }))
  })
}
