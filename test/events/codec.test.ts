// Properties of the two event forms (binary for the journal, JSON lines for import/export).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { Packr } from 'msgpackr'
import {
  decodeBinary, decodeBody, decodeEvent, encodeBody, formatJsonLine, hasPayload, KINDS, parseJsonLine, withEnvelope,
  type Body, type Draft, type Event,
} from '../../src/events/index.js'
import { arbBody, arbDraft, bodyArbitraries } from '../support/arbitraries.js'
import { runs } from '../support/runs.js'

const eventOf = (guest: string, seq: number, d: Draft): Event => ({ ...d.body, guest, seq, ts: d.ts, pid: d.pid, tid: d.tid })
const bytesOf = (d: Draft): Buffer | undefined => (hasPayload(d.body) ? Buffer.from(d.data ?? new Uint8Array(0)) : undefined)
const fieldsOf = (b: Body): Array<[string, unknown]> => Object.entries(b).filter(([k]) => k !== 'kind')

test('given any valid draft, when its body is encoded to binary and decoded, then the same event comes back', () => {
  fc.assert(
    fc.property(arbDraft, fc.string({ minLength: 1 }), fc.nat(), (d, guest, seq) => {
      const decoded = decodeBinary(guest, seq, encodeBody(d.ts, d.pid, d.tid, d.body))
      assert.deepEqual(decoded, E.right(eventOf(guest, seq, d)))
    }),
    { numRuns: runs(500) },
  )
})

test('given every kind, when an arbitrary body of it round-trips through binary, then it decodes (no kind is left out)', () => {
  for (const kind of KINDS) {
    const arb: fc.Arbitrary<Body> = bodyArbitraries[kind]
    const [body] = fc.sample(arb, { numRuns: 1, seed: 42 })
    const decoded = decodeBinary('g', 1, encodeBody(1n, 2, 3, body))
    assert.ok(E.isRight(decoded), `${kind}: ${E.isLeft(decoded) ? decoded.left : ''}`)
  }
  assert.deepEqual(Object.keys(bodyArbitraries).sort(), [...KINDS].sort())
})

test('given any valid draft, when it is written as a JSON line and parsed, then the same draft comes back', () => {
  fc.assert(
    fc.property(arbDraft, fc.string({ minLength: 1 }), fc.nat(), (d, guest, seq) => {
      const parsed = parseJsonLine(formatJsonLine(eventOf(guest, seq, d), bytesOf(d)))
      assert.ok(E.isRight(parsed), E.isLeft(parsed) ? parsed.left : '')
      const back = parsed.right
      assert.deepEqual({ ts: back.ts, pid: back.pid, tid: back.tid, body: back.body }, { ts: d.ts, pid: d.pid, tid: d.tid, body: d.body })
      assert.deepEqual(back.data === undefined ? undefined : Buffer.from(back.data), bytesOf(d))
    }),
    { numRuns: runs(500) },
  )
})

test('given a kind name that does not exist, when a body is decoded, then it is rejected by name', () => {
  fc.assert(
    fc.property(
      fc.string().filter((k) => !(KINDS as readonly string[]).includes(k)),
      (kind) => {
        assert.deepEqual(decodeBody({ kind, fd: 3 }), E.left(`unknown event kind ${JSON.stringify(kind)}`))
        const line = parseJsonLine(JSON.stringify({ ts: '1', pid: 1, tid: 1, kind }))
        assert.deepEqual(line, E.left(`unknown event kind ${JSON.stringify(kind)}`))
      },
    ),
  )
})

test('given a binary record whose kind code is past the last kind, when decoded, then it is rejected with the code', () => {
  const record = encodeBody(5n, 1, 1, { kind: 'fd.close', fd: 3 })
  for (const code of [KINDS.length, 200, 255]) {
    record[1] = code
    assert.deepEqual(decodeBinary('g', 9, record), E.left(`unknown kind code ${code}`))
  }
})

/** A value no field of any kind accepts (not a number, string, boolean, null or array). */
const WRONG = { not: 'a field value' }

test('given a valid body with one field replaced by a wrong value, when decoded, then the error names that field', () => {
  const arbCorrupted = arbBody
    .filter((b) => fieldsOf(b).length > 0)
    .chain((b) => fc.constantFrom(...fieldsOf(b).map(([k]) => k)).map((field) => ({ body: b, field })))
  const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true })
  fc.assert(
    fc.property(arbCorrupted, ({ body, field }) => {
      const corrupted = { ...body, [field]: WRONG }
      const expected = new RegExp(`^field ${field.replace('.', '\\.')}[.:]`)
      // as an object handed to the codec
      const direct = decodeBody(corrupted)
      assert.ok(E.isLeft(direct) && expected.test(direct.left), `${field}: ${JSON.stringify(direct)}`)
      // as a JSON line
      const line = parseJsonLine(JSON.stringify({ ...corrupted, ts: '1', pid: 1, tid: 1 }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
      assert.ok(E.isLeft(line) && expected.test(line.left), `${field}: ${JSON.stringify(line)}`)
      // as a binary record: the real header, a msgpack map with the bad field
      const { kind: _kind, ...fields } = corrupted
      const record = Buffer.concat([encodeBody(1n, 1, 1, body).subarray(0, 18), packr.pack(fields)])
      const binary = decodeBinary('g', 1, record)
      assert.ok(E.isLeft(binary) && expected.test(binary.left), `${field}: ${JSON.stringify(binary)}`)
    }),
    { numRuns: runs(300) },
  )
})

const arbMutation = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
})

test('given an encoded record with random bytes changed or cut off, when decoded, then it returns an error or a valid event and never throws', () => {
  fc.assert(
    fc.property(arbDraft, arbMutation, (d, { flips, cut }) => {
      const record = Buffer.from(encodeBody(d.ts, d.pid, d.tid, d.body))
      for (const [at, value] of flips) record[at % record.length] = value
      const mutated = cut === undefined ? record : record.subarray(0, cut % (record.length + 1))
      const decoded = decodeBinary('g', 1, mutated)
      if (E.isRight(decoded)) assert.ok(E.isRight(decodeEvent(decoded.right)), 'a decoded event must itself be valid')
      else assert.equal(typeof decoded.left, 'string')
    }),
    { numRuns: runs(2000) },
  )
})

test('given any body and an envelope, withEnvelope is the body in it, and the envelope wins over fields of its names a body may carry (untrusted input is not stripped)', () => {
  fc.assert(
    fc.property(arbDraft, fc.string(), fc.nat(), (d, guest, seq) => {
      assert.deepEqual(withEnvelope(d.body, { guest, seq, ts: d.ts, pid: d.pid, tid: d.tid }), eventOf(guest, seq, d))
      const stray: Body = Object.assign({ guest: 'other', seq: seq + 1, ts: d.ts + 1n, pid: d.pid + 1, tid: d.tid + 1 }, d.body)
      assert.deepEqual(withEnvelope(stray, { guest, seq, ts: d.ts, pid: d.pid, tid: d.tid }), eventOf(guest, seq, d))
    }),
    { numRuns: runs(200) },
  )
})
