// content(path, t): materialise a plan of extents into bytes, lazily fetching journal payloads, and
// the compacted values of the checkpoint the world came from (src/projections/compact.ts).
import type { Journal } from '../journal/journal.js'
import { JournalError } from '../journal/errors.js'
import { parseCompacted, readCompacted, type Piece } from '../projections/index.js'

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
  const seqs = [...new Set(pieces.flatMap((p) => ('unknown' in p || p.seq <= 0 ? [] : [p.seq])))]
  // one consistent read for all payloads where the back end offers it
  const fetched = seqs.length === 0 ? [] : j.payloads !== undefined ? await j.payloads(guest, seqs) : await Promise.all(seqs.map((s) => j.payload(guest, s)))
  const bySeq = new Map(seqs.map((s, i) => [s, fetched[i]]))
  const fromCheckpoint: Compacted[] = []
  for (const p of pieces) {
    if ('unknown' in p) {
      unknown.push({ start: p.start, end: p.end })
      continue
    }
    if (p.seq === 0) continue // zeros: already zero
    if (p.seq < 0) {
      fromCheckpoint.push(p)
      continue
    }
    const data = bySeq.get(p.seq)
    const want = p.end - p.start
    if (data === undefined || p.off + want > data.length) throw new Error(`bug: extent [${p.start}, ${p.end}) reads past payload of seq ${p.seq} (${data?.length ?? 0} bytes)`)
    out.set(data.subarray(p.off, p.off + want), p.start)
  }
  await readCompactedPieces(j, guest, fromCheckpoint, out, 0)
  return { bytes: out, unknown }
}

type Compacted = Piece & { readonly seq: number; readonly off: number }

/** Copies compacted pieces (seq < 0) into `out` at (piece.start - shift). One journal read per
 *  compacted value: a file's runs all come from one. */
export const readCompactedPieces = async (j: Journal, guest: string, pieces: readonly Compacted[], out: Buffer, shift: number): Promise<void> => {
  const done = new Uint8Array(pieces.length)
  for (let i = 0; i < pieces.length; i++) {
    if (done[i] !== 0) continue
    const seq = -pieces[i].seq
    const at = pieces[i].off
    const where = `journal compacted content guest=${guest} seq=${seq}`
    const missing = (): JournalError => new JournalError('CORRUPT', `${where}: missing (nothing holds position ${at})`, { guest, seq })
    if (j.compacted === undefined) throw missing()
    const found = await j.compacted(guest, seq, at, (v) => {
      const c = parseCompacted(v.bytes)
      if (c === undefined) throw new JournalError('DECODE', `${where} base=${v.base}: not a compacted value this eyrie reads`, { guest, seq })
      if (at >= v.base + c.length) throw missing()
      // the bytes are the store's own memory: every piece this value holds is copied out now
      for (let k = i; k < pieces.length; k++) {
        const p = pieces[k]
        if (done[k] !== 0 || p.seq !== -seq || p.off < v.base || p.off >= v.base + c.length) continue
        readCompacted(c, p.off - v.base, p.off - v.base + (p.end - p.start), out, p.start - shift)
        done[k] = 1
      }
      return true
    })
    if (found !== true) throw missing()
  }
}
