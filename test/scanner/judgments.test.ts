// The background queue of close-after-write judgments, with a judge of our own (no clamd): coalescing,
// the barrier an exec/open waits on, the bound on waiting paths, draining, errors kept; and the
// serialized appender and the guard the recorder puts around them. test/scanner/background.test.ts
// runs the same with a real clamd.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Draft } from '../../src/events/index.js'
import type { Closed } from '../../src/scanner/closes.js'
import { Judgments, ReadGuard, SerialAppends, type Appended } from '../../src/scanner/judgments.js'

const closed = (path: string, pid = 1): Closed => ({ path, pid, tid: pid })

/** A judge whose calls wait until the test lets them finish. */
const heldJudge = () => {
  const calls: Array<{ paths: string[]; release: () => void; fail: (e: unknown) => void }> = []
  const judge = (batch: readonly Closed[]) => new Promise<void>((release, fail) => calls.push({ paths: batch.map((c) => c.path), release, fail }))
  return { calls, judge }
}

const tick = () => new Promise((r) => setImmediate(r))

test('given paths queued twice before their judgment starts, each is judged once, naming its latest closer', async () => {
  const { calls, judge } = heldJudge()
  const q = new Judgments({ judge, workers: 1, batch: 10, lingerMs: 0 })
  await q.enqueue([closed('/a')]) // starts at once: the only worker is busy from here on
  await q.enqueue([closed('/b', 2), closed('/c'), closed('/b', 3)])
  await q.enqueue([closed('/c', 4)])
  assert.deepEqual(calls.map((c) => c.paths), [['/a']])
  assert.equal(q.waiting, 2)
  calls[0].release()
  await tick()
  assert.deepEqual(calls.map((c) => c.paths), [['/a'], ['/b', '/c']])
  assert.equal(q.stats.coalesced, 2)
  calls[1].release()
  await q.drain()
  assert.equal(q.stats.judged, 3)
})

test('given a path queued again while its judgment runs, it waits for that judgment and is judged again after it', async () => {
  const { calls, judge } = heldJudge()
  const q = new Judgments({ judge, workers: 2, lingerMs: 0 })
  await q.enqueue([closed('/a')])
  await q.enqueue([closed('/a')]) // new bytes may have come after the running judgment read them
  await tick()
  assert.equal(calls.length, 1, 'a free worker does not judge /a twice at once')
  calls[0].release()
  await tick()
  assert.deepEqual(calls.map((c) => c.paths), [['/a'], ['/a']])
  calls[1].release()
  await q.drain()
})

test('given a waiting path, settle starts its judgment at once (past the busy workers) and resolves when it is done; a path never queued settles at once', async () => {
  const { calls, judge } = heldJudge()
  const q = new Judgments({ judge, workers: 1, lingerMs: 0 })
  await q.enqueue([closed('/busy')])
  await q.enqueue([closed('/x'), closed('/y')])
  await q.settle('/never')
  let settled = false
  const s = q.settle('/y').then(() => (settled = true))
  await tick()
  assert.deepEqual(calls.map((c) => c.paths), [['/busy'], ['/y']], '/y went ahead of /x')
  assert.equal(settled, false)
  calls[1].release()
  await s
  assert.equal(q.stats.urgent, 1)
  // settle on a running path waits for it
  let busyDone = false
  const b = q.settle('/busy').then(() => (busyDone = true))
  await tick()
  assert.equal(busyDone, false)
  calls[0].release()
  await b
  await tick()
  calls[2].release() // /x
  await q.drain()
})

test('given a bound of 3, enqueue resolves only once at most 3 paths wait; nothing is dropped', async () => {
  const { calls, judge } = heldJudge()
  const q = new Judgments({ judge, workers: 1, bound: 3, batch: 2, lingerMs: 0 })
  await q.enqueue([closed('/0')])
  let room = false
  const r = q.enqueue(['/1', '/2', '/3', '/4', '/5', '/6'].map((p) => closed(p))).then(() => (room = true))
  await tick()
  assert.equal(room, false, '6 wait: the caller (the tracees) waits')
  assert.equal(q.stats.waited, 1)
  calls[0].release()
  await tick()
  assert.equal(q.waiting, 4)
  assert.equal(room, false)
  calls[1].release() // ['/1', '/2']
  await tick()
  assert.equal(q.waiting, 2)
  await r
  assert.equal(room, true)
  for (let i = 2; i < calls.length || q.busy > 0; i++) {
    await tick()
    calls[i]?.release()
  }
  await q.drain()
  assert.deepEqual(calls.flatMap((c) => c.paths).sort(), ['/0', '/1', '/2', '/3', '/4', '/5', '/6'])
  assert.ok(q.stats.peak >= 6)
})

test('given a judgment that throws, the error is kept and reported, the queue goes on, and settle and drain still resolve', async () => {
  const seen: string[] = []
  const q = new Judgments({
    judge: async (batch) => {
      if (batch.some((c) => c.path === '/bad')) throw new Error('boom')
    },
    workers: 2,
    batch: 1,
    lingerMs: 0,
    onError: (err, batch) => seen.push(`${batch[0].path}: ${(err as Error).message}`),
  })
  await q.enqueue([closed('/bad'), closed('/good')])
  await q.settle('/bad')
  await q.drain()
  assert.deepEqual(seen, ['/bad: boom'])
  assert.deepEqual(q.errors.map((e) => e.paths), [['/bad']])
  const sync = new Judgments({ judge: () => { throw new Error('sync') }, workers: 1, lingerMs: 0 })
  await sync.enqueue([closed('/s')])
  await sync.drain()
  assert.equal(sync.errors.length, 1)
})

test('given a batch smaller than full, it waits lingerMs for more closes, then goes as one; a full batch goes at once, and more workers start only for full batches', async () => {
  const { calls, judge } = heldJudge()
  const q = new Judgments({ judge, workers: 3, batch: 4, lingerMs: 40 })
  await q.enqueue([closed('/a'), closed('/b')])
  await q.enqueue([closed('/c')])
  await tick()
  assert.equal(calls.length, 0, 'lingering')
  await new Promise((r) => setTimeout(r, 60))
  assert.deepEqual(calls.map((c) => c.paths), [['/a', '/b', '/c']])
  await q.enqueue([closed('/d'), closed('/e')])
  await new Promise((r) => setTimeout(r, 60))
  assert.equal(calls.length, 1, 'a small batch does not start beside a running judgment')
  await q.enqueue([closed('/f'), closed('/g')])
  await tick()
  assert.deepEqual(calls.map((c) => c.paths), [['/a', '/b', '/c'], ['/d', '/e', '/f', '/g']], 'a full one does')
  calls[0].release()
  calls[1].release()
  await q.drain()
})

const draft = (n: number): Draft => ({ ts: BigInt(n), pid: 1, tid: 1, body: { kind: 'fd.close', fd: n } })

/** A journal's append in miniature: folds at once, visible after `visibleMs`, durable after `durableMs`
 *  (or failing, for the groups `fails` picks); records what it was given and what was visible when. */
const fakeAppend = (o: { visibleMs?: number; durableMs?: number; fails?: (group: number) => boolean } = {}) => {
  const groups: number[][] = []
  let visibleOpen = 0
  let maxVisibleOpen = 0
  const append = (drafts: Draft[]): Appended => {
    const n = groups.push(drafts.map((d) => Number(d.ts))) - 1
    visibleOpen++
    maxVisibleOpen = Math.max(maxVisibleOpen, visibleOpen)
    const visible = new Promise<void>((res) => setTimeout(res, o.visibleMs ?? 2)).then(() => {
      visibleOpen--
    })
    const committed = visible.then(() => new Promise<void>((res, rej) => setTimeout(() => (o.fails?.(n) === true ? rej(new Error('disk full')) : res()), o.durableMs ?? 5)))
    committed.catch(() => {})
    return { visible, committed }
  }
  return { groups, append, get maxVisibleOpen() { return maxVisibleOpen } }
}

test('given lazy and eager pushes, appends are serialized (the next once the last is visible), in order, and lazy drafts ride along with the next eager one', async () => {
  const j = fakeAppend()
  const a = new SerialAppends(j.append, { lazyMs: 10_000 })
  const lazy = a.push([draft(1)], true)
  await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(j.groups, [], 'a lazy push alone starts no append')
  await Promise.all([lazy, a.push([draft(2), draft(3)]), a.push([draft(4)], true), a.push([draft(5)])])
  assert.deepEqual(j.groups.flat(), [1, 2, 3, 4, 5])
  assert.ok(j.groups.length <= 2, `drafts that queued up meanwhile went together: ${JSON.stringify(j.groups)}`)
  assert.equal(j.maxVisibleOpen, 1, 'one append at a time until it is visible')
  // hurry: a lazy push goes at once
  const before = j.groups.length
  await a.hurry(a.push([draft(6)], true))
  assert.equal(j.groups.length, before + 1)
})

test('given pushNow, it resolves once the drafts are appended (in R(now)), before they are durable; push resolves only once they are', async () => {
  const j = fakeAppend({ visibleMs: 1, durableMs: 200 })
  const a = new SerialAppends(j.append)
  const t0 = performance.now()
  const { committed } = await a.pushNow([draft(1)])
  assert.deepEqual(j.groups, [[1]])
  assert.ok(performance.now() - t0 < 150, 'not held for the disk')
  let durable = false
  void committed.then(() => (durable = true))
  await a.visible()
  assert.equal(durable, false)
  await a.push([draft(2)])
  assert.equal(durable, true, 'commits complete in order')
})

test('given a lazy push and nothing else, it is appended after lazyMs; a failing commit rejects its pushes and the next goes on; an append that throws rejects its own', async () => {
  const j = fakeAppend({ fails: (g) => g === 0 })
  const a = new SerialAppends(j.append, { lazyMs: 5 })
  await assert.rejects(a.push([draft(1)], true), /disk full/)
  await a.push([draft(2)], true)
  assert.deepEqual(j.groups, [[1], [2]])
  const b = new SerialAppends(() => {
    throw new Error('bad draft')
  })
  await assert.rejects(b.push([draft(3)]), /bad draft/)
  await assert.rejects(b.pushNow([draft(4)]), /bad draft/)
})

test('given `after` (live retention), it runs between appends once the last is durable; its failure fails every later push', async () => {
  const j = fakeAppend()
  const order: string[] = []
  let fail = false
  const a = new SerialAppends((drafts) => {
    order.push(`append ${drafts.map((d) => Number(d.ts)).join(',')}`)
    const r = j.append(drafts)
    void r.committed.then(() => order.push('durable'))
    return r
  }, {
    after: async () => {
      order.push('after')
      if (fail) throw new Error('collect failed')
    },
  })
  await a.push([draft(1)])
  await a.push([draft(2)])
  await a.flush()
  assert.deepEqual(order, ['append 1', 'durable', 'after', 'append 2', 'durable', 'after'])
  fail = true
  await a.push([draft(3)])
  await a.flush()
  await assert.rejects(a.push([draft(4)]), /collect failed/)
})

test('given readers under way, an exclusive section waits for them and holds new readers back until it is done', async () => {
  const g = new ReadGuard()
  const order: string[] = []
  let endReader: () => void = () => {}
  const r1 = g.shared(() => new Promise<void>((res) => (endReader = res)).then(() => order.push('r1 done')))
  const w = g.exclusive(async () => {
    order.push('writer')
  })
  await tick()
  const r2 = g.shared(async () => {
    order.push('r2')
  })
  await tick()
  assert.deepEqual(order, [])
  endReader()
  await Promise.all([r1, w, r2])
  assert.deepEqual(order, ['r1 done', 'writer', 'r2'])
})

test('given lazy pushes waiting, flush commits them at once and resolves when they are; with nothing queued it resolves at once', async () => {
  const j = fakeAppend()
  const done: number[] = []
  const a = new SerialAppends((drafts) => {
    const r = j.append(drafts)
    void r.committed.then(() => done.push(...drafts.map((d) => Number(d.ts))))
    return r
  }, { lazyMs: 60_000 })
  await a.flush()
  void a.push([draft(1)], true)
  void a.push([draft(2)], true)
  await a.flush()
  assert.deepEqual(done, [1, 2])
})
