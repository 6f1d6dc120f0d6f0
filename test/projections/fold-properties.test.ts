// Properties of the fold itself: chunking, checkpoints and replays do not change answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { O_APPEND, O_CREAT, O_RDWR, O_TRUNC } from '../../src/events/index.js'
import { decodeWorld, emptyWorld, encodeWorld, evolve, fds, ls, ps, type World } from '../../src/projections/index.js'
import { Script, open, write } from '../support/events.js'
import { runs } from '../support/runs.js'

/** A random but plausible stream: a few processes forking, opening, writing, renaming, exiting. */
const streamArb = fc.array(
  fc.tuple(fc.nat(4), fc.nat(9), fc.nat(3), fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat(50)),
  { maxLength: 120 },
).map((steps) => {
  const s = new Script()
  const pids = [100]
  for (const [p, op, x, data, n] of steps) {
    const pid = pids[p % pids.length]
    const path = `/d/f${x}`
    switch (op) {
      case 0: s.add(pid, open(3 + x, path, O_RDWR | O_CREAT | (n % 2 ? O_TRUNC : 0) | (n % 3 ? 0 : O_APPEND))); break
      case 1: s.add(pid, write(3 + x, data), data); break
      case 2: s.add(pid, write(3 + x, data, n), data); break
      case 3: s.add(pid, { kind: 'fd.close', fd: 3 + x }); break
      case 4: { const child = 100 + pids.length; pids.push(child); s.add(pid, { kind: 'proc.spawn', child, thread: false, shareFiles: n % 5 === 0 }); break }
      case 5: s.add(pid, { kind: 'file.rename', from: path, to: `/d/f${(x + 1) % 4}`, flags: 0 }); break
      case 6: s.add(pid, { kind: 'file.truncate', fd: 3 + x, path: null, size: n }); break
      case 7: s.add(pid, { kind: 'fd.dup', fd: 3 + x, newFd: 3 + ((x + 1) % 4), cloexec: false }); break
      case 8: s.add(pid, { kind: 'file.unlink', path }); break
      default: s.add(pid, { kind: 'proc.exec', path: '/bin/x', argv: ['x'] })
    }
  }
  return s
})

const answers = (w: World) => JSON.stringify({ ls: ls(w), fds: fds(w), ps: ps(w), seq: w.seq, anomalies: w.anomalies })

test('given any stream, folding it in arbitrary chunks equals folding it in one go', () => {
  fc.assert(fc.property(streamArb, fc.array(fc.nat(), { maxLength: 5 }), (s, cuts) => {
    const whole = s.fold()
    const w = emptyWorld()
    const points = [...new Set(cuts.map((c) => c % (s.events.length + 1)))].sort((a, b) => a - b)
    let at = 0
    for (const p of [...points, s.events.length]) {
      for (const e of s.events.slice(at, p)) evolve(w, e)
      at = p
    }
    assert.equal(answers(w), answers(whole))
  }), { numRuns: runs(200) })
})

test('given any stream, a checkpoint at any seq plus the tail equals the full fold', () => {
  fc.assert(fc.property(streamArb, fc.nat(), (s, k) => {
    const cut = k % (s.events.length + 1)
    const restored = decodeWorld(encodeWorld(s.fold(cut)))
    assert.equal(answers(s.fold(s.events.length, restored)), answers(s.fold()))
  }), { numRuns: runs(200) })
})

test('given the same stream replayed twice, the answers and the checkpoint bytes are identical', () => {
  fc.assert(fc.property(streamArb, (s) => {
    assert.equal(answers(s.fold()), answers(s.fold()))
    assert.deepEqual(encodeWorld(s.fold()), encodeWorld(s.fold()))
  }), { numRuns: runs(100) })
})
