// content(path, t): materialise a plan of extents into bytes, lazily fetching journal payloads.
import type { Journal } from '../journal/journal.js'
import type { Piece } from '../projections/index.js'

export interface Range { readonly start: number; readonly end: number }

export class UnknownBytesError extends Error {
  override readonly name = 'UnknownBytesError'
  constructor(readonly path: string, readonly ranges: readonly Range[]) {
    super(`${path}: ${ranges.reduce((n, r) => n + r.end - r.start, 0)} byte(s) eyrie never saw, at ${ranges.slice(0, 5).map((r) => `[${r.start}, ${r.end})`).join(' ')}${ranges.length > 5 ? ' ...' : ''}`)
  }
}

export const unknownRanges = (pieces: readonly Piece[]): Range[] =>
  pieces.filter((p) => 'unknown' in p).map((p) => ({ start: p.start, end: p.end }))

/** Bytes of [0, size); unknown ranges are zero-filled and listed (the caller decides whether that is ok). */
export const materialize = async (j: Journal, guest: string, pieces: readonly Piece[]): Promise<{ bytes: Buffer; unknown: Range[] }> => {
  const size = pieces.length === 0 ? 0 : pieces[pieces.length - 1].end
  const out = Buffer.alloc(size)
  const unknown: Range[] = []
  const seqs = [...new Set(pieces.flatMap((p) => ('unknown' in p || p.seq === 0 ? [] : [p.seq])))]
  // one consistent read for all payloads where the back end offers it
  const fetched = j.payloads !== undefined ? await j.payloads(guest, seqs) : await Promise.all(seqs.map((s) => j.payload(guest, s)))
  const bySeq = new Map(seqs.map((s, i) => [s, fetched[i]]))
  for (const p of pieces) {
    if ('unknown' in p) {
      unknown.push({ start: p.start, end: p.end })
      continue
    }
    if (p.seq === 0) continue // zeros: already zero
    const data = bySeq.get(p.seq)
    const want = p.end - p.start
    if (data === undefined || p.off + want > data.length) throw new Error(`bug: extent [${p.start}, ${p.end}) reads past payload of seq ${p.seq} (${data?.length ?? 0} bytes)`)
    out.set(data.subarray(p.off, p.off + want), p.start)
  }
  return { bytes: out, unknown }
}
