// A projection of your own over eyrie's events: which program wrote how many bytes.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { memoryCheckpoints, openLmdbJournal, replay, type Event } from 'eyrie'
import { arbStream, draftsOf, scenario } from 'eyrie/testing'

// 1. A pure fold: (state, event) -> state.
interface Written { exe: Map<number, string>; bytes: Map<string, number> }
const init = (): Written => ({ exe: new Map(), bytes: new Map() })
const evolve = (s: Written, e: Event): Written => {
  if (e.kind === 'proc.exec') s.exe.set(e.pid, e.path)
  if (e.kind === 'proc.spawn' && !e.thread) s.exe.set(e.child, s.exe.get(e.pid) ?? '?')
  if (e.kind === 'file.write') {
    const exe = s.exe.get(e.pid) ?? '?'
    s.bytes.set(exe, (s.bytes.get(exe) ?? 0) + e.len)
  }
  return s
}

// 2. An example test, as a given/when/then story ([name, run] fits test(...) of any runner).
const [name, run] = scenario({ init, evolve })
  .given('make running', (b) => b.exec(1, '/usr/bin/make').spawn(1, 2).exec(2, '/usr/bin/cc'))
  .when('cc writes an object file', (b) => b.open(2, 3, '/w/a.o').write(2, 3, 'ELF...'))
  .then('cc is charged 6 bytes and make none', (s) => {
    assert.equal(s.bytes.get('/usr/bin/cc'), 6)
    assert.equal(s.bytes.get('/usr/bin/make'), undefined)
  })
await run()
console.log(`ok: ${name}`)

// 3. A property over any valid stream (fd lifetimes, fork trees, writes to open fds): nothing is lost.
await fc.assert(fc.asyncProperty(arbStream(), async (stream) => {
  const { state } = await replay({ journal: stream.events, init, evolve })
  const written = stream.events.reduce((n, e) => n + (e.kind === 'file.write' ? e.len : 0), 0)
  assert.equal([...state.bytes.values()].reduce((a, b) => a + b, 0), written)
}))
console.log('ok: every byte written is charged to some program')

// 4. The same fold over a journal on disk, up to a time T, with checkpoints of its own.
const dir = await mkdtemp(join(tmpdir(), 'eyrie-example-'))
const journal = await openLmdbJournal(dir)
try {
  const [stream] = fc.sample(arbStream({ minActions: 200, maxActions: 200 }), { numRuns: 1, seed: 1 })
  await journal.append('demo', draftsOf(stream.events, stream.payloads)).committed
  const checkpoint = { name: 'bytes-per-program/v1', every: 50, store: memoryCheckpoints() }
  const half = await replay({ journal, guest: 'demo', upTo: stream.events.length >> 1, init, evolve, checkpoint })
  const end = await replay({ journal, guest: 'demo', upTo: 'end', init, evolve, checkpoint })
  console.log(`at #${half.seq}: ${JSON.stringify([...half.state.bytes])}`)
  console.log(`at #${end.seq}, from checkpoint #${end.from}: ${JSON.stringify([...end.state.bytes])}`)
} finally {
  await journal.close()
  await rm(dir, { recursive: true, force: true })
}
