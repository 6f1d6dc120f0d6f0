// The background queue of close-after-write judgments, with a judge of our own (no clamd): coalescing,
// the barrier an exec/open waits on, the bound on waiting paths, draining, errors kept; and the
// serialized appender and the guard the recorder puts around them. test/scanner/background.test.ts
// runs the same with a real clamd.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Draft } from '../../src/events/index.js'
import type { Closed } from '../../src/scanner/closes.js'
import { Judgments, ReadGuard, SerialAppends } from '../../src/scanner/judgments.js'

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

test('given lazy and eager pushes, commits are serialized, in order, and lazy drafts ride along with the next eager commit', async () => {
  const commits: number[][] = []
  let inCommit = 0
  const a = new SerialAppends(async (drafts) => {
    inCommit++
    assert.equal(inCommit, 1, 'one commit at a time')
    await new Promise((r) => setTimeout(r, 5))
    commits.push(drafts.map((d) => Number(d.ts)))
    inCommit--
  }, 10_000)
  const lazy = a.push([draft(1)], true)
  await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(commits, [], 'a lazy push alone starts no commit')
  await Promise.all([lazy, a.push([draft(2), draft(3)]), a.push([draft(4)], true), a.push([draft(5)])])
  assert.deepEqual(commits.flat(), [1, 2, 3, 4, 5])
  assert.ok(commits.length <= 2, `drafts that queued up meanwhile went together: ${JSON.stringify(commits)}`)
  // hurry: a lazy push goes at once
  const before = commits.length
  await a.hurry(a.push([draft(6)], true))
  assert.equal(commits.length, before + 1)
})

test('given a lazy push and nothing else, it is committed after lazyMs; a failing commit rejects its pushes and the next goes on', async () => {
  let fail = true
  const done: number[] = []
  const a = new SerialAppends(async (drafts) => {
    if (fail) {
      fail = false
      throw new Error('disk full')
    }
    done.push(...drafts.map((d) => Number(d.ts)))
  }, 5)
  await assert.rejects(a.push([draft(1)], true), /disk full/)
  await a.push([draft(2)], true)
  assert.deepEqual(done, [2])
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
  const done: number[] = []
  const a = new SerialAppends(async (drafts) => {
    await new Promise((r) => setTimeout(r, 2))
    done.push(...drafts.map((d) => Number(d.ts)))
  }, 60_000)
  await a.flush()
  void a.push([draft(1)], true)
  void a.push([draft(2)], true)
  await a.flush()
  assert.deepEqual(done, [1, 2])
})
