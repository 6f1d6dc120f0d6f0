// A written page goes to the journal only when its mark differs from what was recorded there
// (src/native/pagemarks.h). The mark is keyed: a program cannot write a changed page that the tracer
// takes for the recorded one. The test crafts what defeated the unkeyed mark it replaced (std::hash,
// libstdc++'s MurmurHash-like _Hash_bytes with a fixed seed): a page B unlike A but with A's hash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { contentAt, recordNatively } from '../support/e2e.js'

const M64 = (1n << 64n) - 1n
const MUL = 0xc6a4a7935bd1e995n
const SEED = 0xc70f6907n // std::hash<string_view>'s seed in libstdc++
const mul = (a: bigint, b: bigint): bigint => (a * b) & M64
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n)
const word = (b: Buffer, at: number): bigint => b.readBigUInt64LE(at)
// the per-word step of _Hash_bytes, and its inverse (MUL is odd; shiftMix undoes itself for 47 >= 32)
const f = (k: bigint): bigint => mul(shiftMix(mul(k, MUL)), MUL)
const MUL_INV = ((): bigint => {
  let x = 1n
  for (let i = 0; i < 7; i++) x = mul(x, (2n - mul(MUL, x)) & M64) // Newton: doubles the correct bits
  return x
})()
const fInverse = (y: bigint): bigint => mul(shiftMix(mul(y, MUL_INV)), MUL_INV)

/** libstdc++'s 64-bit _Hash_bytes (hash_bytes.cc) for a length that is a multiple of 8. */
const hashBytes = (b: Buffer): bigint => {
  let h = SEED ^ mul(BigInt(b.length), MUL)
  for (let at = 0; at < b.length; at += 8) h = mul(h ^ f(word(b, at)), MUL)
  return shiftMix(mul(shiftMix(h), MUL))
}

/** The hash state after the words before `end`. */
const stateAt = (b: Buffer, end: number): bigint => {
  let h = SEED ^ mul(BigInt(b.length), MUL)
  for (let at = 0; at < end; at += 8) h = mul(h ^ f(word(b, at)), MUL)
  return h
}

/** B = A with `text` written at `at`, and the word after it chosen so that the hash state after that
 *  word, hence the hash of the whole page, is A's. */
const collide = (a: Buffer, text: string, at: number): Buffer => {
  const b = Buffer.from(a)
  b.write(text, at)
  const fix = Math.ceil((at + Buffer.byteLength(text)) / 8) * 8
  // (sB ^ f(wB)) * MUL = (sA ^ f(wA)) * MUL  <=>  wB = f^-1(sA ^ f(wA) ^ sB)
  b.writeBigUInt64LE(fInverse(stateAt(a, fix) ^ f(word(a, fix)) ^ stateAt(b, fix)), fix)
  return b
}

test('given the collision with the old unkeyed page hash, the crafted page collides under it (the test reproduces std::hash)', () => {
  const a = Buffer.alloc(4096, 0x41)
  const b = collide(a, 'infected payload', 1024)
  assert.notDeepEqual(a, b)
  assert.equal(hashBytes(b), hashBytes(a))
})

test('given a program that writes page A, makes a traced call (its file is read back), then writes B with A\'s old hash and closes, the journal holds B', async () => {
  const a = Buffer.alloc(4096, 0x41)
  const b = collide(a, 'infected payload', 1024)
  const program = `
import os, sys
a, b = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
fd = os.open('f', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, a)
os.close(os.open('other', os.O_RDONLY | os.O_CREAT, 0o644))  # a traced call: f is read back, A recorded
os.pwrite(fd, b, 0)
os.close(fd)
`
  const r = await recordNatively(['python3', '-c', program, a.toString('hex'), b.toString('hex')])
  try {
    const onDisk = await readFile(join(r.dir, 'f'))
    assert.deepEqual(onDisk, b)
    assert.deepEqual(await contentAt(r, r.events[r.events.length - 1].seq, join(r.dir, 'f')), b, 'the journal holds what the disk holds')
    const syncs = r.events.filter((e) => e.kind === 'file.sync' && e.path === join(r.dir, 'f'))
    assert.ok(syncs.length >= 2, `f read back at the open of other (A) and at its close (B), got ${syncs.length} file.sync`)
  } finally {
    await r.cleanup()
  }
})
