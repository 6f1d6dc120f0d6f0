// "As of T": end, #SEQ, an ISO-8601 instant, nanoseconds since the epoch, or +DURATION from the first event.
import * as E from 'fp-ts/lib/Either.js'
import parseDuration from 'parse-duration'
import type { Journal } from '../journal/journal.js'

export type TimeRef =
  | { readonly kind: 'end' }
  | { readonly kind: 'seq'; readonly seq: number }
  | { readonly kind: 'ts'; readonly ts: bigint }
  | { readonly kind: 'offset'; readonly nanos: bigint }

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/

export const parseTimeRef = (s: string): E.Either<string, TimeRef> => {
  if (s === 'end' || s === 'now') return E.right({ kind: 'end' })
  if (/^#\d+$/.test(s)) return E.right({ kind: 'seq', seq: Number(s.slice(1)) })
  if (/^\d{10,20}$/.test(s)) return E.right({ kind: 'ts', ts: BigInt(s) })
  const iso = ISO.exec(s)
  if (iso !== null) {
    const ms = Date.parse(`${iso[1]}${iso[3]}`)
    if (Number.isNaN(ms)) return E.left(`not a valid instant: ${s}`)
    const frac = BigInt((iso[2] ?? '').padEnd(9, '0'))
    return E.right({ kind: 'ts', ts: BigInt(ms) * 1_000_000n + frac })
  }
  if (s.startsWith('+')) {
    const ms = parseDuration(s.slice(1))
    if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return E.left(`not a duration: ${s} (try +1.5s, +250ms)`)
    return E.right({ kind: 'offset', nanos: BigInt(Math.round(ms * 1e6)) })
  }
  return E.left(`cannot read time ${JSON.stringify(s)}: use end, #SEQ, an ISO-8601 instant, nanoseconds since the epoch, or +DURATION`)
}

/** The seq whose state answers "as of T" (0 = before any event). */
export const resolveTimeRef = async (j: Journal, guest: string, t: TimeRef): Promise<number> => {
  const last = await j.lastSeq(guest)
  switch (t.kind) {
    case 'end': return last
    case 'seq':
      if (t.seq > last) throw new RangeError(`#${t.seq} is past the end of guest ${guest} (last seq ${last})`)
      return t.seq
    case 'ts': return j.seqAt(guest, t.ts)
    case 'offset': {
      const info = (await j.guests()).find((g) => g.guest === guest)
      if (info === undefined || info.firstTs === null) return 0
      return j.seqAt(guest, info.firstTs + t.nanos)
    }
  }
}
