// The journal's value builders against their definitions: the checksum against zlib's crc32 over the
// bytes it claims to cover, the fast event encoder against encodeBody byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { encodeBody, type Body } from '../../src/events/index.js'
import { checksum, seal, unseal } from '../../src/journal/checksum.js'
import { eventValue } from '../../src/journal/record.js'
import { arbDraft, arbMetadataBody, draftOf } from '../support/arbitraries.js'
import { runs } from '../support/runs.js'

const arbGuest = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((g) => !g.includes('\0'))
const arbSeq = fc.oneof(fc.nat(1000), fc.maxSafeNat())

const u64le = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

test('given any guest, seq and bytes, when checksummed, then the crc is zlib crc32 of guest, NUL, u64le seq and the bytes', () => {
  fc.assert(
    fc.property(arbGuest, arbSeq, fc.uint8Array({ maxLength: 700 }), (guest, seq, bytes) => {
      const expected = crc32(Buffer.concat([Buffer.from(guest, 'utf8'), Buffer.from([0]), u64le(seq), bytes]))
      assert.equal(checksum(guest, seq, bytes), expected)
    }),
    { numRuns: runs(1000) },
  )
})

test('given a sealed value, when unsealed under its own key, then the bytes come back, and under any other key nothing does', () => {
  fc.assert(
    fc.property(arbGuest, arbSeq, fc.uint8Array({ maxLength: 300 }), arbGuest, arbSeq, (guest, seq, bytes, otherGuest, otherSeq) => {
      const value = seal(guest, seq, bytes)
      const back = unseal(guest, seq, value)
      assert.ok(back !== undefined && Buffer.from(back).equals(bytes))
      fc.pre(otherGuest !== guest || otherSeq !== seq)
      assert.equal(unseal(otherGuest, otherSeq, value), undefined)
    }),
  )
})

test('given a sealed value with one bit flipped anywhere, when unsealed, then it is refused', () => {
  fc.assert(
    fc.property(arbGuest, arbSeq, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (guest, seq, bytes, at, bit) => {
      const value = seal(guest, seq, bytes)
      value[at % value.length] ^= 1 << bit
      assert.equal(unseal(guest, seq, value), undefined)
    }),
  )
})

const sameBytes = (guest: string, seq: number, ts: bigint, pid: number, tid: number, body: Body): void => {
  const fast = Buffer.from(eventValue(guest, seq, ts, pid, tid, body))
  const reference = seal(guest, seq, encodeBody(ts, pid, tid, body))
  assert.ok(fast.equals(reference), `${JSON.stringify(body)}\n fast ${fast.toString('hex')}\n  ref ${reference.toString('hex')}`)
}

test('given any draft, when its event value is built by the fast path, then it is byte-identical to sealing encodeBody', () => {
  fc.assert(
    fc.property(fc.oneof(arbDraft, draftOf(arbMetadataBody)), arbGuest, arbSeq, (d, guest, seq) => sameBytes(guest, seq, d.ts, d.pid, d.tid, d.body)),
    { numRuns: runs(3000) },
  )
})

test('given numbers at every msgpack size boundary, when encoded by the fast path, then they match msgpackr', () => {
  const edges = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000, 2 ** 53 - 1]
  for (const pos of edges) sameBytes('g', 1, 0n, 0, 0, { kind: 'fd.seek', fd: 3, pos })
  for (const status of [-1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), 2 ** 31 - 1]) {
    sameBytes('g', 1, (1n << 64n) - 1n, 0xffff_ffff, 0xffff_ffff, { kind: 'proc.exit', status, thread: false })
  }
})

test('given a body with a field its codec does not declare, when encoded by the fast path, then the field is kept as encodeBody keeps it', () => {
  const body: Body = Object.assign({ kind: 'fd.close' as const, fd: 4 }, { extra: 'kept' })
  sameBytes('g', 2, 5n, 1, 1, body)
})

test('given strings at every msgpack header boundary, ASCII or not, when encoded by the fast path, then they match msgpackr', () => {
  for (const len of [0, 1, 31, 32, 33, 255, 256, 257, 70_000]) {
    sameBytes('g', 3, 1n, 1, 1, { kind: 'fd.open', fd: 3, path: `/${'a'.repeat(Math.max(0, len - 1))}`.slice(0, Math.max(1, len)), flags: 0, inode: null, created: null })
    sameBytes('g', 3, 1n, 1, 1, { kind: 'file.unlink', path: `/${'é'.repeat(len >> 1)}` })
  }
})

test('given a path that ends at any distance from the end of the shared slab, when encoded by the fast path, then its value is whole', () => {
  const left = (v: Uint8Array): number => v.buffer.byteLength - (v.byteOffset + v.byteLength)
  const values: Array<[Buffer, Uint8Array]> = []
  for (let d = 0; d < 48; d++) {
    // small values until the slab has 200..230 bytes left, then a path that ends d bytes before its end
    let rest = left(eventValue('g', 1, 1n, 1, 1, { kind: 'fd.seek', fd: 3, pos: 1 }))
    while (rest < 200 || rest >= 230) rest = left(eventValue('g', 1, 1n, 1, 1, { kind: 'fd.seek', fd: 3, pos: 1 }))
    const before = 4 + 18 + 3 + 3 + 1 + 5 + 2 // crc, header, map16, "fd" 3, "path", str8 header
    const body: Body = { kind: 'fd.open', fd: 3, path: `/${'p'.repeat(rest - d - before - 1)}`, flags: 0x8000_0000 + d, inode: null, created: null }
    values.push([seal('g', d, encodeBody(1n, 1, 1, body)), eventValue('g', d, 1n, 1, 1, body)])
  }
  // checked after all were made: a value handed out earlier must not be overwritten by a later one
  for (const [reference, fast] of values) assert.ok(reference.equals(Buffer.from(fast)))
})
