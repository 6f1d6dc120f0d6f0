import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as E from 'fp-ts/lib/Either.js'
import { parseTimeRef } from '../../src/engine/timeref.js'

const ok = (s: string) => {
  const r = parseTimeRef(s)
  assert.ok(E.isRight(r), `${s}: ${E.isLeft(r) ? r.left : ''}`)
  return r.right
}

test('given the time forms of the CLI, each parses to what it means', () => {
  assert.deepEqual(ok('end'), { kind: 'end' })
  assert.deepEqual(ok('#42'), { kind: 'seq', seq: 42 })
  assert.deepEqual(ok('1732370000123456789'), { kind: 'ts', ts: 1732370000123456789n })
  assert.deepEqual(ok('2024-11-23T14:33:20.123456789Z'), { kind: 'ts', ts: 1732372400123456789n })
  assert.deepEqual(ok('2024-11-23T15:33:20.5+01:00'), { kind: 'ts', ts: 1732372400500000000n })
  assert.deepEqual(ok('+1.5s'), { kind: 'offset', nanos: 1_500_000_000n })
  assert.deepEqual(ok('+250ms'), { kind: 'offset', nanos: 250_000_000n })
})

test('given nonsense, parsing says what forms are accepted', () => {
  for (const s of ['yesterday', '#', '#-1', '+soon', '2024-13-45T99:00:00Z']) {
    const r = parseTimeRef(s)
    assert.ok(E.isLeft(r), s)
  }
  const r = parseTimeRef('yesterday')
  assert.ok(E.isLeft(r) && /#SEQ/.test(r.left))
})
