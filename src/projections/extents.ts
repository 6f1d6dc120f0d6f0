// A file's content as an extent map: sorted, non-overlapping byte ranges whose source is either
// journal bytes (payload of event `seq`, starting at `off`) or zeros. A gap inside [0, size) is
// *unknown*: bytes eyrie never saw. Holes the kernel would read as zeros are explicit zero extents.

import { firstEndingAfter } from './sorted.js'

export interface Extent {
  start: number
  end: number // exclusive
  /** > 0: payload of that event; 0: zeros. */
  seq: number
  /** offset into that payload */
  off: number
}

export const ZERO = 0

export interface Content {
  extents: Extent[]
  /** null while the file's size is unknown (it existed before eyrie saw it). */
  size: number | null
}

export const knownEmpty = (): Content => ({ extents: [], size: 0 })
export const unknownContent = (): Content => ({ extents: [], size: null })

/** Index of the first extent whose end > offset. */
export const firstExtentEndingAfter = (xs: readonly Extent[], offset: number): number => firstEndingAfter(xs, offset, (x) => x.end)

/** Remove [start, end) from the map, trimming or splitting extents that straddle it. Returns the index
 *  where the range now begins. */
const cut = (xs: Extent[], start: number, end: number): number => {
  let i = firstExtentEndingAfter(xs, start)
  const removeFrom = i
  const keep: Extent[] = []
  while (i < xs.length && xs[i].start < end) {
    const x = xs[i]
    if (x.start < start) keep.push({ start: x.start, end: start, seq: x.seq, off: x.off })
    if (x.end > end) keep.push({ start: end, end: x.end, seq: x.seq, off: x.seq === ZERO ? 0 : x.off + (end - x.start) })
    i++
  }
  xs.splice(removeFrom, i - removeFrom, ...keep)
  // the new range goes after a kept left piece, if any
  return removeFrom + (keep.length > 0 && keep[0].start < start ? 1 : 0)
}

const insertAt = (xs: Extent[], at: number, x: Extent): void => {
  if (at === xs.length) xs.push(x)
  else xs.splice(at, 0, x)
}

/** Place `known` bytes of event `seq` at offset; bytes [offset+known, offset+len) become unknown. */
export const putBytes = (c: Content, offset: number, len: number, seq: number, known: number): void => {
  if (len === 0) return
  const xs = c.extents
  const last = xs[xs.length - 1]
  // appending past everything known is the common case: nothing to cut
  let at = last === undefined || last.end <= offset ? xs.length : cut(xs, offset, offset + len)
  // a write past the end of file leaves a hole that reads as zeros
  if (c.size !== null && c.size < offset) insertAt(xs, at++, { start: c.size, end: offset, seq: ZERO, off: 0 })
  if (known > 0) insertAt(xs, at, { start: offset, end: offset + known, seq, off: 0 })
  if (c.size !== null && offset + len > c.size) c.size = offset + len
}

/** Known zeros over [offset, offset+len) (punch hole, zero range, extension by truncate); past the
 *  end of file, the hole before the range reads as zeros too. */
export const putZeros = (c: Content, offset: number, len: number): void => {
  if (len === 0) return
  const [start, end] = [c.size !== null && c.size < offset ? c.size : offset, offset + len]
  c.extents.splice(cut(c.extents, start, end), 0, { start, end, seq: ZERO, off: 0 })
  if (c.size !== null && end > c.size) c.size = end
}

/** A hole punched over [offset, offset+len) (fallocate's PUNCH_HOLE, madvise's MADV_REMOVE): zeros
 *  there, the size kept. */
export const punchHole = (c: Content, offset: number, len: number): void => {
  const size = c.size
  putZeros(c, offset, len)
  if (size !== null && c.size !== null && c.size > size) truncateTo(c, size)
}

/** A reflink: [intoOffset, intoOffset+len) of `into` holds what [fromOffset, fromOffset+len) of
 *  `from` holds (the same sources, unknown where those are; `from` may be `into`), and `into` grows
 *  to cover it. */
export const cloneRange = (from: Content, fromOffset: number, len: number, into: Content, intoOffset: number): void => {
  if (len === 0) return
  const end = fromOffset + len
  const moved: Extent[] = []
  for (let i = firstExtentEndingAfter(from.extents, fromOffset); i < from.extents.length && from.extents[i].start < end; i++) {
    const x = from.extents[i]
    const [s, e] = [Math.max(x.start, fromOffset), Math.min(x.end, end)]
    moved.push({ start: s - fromOffset + intoOffset, end: e - fromOffset + intoOffset, seq: x.seq, off: x.seq === ZERO ? 0 : x.off + (s - x.start) })
  }
  putBytes(into, intoOffset, len, ZERO, 0) // the range unknown (a hole before it zeros), the size grown
  into.extents.splice(firstExtentEndingAfter(into.extents, intoOffset), 0, ...moved)
}

/** Moves every extent from index `from` on by `delta` bytes. */
const shift = (xs: Extent[], from: number, delta: number): void => {
  for (let i = from; i < xs.length; i++) xs[i] = { ...xs[i], start: xs[i].start + delta, end: xs[i].end + delta }
}

/** fallocate's COLLAPSE_RANGE: [offset, offset+len) goes and what follows moves down by len. */
export const collapseRange = (c: Content, offset: number, len: number): void => {
  if (len === 0) return
  shift(c.extents, cut(c.extents, offset, offset + len), -len)
  if (c.size !== null) c.size -= len
}

/** fallocate's INSERT_RANGE: what lies from offset on moves up by len, and a hole (zeros) fills the gap. */
export const insertRange = (c: Content, offset: number, len: number): void => {
  if (len === 0) return
  const at = cut(c.extents, offset, offset) // splits an extent across offset
  shift(c.extents, at, len)
  c.extents.splice(at, 0, { start: offset, end: offset + len, seq: ZERO, off: 0 })
  if (c.size !== null) c.size += len
}

/** truncate/ftruncate to `size`: drops what lies beyond, extends with zeros. */
export const truncateTo = (c: Content, size: number): void => {
  if (c.size !== null && size > c.size) {
    putZeros(c, c.size, size - c.size)
    c.size = size
    return
  }
  const xs = c.extents
  const i = firstExtentEndingAfter(xs, size)
  if (i < xs.length && xs[i].start < size) {
    xs[i] = { ...xs[i], end: size }
    xs.length = i + 1
  } else xs.length = i
  c.size = size
}

/** A range of a read plan: either bytes from a source or a gap of unknown bytes. */
export type Piece =
  | { readonly start: number; readonly end: number; readonly seq: number; readonly off: number }
  | { readonly start: number; readonly end: number; readonly unknown: true }

/** The pieces that make up [0, size) (or [0, end of known) when the size is unknown). */
export const readPlan = (c: Content): Piece[] => {
  const out: Piece[] = []
  const limit = c.size ?? (c.extents.length > 0 ? c.extents[c.extents.length - 1].end : 0)
  let pos = 0
  for (const x of c.extents) {
    if (x.start >= limit) break
    if (x.start > pos) out.push({ start: pos, end: x.start, unknown: true })
    const end = Math.min(x.end, limit)
    out.push({ start: x.start, end, seq: x.seq, off: x.off })
    pos = end
  }
  if (pos < limit) out.push({ start: pos, end: limit, unknown: true })
  return out
}

export const cloneContent = (c: Content): Content => ({ size: c.size, extents: c.extents.map((x) => ({ ...x })) })
