// The public library: generated streams are valid (the core fold takes them with zero anomalies and
// agrees with the generator's model), replay folds a user's projection over arrays and journals with
// checkpoints that change nothing but speed, and the given/when/then helper reports failures.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import fc from 'fast-check'
import { emptyWorld, encodeWorld, evolve, fds, memoryCheckpoints, O_APPEND, O_TRUNC, openLmdbJournal, replay, ReplayError, type Event, type World } from '../../src/index.js'
import { arbStream, draftsOf, interpret, scenario, type GeneratedStream } from '../../src/testing/index.js'
import { tempDir } from '../support/e2e.js'
import { runs } from '../support/runs.js'

const RUNS = Number(process.env.EYRIE_PROPERTY_RUNS ?? 150)

const foldAll = (events: readonly Event[], upTo = events.length): World => {
  const w = emptyWorld()
  for (const e of events.slice(0, upTo)) evolve(w, e)
  return w
}

/** The bytes the core world says a path holds, read from the stream's payloads (no unknown allowed). */
const bytes = (s: GeneratedStream, w: World, path: string): Uint8Array => {
  const id = w.names.get(path)
  const node = id === undefined ? undefined : w.nodes.get(id)
  assert.ok(node !== undefined && node.content.size !== null, `${path} is known`)
  const out = new Uint8Array(node.content.size)
  let covered = 0
  for (const x of node.content.extents) {
    covered += x.end - x.start
    if (x.seq === 0) continue
    const data = s.payloads.get(x.seq)
    assert.ok(data !== undefined, `payload #${x.seq}`)
    out.set(data.subarray(x.off, x.off + (x.end - x.start)), x.start)
  }
  assert.equal(covered, node.content.size, `${path}: no unknown bytes`)
  return out
}

test('given any generated stream, when the core projections fold it, then there are zero anomalies, every file holds the model\'s bytes and every fd table is the model\'s', () => {
  fc.assert(
    fc.property(arbStream(), (s) => {
      const w = foldAll(s.events)
      assert.equal(w.anomalies, 0)
      const files = [...w.names].filter(([, id]) => w.nodes.get(id)?.type === 'file').map(([p]) => p).sort()
      assert.deepEqual(files, [...s.files.keys()].sort())
      for (const [path, expected] of s.files) assert.deepEqual(bytes(s, w, path), expected, path)
      const got = new Map<number, Map<number, string>>()
      for (const r of fds(w)) got.set(r.pid, (got.get(r.pid) ?? new Map()).set(r.fd, r.path))
      for (const [pid, table] of s.fds) assert.deepEqual(got.get(pid) ?? new Map(), table, `fds of ${pid}`)
      assert.deepEqual([...got.keys()].sort(), [...s.fds].filter(([, t]) => t.size > 0).map(([p]) => p).sort())
    }),
    { numRuns: runs(RUNS) },
  )
})

test('given a file unlinked while open and its name made again, when the new file is renamed, then the model, as the fold, keeps the old description on the old name', () => {
  // found by the property above (seed 1989639401): the model moved every description on the name
  const data = new Uint8Array([1])
  const s = interpret([
    { op: 'open', a: 0, b: 0, c: 1, data }, // fd 3 on a new /w/f1
    { op: 'unlink', a: 0, b: 0, c: 0, data },
    { op: 'open', a: 0, b: 0, c: 1, data }, // fd 4 on another new /w/f1
    { op: 'rename', a: 0, b: 0, c: 0, data }, // /w/f1 -> /w/f0
  ])
  assert.deepEqual([...(s.fds.get(1000) ?? [])], [[3, '/w/f1'], [4, '/w/f0']])
  const w = foldAll(s.events)
  assert.deepEqual(fds(w).map((r) => [r.fd, r.path]), [[3, '/w/f1'], [4, '/w/f0']])
})

test('given generated streams, they use what a recorder sees: forks, threads, exec, renames, links, dups, reads, seeks, pwrites, O_APPEND and O_TRUNC opens all occur', () => {
  const kinds = new Set<string>()
  const samples = fc.sample(arbStream({ minActions: 40 }), { numRuns: 30, seed: 7 })
  for (const s of samples) {
    for (const e of s.events) {
      kinds.add(e.kind === 'proc.spawn' && e.thread ? 'thread' : e.kind)
      if (e.kind === 'fd.open' && (e.flags & O_APPEND) !== 0) kinds.add('O_APPEND')
      if (e.kind === 'fd.open' && (e.flags & O_TRUNC) !== 0) kinds.add('O_TRUNC')
      if (e.kind === 'file.write' && e.offset !== null) kinds.add('pwrite')
    }
  }
  for (const k of ['proc.spawn', 'thread', 'proc.exec', 'proc.exit', 'fd.open', 'fd.dup', 'fd.close', 'file.write', 'file.rename', 'file.unlink', 'file.link', 'file.truncate', 'fd.read', 'fd.seek', 'O_APPEND', 'O_TRUNC', 'pwrite']) assert.ok(kinds.has(k), k)
})

/** A user's projection: bytes written per program, and a count of events. Pure. */
interface Written { readonly exe: Map<number, string>; readonly bytes: Map<string, number>; events: number }
const written = {
  init: (): Written => ({ exe: new Map(), bytes: new Map(), events: 0 }),
  evolve: (s: Written, e: Event): Written => {
    s.events++
    if (e.kind === 'proc.exec') s.exe.set(e.pid, e.path)
    if (e.kind === 'proc.spawn' && !e.thread) s.exe.set(e.child, s.exe.get(e.pid) ?? '?')
    if (e.kind === 'file.write') {
      const exe = s.exe.get(e.pid) ?? '?'
      s.bytes.set(exe, (s.bytes.get(exe) ?? 0) + e.len)
    }
    return s
  },
}

test('given any stream and any cut, replay with checkpoints up to the cut equals one plain fold, and a second replay starts from a checkpoint', async () => {
  await fc.assert(
    fc.asyncProperty(arbStream({ minActions: 5 }), fc.nat(), fc.integer({ min: 1, max: 7 }), async (s, cutAt, every) => {
      const cut = cutAt % (s.events.length + 1)
      const plain = s.events.slice(0, cut).reduce(written.evolve, written.init())
      const store = memoryCheckpoints()
      const checkpoint = { name: 'written/v1', every, store }
      const first = await replay({ journal: s.events, upTo: cut, ...written, checkpoint })
      assert.deepEqual(first.state, plain)
      assert.equal(first.seq, cut)
      const again = await replay({ journal: s.events, upTo: cut, ...written, checkpoint })
      assert.deepEqual(again.state, plain)
      if (cut >= every) assert.ok(again.from > 0 && again.events < cut, 'the second replay used a checkpoint')
      // another projection name never sees these checkpoints
      assert.equal((await replay({ journal: s.events, upTo: cut, ...written, checkpoint: { ...checkpoint, name: 'written/v2' } })).from, 0)
    }),
    { numRuns: runs(Math.ceil(RUNS / 3)) },
  )
})

test('given a stream in an LMDB journal, replay of the core evolve at #k gives the world worldAt would, and T strings work', async () => {
  const [s] = fc.sample(arbStream({ minActions: 60, maxActions: 80 }), { numRuns: 1, seed: 42 })
  const dir = await tempDir('replay')
  const j = await openLmdbJournal(dir, { noSync: true })
  try {
    await j.append('g', draftsOf(s.events, s.payloads)).committed
    const k = Math.floor(s.events.length / 2)
    const r = await replay({ journal: j, guest: 'g', upTo: `#${k}`, init: emptyWorld, evolve })
    assert.deepEqual(encodeWorld(r.state), encodeWorld(foldAll(s.events.map((e) => ({ ...e, guest: 'g' })), k)))
    const end = await replay({ journal: j, guest: 'g', init: written.init, evolve: written.evolve })
    assert.equal(end.state.events, s.events.length)
    const byTime = await replay({ journal: j, guest: 'g', upTo: s.events[k - 1].ts.toString(), init: written.init, evolve: written.evolve })
    assert.equal(byTime.seq, k)
    await assert.rejects(replay({ journal: j, upTo: 'end', init: written.init, evolve: written.evolve }), /needs a guest/)
  } finally {
    await j.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('given an evolve that throws, replay names the guest and seq and keeps the cause', async () => {
  const [s] = fc.sample(arbStream({ minActions: 10 }), { numRuns: 1, seed: 3 })
  const boom = new Error('boom')
  await assert.rejects(
    replay({ journal: s.events, init: () => 0, evolve: (n, e) => { if (e.seq === 2) throw boom; return n + 1 } }),
    (err: unknown) => err instanceof ReplayError && err.where.seq === 2 && err.cause === boom && /guest=generated seq=2/.test(err.message),
  )
})

const story = scenario({ init: emptyWorld, evolve })

test(...story
  .given('a process with /w/a open for writing', (b) => b.mkdir(1, '/w').open(1, 3, '/w/a', 0o101, true).write(1, 3, 'hello'))
  .when('it forks and the child closes fd 3', (b) => b.spawn(1, 2).close(2, 3))
  .then('the parent still writes through fd 3, and the file had hello before', (w, o) => {
    assert.deepEqual(fds(w, 1).map((r) => r.fd), [3])
    assert.deepEqual(fds(w, 2), [])
    assert.deepEqual(o.bytes(o.before, '/w/a'), new TextEncoder().encode('hello'))
    assert.equal(o.events.length - o.whenFrom, 2)
  }))

test('given a then-check that fails, the scenario run rejects with the assertion, so a runner reports it', async () => {
  const [name, run] = story.given('nothing', () => {}).when('nothing happens', () => {}).then('a file appears', (w) => assert.ok(w.names.has('/x')))
  assert.equal(name, 'given nothing, when nothing happens, then a file appears')
  await assert.rejects(run(), assert.AssertionError)
})

