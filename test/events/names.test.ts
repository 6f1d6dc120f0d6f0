// Names are bytes; events carry strings: the one rule between them (src/events/names.ts) is reversible
// for every byte string, keeps distinct names distinct, leaves UTF-8 names as they are, and only ever
// makes strings that UTF-8 (the journal, JSON lines, Kafka) stores unchanged.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { formatJsonLine, isCanonicalName, nameFromBytes, nameToBytes, parseJsonLine, type Event } from '../../src/events/index.js'
import { runs } from '../support/runs.js'

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Bytes near the edges of UTF-8: lone continuation bytes, truncated and overlong sequences,
 *  surrogates, the escape range's own UTF-8 (EE BE/BF xx), U+FFFD, 4-byte sequences. */
const arbNameBytes = fc.array(
  fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((b) => [b]),
    fc.integer({ min: 0x80, max: 0xff }).map((b) => [b]),
    fc.constantFrom([0xee, 0xbe, 0x80], [0xee, 0xbf, 0xbf], [0xef, 0xbf, 0xbd], [0xc3, 0xa9], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf0, 0x9f, 0x92, 0xa9], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]),
  ),
  { maxLength: 12 },
).map((parts) => Buffer.from(parts.flat()))

test('given any bytes, then nameToBytes(nameFromBytes(b)) gives them back, and the string is well-formed and canonical', () => {
  fc.assert(fc.property(fc.oneof(arbNameBytes, fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u))), (b) => {
    const s = nameFromBytes(b)
    assert.deepEqual(nameToBytes(s), b)
    assert.ok(!LONE_SURROGATE.test(s))
    assert.ok(isCanonicalName(s))
  }), { numRuns: runs(20_000) })
})

test('given two different byte strings, then their names differ (nothing collides as U+FFFD did)', () => {
  fc.assert(fc.property(arbNameBytes, arbNameBytes, (a, b) => {
    fc.pre(!a.equals(b))
    assert.notEqual(nameFromBytes(a), nameFromBytes(b))
  }), { numRuns: runs(20_000) })
})

test('given a UTF-8 name outside U+EF80..U+EFFF, then its name is its plain string', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
    fc.pre(!/[\uef80-\uefff]/.test(s) && !LONE_SURROGATE.test(s))
    assert.equal(nameFromBytes(Buffer.from(s, 'utf8')), s)
    assert.deepEqual(nameToBytes(s), Buffer.from(s, 'utf8'))
  }))
})

test('given the names that used to collide, then each has its own spelling', () => {
  const names = [
    [[0x6e, 0xff], 'n\uefff'], // not UTF-8
    [[0x6e, 0xfe], 'n\ueffe'],
    [[0x6e, 0xef, 0xbf, 0xbd], 'n\ufffd'], // U+FFFD itself, what 0xff used to become
    [[0x6e, 0xee, 0xbf, 0xbf], 'n\uefee\uefbf\uefbf'], // U+EFFF's UTF-8: its bytes, escaped, not U+EFFF
    [[0x63, 0x61, 0x66, 0xc3, 0xa9], 'café'],
    [[0x63, 0x61, 0x66, 0xe9], 'caf\uefe9'], // Latin-1 é
    [[0xed, 0xa0, 0x80], '\uefed\uefa0\uef80'], // a UTF-16 surrogate in UTF-8 (CESU): not UTF-8
  ] as const
  for (const [bytes, name] of names) {
    assert.equal(nameFromBytes(Buffer.from(bytes)), name)
    assert.deepEqual(nameToBytes(name), Buffer.from(bytes))
  }
})

test('given JSON lines, then a name with escaped bytes round-trips, and a spelling eyrie never makes is refused by field', () => {
  const path = `/w/${nameFromBytes(Buffer.from([0x6e, 0xff]))}`
  const e: Event = { guest: 'g', seq: 1, ts: 5n, pid: 1, tid: 1, kind: 'file.unlink', path }
  const back = parseJsonLine(formatJsonLine(e))
  assert.ok(E.isRight(back) && back.right.body.kind === 'file.unlink' && back.right.body.path === path)
  // U+EFC3 U+EFA9 are the bytes of "é", which is UTF-8: a second name for /w/café
  const bad = parseJsonLine('{"ts":"1","pid":1,"tid":1,"kind":"file.unlink","path":"/w/caf\\uefc3\\uefa9"}')
  assert.ok(E.isLeft(bad) && /^field path: U\+EF80\.\.U\+EFFF stand for bytes that are not UTF-8/.test(bad.left), JSON.stringify(bad))
})
