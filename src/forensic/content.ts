// Streaming a file's content out of the journal: diff, timeline and export read many files, some large,
// so bytes go piece by piece to a sink (a hash, a file, a tar entry) instead of into one buffer.
// Unknown bytes stream as zeros and are listed; a digest is only claimed when every byte is known.
import { createHash, type Hash } from 'node:crypto'
import type { Journal } from '../journal/journal.js'
import { readCompactedPieces } from '../engine/content.js'
import { firstExtentEndingAfter, parseCompacted, readCompacted, readPlan, type CompactedBytes, type Content, type Piece } from '../projections/index.js'

export interface Range { readonly start: number; readonly end: number }

/** What a file held: size (null while unknown), sha256 of its bytes (null unless every byte is
 *  known), and the ranges eyrie never saw. */
export interface Digest {
  readonly size: number | null
  readonly sha256: string | null
  readonly unknownBytes: number
  readonly unknown: readonly Range[]
}

const ZEROS = Buffer.alloc(1 << 16)

/** Payloads by seq, kept while under a byte budget (a file's pieces often come from one payload, and
 *  diff hashes the same payload for both sides). */
export class PayloadCache {
  private readonly map = new Map<number, Uint8Array>()
  private bytes = 0
  constructor(private readonly j: Journal, private readonly guest: string, private readonly budget = 64 << 20) {}

  /** Fetches the seqs not cached yet in one read (Journal.payloads, where the back end has it): one
   *  read snapshot for many payloads instead of one each. They stay cached while the budget allows. */
  async prefetch(seqs: readonly number[]): Promise<void> {
    const missing = [...new Set(seqs)].filter((s) => !this.map.has(s))
    if (missing.length < 2 || this.j.payloads === undefined) return
    const got = await this.j.payloads(this.guest, missing)
    missing.forEach((seq, i) => this.keep(seq, got[i]))
  }

  private keep(seq: number, data: Uint8Array): void {
    if (data.length > this.budget / 4) return
    this.map.set(seq, data)
    this.bytes += data.length
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget) break
      this.map.delete(k)
      this.bytes -= v.length
    }
  }

  private readonly values: Array<{ readonly seq: number; readonly base: number; readonly value: CompactedBytes }> = []

  /** The bytes of a compacted piece (seq < 0: a checkpoint's compacted file). A file's runs all read
   *  one value, kept (copied out of the store) for the next run. */
  async compacted(p: Piece & { readonly seq: number; readonly off: number }): Promise<Uint8Array> {
    const out = Buffer.alloc(p.end - p.start)
    const seq = -p.seq
    let hit = this.values.find((v) => v.seq === seq && v.base <= p.off && p.off < v.base + v.value.length)
    if (hit === undefined) {
      const copy = await this.j.compacted?.(this.guest, seq, p.off, (v) => ({ base: v.base, bytes: Buffer.from(v.bytes) }))
      const value = copy === undefined ? undefined : parseCompacted(copy.bytes)
      if (copy === undefined || value === undefined || p.off >= copy.base + value.length) {
        // not here or not readable: the engine's reader says which with the journal's words
        await readCompactedPieces(this.j, this.guest, [p], out, p.start)
        return out
      }
      hit = { seq, base: copy.base, value }
      this.values.unshift(hit)
      this.values.length = Math.min(this.values.length, 4)
    }
    readCompacted(hit.value, p.off - hit.base, p.off - hit.base + (p.end - p.start), out, 0)
    return out
  }

  async get(seq: number): Promise<Uint8Array> {
    const hit = this.map.get(seq)
    if (hit !== undefined) {
      // most recently used last
      this.map.delete(seq)
      this.map.set(seq, hit)
      return hit
    }
    const data = await this.j.payload(this.guest, seq)
    this.keep(seq, data)
    return data
  }
}

/** `zeros`: the chunk is a run of zeros (a hole, or unknown bytes), which a sparse writer may skip. */
export type ChunkSink = (chunk: Uint8Array, zeros: boolean) => void | Promise<void>

const WINDOW_PIECES = 256
const WINDOW_BYTES = 16 << 20
const BIG_PIECE = 4 << 20

/** Prefetches the payloads of the pieces from `from` on, up to a window; returns where it stopped. */
const prefetchWindow = async (cache: PayloadCache, pieces: readonly Piece[], from: number): Promise<number> => {
  const seqs: number[] = []
  let bytes = 0
  let i = from
  for (; i < pieces.length && i - from < WINDOW_PIECES && bytes < WINDOW_BYTES; i++) {
    const p = pieces[i]
    // a large payload pays for its own read; fetched here it might not fit the cache and be read twice
    if ('unknown' in p || p.seq <= 0 || p.end - p.start > BIG_PIECE) continue
    seqs.push(p.seq)
    bytes += p.end - p.start
  }
  await cache.prefetch(seqs)
  return i
}

/** Streams pieces in order; returns the unknown ranges (streamed as zeros). */
export const streamPieces = async (cache: PayloadCache, pieces: readonly Piece[], sink: ChunkSink): Promise<Range[]> => {
  const unknown: Range[] = []
  let fetchedTo = 0 // pieces before this index have been prefetched
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]
    if (i >= fetchedTo) fetchedTo = await prefetchWindow(cache, pieces, i)
    const gap = 'unknown' in p
    if (gap) unknown.push({ start: p.start, end: p.end })
    if (gap || p.seq === 0) {
      for (let at = p.start; at < p.end; at += ZEROS.length) await sink(ZEROS.subarray(0, Math.min(ZEROS.length, p.end - at)), true)
      continue
    }
    if (p.seq < 0) {
      // compacted bytes of a checkpoint
      await sink(await cache.compacted(p), false)
      continue
    }
    const data = await cache.get(p.seq)
    const want = p.end - p.start
    if (p.off + want > data.length) throw new Error(`extent [${p.start}, ${p.end}) needs bytes ${p.off}..${p.off + want} of payload #${p.seq}, which holds ${data.length}`)
    await sink(data.subarray(p.off, p.off + want), false)
  }
  return unknown
}

const unknownTotal = (ranges: readonly Range[]): number => ranges.reduce((n, r) => n + r.end - r.start, 0)

/** Feeds pieces into a running hash (synchronous sink: no promise per chunk). */
export const hashPieces = async (cache: PayloadCache, pieces: readonly Piece[], hash: Hash): Promise<Range[]> =>
  streamPieces(cache, pieces, (chunk) => {
    hash.update(chunk)
  })

export const digestOf = async (cache: PayloadCache, content: Content): Promise<Digest> => {
  const pieces = readPlan(content)
  const hash = createHash('sha256')
  const unknown = await hashPieces(cache, pieces, hash)
  const sha256 = unknown.length === 0 && content.size !== null ? hash.digest('hex') : null
  return { size: content.size, sha256, unknownBytes: unknownTotal(unknown), unknown }
}

/** The pieces of [from, to) only: O(log n + pieces in range), so appending to a long file does not
 *  re-plan the whole file for every version. */
export const planRange = (c: Content, from: number, to: number): Piece[] => {
  const out: Piece[] = []
  let pos = from
  for (let i = firstExtentEndingAfter(c.extents, from); i < c.extents.length && pos < to; i++) {
    const x = c.extents[i]
    if (x.start >= to) break
    if (x.start > pos) out.push({ start: pos, end: x.start, unknown: true })
    const start = Math.max(x.start, pos)
    const end = Math.min(x.end, to)
    out.push({ start, end, seq: x.seq, off: x.seq === 0 ? 0 : x.off + (start - x.start) })
    pos = end
  }
  if (pos < to) out.push({ start: pos, end: to, unknown: true })
  return out
}

/** Same extents, same size: the same bytes without reading any. */
export const sameContent = (a: Content, b: Content): boolean => {
  if (a.size !== b.size || a.extents.length !== b.extents.length) return false
  for (let i = 0; i < a.extents.length; i++) {
    const x = a.extents[i]
    const y = b.extents[i]
    if (x.start !== y.start || x.end !== y.end || x.seq !== y.seq || x.off !== y.off) return false
  }
  return true
}
