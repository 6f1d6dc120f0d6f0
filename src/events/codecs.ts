// Small io-ts building blocks shared by every event family.
import * as t from 'io-ts'

/** A non-negative safe integer (fds, sizes, offsets, pids). Plain number type: no brand to cast around. */
export const Nat = new t.Type<number, number, unknown>(
  'Nat',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  (n) => n,
)

/** Any safe integer (a return value, an exit status). */
export const Int = t.refinement(t.number, Number.isSafeInteger, 'Int')

const U64 = 1n << 64n

/** Nanoseconds since the epoch. JSON carries it as a decimal string (it exceeds 2^53), binary as u64. */
export const Nanos = new t.Type<bigint, string, unknown>(
  'Nanos',
  (u): u is bigint => typeof u === 'bigint' && u >= 0n,
  (u, c) => {
    if (typeof u === 'bigint') return u < 0n ? t.failure(u, c, 'negative time') : u < U64 ? t.success(u) : t.failure(u, c, 'time past 2^64 ns')
    if (typeof u === 'string' && /^[0-9]{1,20}$/.test(u)) return BigInt(u) < U64 ? t.success(BigInt(u)) : t.failure(u, c, `time ${u} past 2^64 ns (the journal stores a u64)`)
    if (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0) return t.success(BigInt(u))
    return t.failure(u, c, 'expected nanoseconds as a decimal string')
  },
  (b) => b.toString(),
)

/** An absolute path as the kernel names it: its bytes as a string by the rule of names.ts (bytes that
 *  are not UTF-8 as U+EF80..U+EFFF), so distinct names stay distinct and nameToBytes gives them back. */
export const AbsPath = t.refinement(t.string, (s) => s.startsWith('/'), 'AbsPath')

/** Opaque file identity "dev:ino" where the source knows it; null when it does not (strace). */
export const Inode = t.union([t.string, t.null])

export const nullable = <C extends t.Mixed>(c: C) => t.union([c, t.null])
