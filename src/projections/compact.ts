// Content compaction at checkpoints. A file written in many small pieces has as many extents, and
// reading it means one journal read per piece. When a checkpoint is written, such files get their
// bytes consolidated: the journal bytes they read (payload pieces and zeros), one extent per run of
// them, reading from one value stored beside the checkpoint (the engine reads and writes it; this file
// only decides and describes).
//
// Extents reading "compacted bytes of checkpoint C at `off`" have seq = -C (payload seqs are > 0,
// zeros 0) and `off` a position in C's *compacted space*, where every file C compacted has a range of
// its own: [base, base + length), position base + x holding the file's byte x (as of C). The fold
// treats such extents like any other (cut, split, truncated); readers find the value holding `off`
// under (guest, C, base <= off).
//
// Compaction is incremental: a checkpoint consolidates only what still reads payloads, and keeps the
// extents that read an earlier checkpoint's compacted bytes (the writer's world switches to them once
// that checkpoint is committed, `applyCompaction`). A byte is copied once, however many checkpoints a
// growing log lives through; a checkpoint may read the values of earlier ones, which therefore stay
// while any checkpoint refers to them (retention decides, src/forensic/retention.ts).
//
// Beside each value the checkpoint keeps the extents it was made of (`sources`, binary, apart so that
// reading stays cheap): expanding turns a compacted world back into exactly the world the fold makes
// without compaction, which is what `verify` compares and what retention strips.
import type { Extent, Piece } from './extents.js'
import type { NodeId, World } from './state.js'

export interface CompactionPolicy {
  /** files with fewer extents reading payloads (or zeros) stay as they are */
  readonly minExtents: number
  /** ... and so do files whose stored bytes would average more than this per extent: reading a few
   *  large payloads costs little, copying them a lot */
  readonly maxBytesPerExtent: number
  /** stored bytes per checkpoint, all files together; the files with most extents go first */
  readonly maxBytes: number
  /** zero extents shorter than this are stored as zeros inside a span; longer ones split spans and
   *  cost nothing (a sparse file's holes are never stored). A span costs a reader ~50 ns, a stored
   *  byte ~0.2 ns (checksum and copy): 128 is about where they meet. */
  readonly inlineZeros: number
}

export const DEFAULT_COMPACTION: CompactionPolicy = {
  minExtents: 64,
  maxBytesPerExtent: 64 * 1024,
  maxBytes: 64 * 1024 * 1024,
  inlineZeros: 128,
}

export const NO_COMPACTION: CompactionPolicy = { ...DEFAULT_COMPACTION, minExtents: Number.POSITIVE_INFINITY }

/** One compacted value as a world records it. */
export interface CompactedFile {
  /** the checkpoint that wrote it */
  readonly seq: number
  readonly node: NodeId
  readonly base: number
  /** its range in that checkpoint's compacted space is [base, base + length) */
  readonly length: number
}

/** The compacted values a world's extents may read, by (seq, base). */
export interface Compaction {
  readonly files: readonly CompactedFile[]
}

/** A range of a file whose bytes are stored (file offsets). */
export interface Span { readonly start: number; readonly end: number }

export interface CompactionItem extends CompactedFile {
  /** the extents the compacted ones replace: f64 start, end, seq, off per extent, little-endian */
  readonly sources: Uint8Array
  /** the runs of extents it consolidates, each becoming one extent */
  readonly runs: readonly Span[]
  /** the stored ranges, in order; their bytes are stored back to back */
  readonly spans: readonly Span[]
  /** how to read the stored bytes: pieces at positions of the stored data, from payloads and zeros */
  readonly dataPieces: readonly Piece[]
  readonly stored: number
}

export interface CompactionPlan {
  readonly seq: number
  readonly items: readonly CompactionItem[]
}

const SOURCE_FIELDS = 4

const encodeSources = (xs: readonly Extent[]): Uint8Array => {
  const f = new Float64Array(xs.length * SOURCE_FIELDS)
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]
    f[i * 4] = x.start
    f[i * 4 + 1] = x.end
    f[i * 4 + 2] = x.seq
    f[i * 4 + 3] = x.off
  }
  return new Uint8Array(f.buffer)
}

/** A Float64Array over little-endian f64s (copied when the bytes are not 8-aligned). */
const f64s = (bytes: Uint8Array): Float64Array =>
  bytes.byteOffset % 8 === 0
    ? new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3)
    : new Float64Array(new Uint8Array(bytes).buffer, 0, bytes.byteLength >> 3) // a copy (Buffer's slice would share)

export const decodeSources = (bytes: Uint8Array): Extent[] => {
  const f = f64s(bytes)
  const out: Extent[] = []
  for (let i = 0; i + SOURCE_FIELDS <= f.length; i += SOURCE_FIELDS) out.push({ start: f[i], end: f[i + 1], seq: f[i + 2], off: f[i + 3] })
  return out
}

interface Layout {
  readonly raw: Extent[]
  readonly runs: Span[]
  readonly spans: Span[]
  readonly dataPieces: Piece[]
  readonly stored: number
}

/** The extents of one file that read journal bytes (payloads, zeros), grouped in runs of contiguous
 *  ones, the spans to store and the pieces that read them. Extents reading compacted bytes end runs. */
const layoutOf = (xs: readonly Extent[], inlineZeros: number): Layout => {
  const raw: Extent[] = []
  const runs: Span[] = []
  const spans: Span[] = []
  const dataPieces: Piece[] = []
  let stored = 0
  let run: { start: number; end: number } | undefined
  let span: { start: number; end: number } | undefined
  const endRun = (): void => {
    if (run !== undefined) runs.push(run)
    if (span !== undefined) spans.push(span)
    run = span = undefined
  }
  for (const x of xs) {
    if (x.seq < 0) {
      endRun()
      continue
    }
    raw.push(x)
    if (run === undefined || x.start !== run.end) {
      endRun()
      run = { start: x.start, end: x.end }
    } else run.end = x.end
    const len = x.end - x.start
    if (x.seq === 0 && len >= inlineZeros) {
      if (span !== undefined) spans.push(span)
      span = undefined
      continue
    }
    if (span === undefined) span = { start: x.start, end: x.end }
    else span.end = x.end
    dataPieces.push({ start: stored, end: stored + len, seq: x.seq, off: x.seq === 0 ? 0 : x.off })
    stored += len
  }
  endRun()
  return { raw, runs, spans, dataPieces, stored }
}

/** Which files checkpoint `w.seq` compacts, and how. Pure. */
export const compactionPlan = (w: World, policy: CompactionPolicy = DEFAULT_COMPACTION): CompactionPlan => {
  const candidates: Array<{ node: NodeId; layout: Layout }> = []
  for (const node of w.nodes.values()) {
    const xs = node.content.extents
    if (node.type !== 'file' || xs.length < policy.minExtents) continue
    const layout = layoutOf(xs, policy.inlineZeros)
    if (layout.raw.length < policy.minExtents || layout.stored > policy.maxBytesPerExtent * layout.raw.length) continue
    candidates.push({ node: node.id, layout })
  }
  candidates.sort((a, b) => b.layout.raw.length - a.layout.raw.length || a.node - b.node)
  const items: CompactionItem[] = []
  let budget = policy.maxBytes
  let base = 0
  for (const { node, layout } of candidates) {
    if (layout.stored > budget) continue
    budget -= layout.stored
    const length = layout.raw[layout.raw.length - 1].end
    const { raw, ...rest } = layout
    items.push({ seq: w.seq, node, base, length, sources: encodeSources(raw), ...rest })
    base += length
  }
  return { seq: w.seq, items }
}

/** The compacted file whose range holds position `off` of checkpoint `seq`'s compacted space. */
const fileAt = (files: readonly CompactedFile[], seq: number, off: number): CompactedFile | undefined => {
  let lo = 0
  let hi = files.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const f = files[mid]
    if (f.seq < seq || (f.seq === seq && f.base + f.length <= off)) lo = mid + 1
    else hi = mid
  }
  const f = files[lo]
  return f !== undefined && f.seq === seq && f.base <= off ? f : undefined
}

const byKey = (a: CompactedFile, b: CompactedFile): number => a.seq - b.seq || a.base - b.base

/** The compacted values whose bytes some extent of `w` reads. */
export const compactedInUse = (w: World): CompactedFile[] => {
  const c = w.compaction
  if (c === null) return []
  const used = new Set<CompactedFile>()
  for (const node of w.nodes.values()) {
    for (const x of node.content.extents) {
      if (x.seq >= 0) continue
      const f = fileAt(c.files, -x.seq, x.off)
      if (f !== undefined) used.add(f)
    }
  }
  return c.files.filter((f) => used.has(f))
}

const withFiles = (files: CompactedFile[]): Compaction | null => (files.length === 0 ? null : { files: files.sort(byKey) })

/** The runs of an item as the extents that replace them. */
const runExtents = (item: CompactionItem): Extent[] => item.runs.map((r) => ({ start: r.start, end: r.end, seq: -item.seq, off: item.base + r.start }))

/** Replaces a node's extents inside the item's runs by the run extents; the others stay. */
const replaceRuns = (xs: readonly Extent[], item: CompactionItem): Extent[] => {
  const runs = runExtents(item)
  const out: Extent[] = []
  let r = 0
  for (const x of xs) {
    while (r < runs.length && runs[r].end <= x.start) out.push(runs[r++])
    if (r < runs.length && x.start >= runs[r].start && x.end <= runs[r].end) continue
    out.push(x)
  }
  while (r < runs.length) out.push(runs[r++])
  return out
}

/** The world as checkpoint `plan.seq` stores it: compacted files read their runs from the compacted
 *  values. A new world sharing every unchanged part with `w`, which is left as it is (so a fold that
 *  goes on can be checkpointed while it runs). */
export const compactWorld = (w: World, plan: CompactionPlan): World => {
  if (plan.items.length === 0 && w.compaction === null) return w
  const nodes = new Map(w.nodes)
  for (const item of plan.items) {
    const node = w.nodes.get(item.node)
    if (node !== undefined) nodes.set(item.node, { ...node, content: { extents: replaceRuns(node.content.extents, item), size: node.content.size } })
  }
  const files = [...compactedInUse(w), ...plan.items.map(({ seq, node, base, length }) => ({ seq, node, base, length }))]
  return { ...w, nodes, compaction: withFiles(files) }
}

/** Once checkpoint `plan.seq` is committed, the writer's own world reads what it compacted from it as
 *  well (so the next checkpoint does not copy those bytes again): every extent that still reads what
 *  a source extent of the plan read becomes the compacted extent for its range. In place; returns w. */
export const applyCompaction = (w: World, plan: CompactionPlan): World => {
  if (plan.items.length === 0) return w
  for (const item of plan.items) {
    const node = w.nodes.get(item.node)
    if (node === undefined) continue
    const sources = decodeSources(item.sources)
    const out: Extent[] = []
    let s = 0
    for (const x of node.content.extents) {
      while (s < sources.length && sources[s].end <= x.start) s++
      const src = sources[s]
      const same = x.seq >= 0 && src !== undefined && src.start <= x.start && x.end <= src.end && src.seq === x.seq &&
        (x.seq === 0 || src.off + (x.start - src.start) === x.off)
      const y = same ? { start: x.start, end: x.end, seq: -item.seq, off: item.base + x.start } : x
      const prev = out[out.length - 1]
      // one extent with the one before only where a source extent begins: expanding gives back the
      // sources' boundaries, so a boundary inside one (a hole written since into zeros it read, say)
      // must stay an extent boundary, or the expanded world would differ from the fold's
      const joins = same && x.start === src.start && prev !== undefined && prev.seq === y.seq && prev.end === y.start && prev.off + (prev.end - prev.start) === y.off
      if (joins) out[out.length - 1] = { ...prev, end: y.end }
      else out.push(y)
    }
    node.content.extents = out
  }
  // the new values, and the old ones still read (compactedInUse looks them up in the full list)
  w.compaction = withFiles([...(w.compaction?.files ?? []), ...plan.items.map(({ seq, node, base, length }) => ({ seq, node, base, length }))])
  w.compaction = withFiles(compactedInUse(w))
  return w
}

/** The source extents over [from, to) of a file (file offsets), clipped, placed at `at`. */
const clipSources = (sources: readonly Extent[], from: number, to: number, at: number, out: Extent[]): void => {
  const shift = at - from
  for (const s of sources) {
    if (s.end <= from) continue
    if (s.start >= to) break
    const start = Math.max(s.start, from)
    const end = Math.min(s.end, to)
    out.push({ start: start + shift, end: end + shift, seq: s.seq, off: s.seq === 0 ? 0 : s.off + (start - s.start) })
  }
}

/** A key for a compacted value: `${seq}:${base}`. */
export const compactedKey = (f: { readonly seq: number; readonly base: number }): string => `${f.seq}:${f.base}`

/** Turns a world read from a compacted checkpoint (and maybe folded on) back into the world the fold
 *  makes without compaction: every compacted extent of the values `only` selects (all by default)
 *  becomes the extents it stands for, read from `sources` (by compactedKey). In place, like evolve;
 *  returns `w`, whose `compaction` keeps the values still read (null when none is). */
export const expandWorld = (w: World, sources: ReadonlyMap<string, Uint8Array>, only?: (f: CompactedFile) => boolean): World => {
  const c = w.compaction
  if (c === null) return w
  const decoded = new Map<string, Extent[]>()
  for (const node of w.nodes.values()) {
    const xs = node.content.extents
    if (!xs.some((x) => x.seq < 0)) continue
    const out: Extent[] = []
    for (const x of xs) {
      const f = x.seq < 0 ? fileAt(c.files, -x.seq, x.off) : undefined
      if (f === undefined || (only !== undefined && !only(f))) {
        out.push(x)
        continue
      }
      const key = compactedKey(f)
      let list = decoded.get(key)
      if (list === undefined) {
        const bytes = sources.get(key)
        if (bytes === undefined) throw new Error(`bug: no sources for compacted value ${key} (file ${f.node})`)
        decoded.set(key, (list = decodeSources(bytes)))
      }
      clipSources(list, x.off - f.base, x.off - f.base + (x.end - x.start), x.start, out)
    }
    node.content.extents = out
  }
  w.compaction = withFiles(compactedInUse(w))
  return w
}

// --- the stored value of one compacted file (journal/README.md) ---
//
//   u8 version (1) | 3 bytes zero | u32 n | f64 length | n x (f64 start, f64 end) | stored bytes
//
// spans are file offsets, in order. The stored bytes are the spans' bytes in order, each span's
// starting at the first position p (from the start of the value) with p = start (mod 8) after the
// previous one's end; the bytes skipped are zeros. A reader whose value and output are 8-aligned then
// copies most of a span 8 bytes at a time (files compacted for their many small extents have many
// small spans, and a copy call per span costs more than the bytes). Positions of the file's range
// outside every span read as zeros (long zero extents are not stored).

const VALUE_VERSION = 1
const VALUE_HEADER = 16

/** Where each span's bytes begin in the value (their alignment rule above), from the spans as
 *  (start, end) pairs; the last entry is the end. */
const spanPositions = (spans: Float64Array): Float64Array => {
  const n = spans.length >> 1
  const out = new Float64Array(n + 1)
  let at = VALUE_HEADER + n * 16
  out[0] = at
  for (let i = 0; i < n; i++) {
    const start = spans[i * 2]
    const end = spans[i * 2 + 1]
    // int32 arithmetic while everything is below 1 GiB: % on doubles is a call into the runtime, and
    // this runs per span
    if (end < 0x4000_0000 && at < 0x4000_0000) at = (at | 0) + (((start | 0) - (at | 0)) & 7)
    else at += (((start - at) % 8) + 8) % 8
    out[i] = at
    at += end - start
    // the end too, inside the loop: V8 compiles a long first call's loop on stack replacement, and a
    // store after the loop, not yet run then, made that code deoptimise once per later call (seen
    // with --trace-deopt in a loop of parseCompacted calls)
    out[i + 1] = at
  }
  return out
}

/** The value for one item, given its stored bytes (what its dataPieces read, back to back). */
export const compactedValue = (item: CompactionItem, data: Uint8Array): Uint8Array => {
  if (data.length !== item.stored) throw new Error(`bug: compacted file ${item.node} stores ${item.stored} bytes, got ${data.length}`)
  const spans = item.spans
  const pairs = new Float64Array(spans.length * 2)
  spans.forEach((x, i) => {
    pairs[i * 2] = x.start
    pairs[i * 2 + 1] = x.end
  })
  const positions = spanPositions(pairs)
  const out = Buffer.alloc(positions[spans.length])
  out[0] = VALUE_VERSION
  out.writeUInt32LE(spans.length, 4)
  out.writeDoubleLE(item.length, 8)
  let at = VALUE_HEADER
  let from = 0
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]
    out.writeDoubleLE(s.start, at)
    out.writeDoubleLE(s.end, at + 8)
    at += 16
    out.set(data.subarray(from, from + (s.end - s.start)), positions[i])
    from += s.end - s.start
  }
  return out
}

/** A compacted value, parsed: its range length, its spans (start, end pairs) and where each span's
 *  bytes are in `value`. */
export interface CompactedBytes {
  readonly length: number
  readonly spans: Float64Array
  readonly positions: Float64Array
  readonly value: Uint8Array
}

/** Parses a value; undefined when it is not one this eyrie reads. */
export const parseCompacted = (value: Uint8Array): CompactedBytes | undefined => {
  if (value.length < VALUE_HEADER || value[0] !== VALUE_VERSION) return undefined
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const n = v.readUInt32LE(4)
  const table = VALUE_HEADER + n * 16
  if (table > value.length) return undefined
  const spans = f64s(value.subarray(VALUE_HEADER, table))
  const positions = spanPositions(spans)
  if (positions[n] !== value.length) return undefined
  return { length: v.readDoubleLE(8), spans, positions, value }
}

/** Every span's bytes, back to back (as the dataPieces of the plan that made the value read them). */
export const storedBytes = (c: CompactedBytes): Buffer => {
  const n = c.spans.length >> 1
  let size = 0
  for (let i = 0; i < n; i++) size += c.spans[i * 2 + 1] - c.spans[i * 2]
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < n; i++) {
    const len = c.spans[i * 2 + 1] - c.spans[i * 2]
    out.set(c.value.subarray(c.positions[i], c.positions[i] + len), at)
    at += len
  }
  return out
}

/** Copies bytes [from, to) of a compacted file (file offsets) into `out` at `at`; `out` is zeros where
 *  no span is (the caller's buffer starts zeroed). Where a span's bytes and their place in `out` are
 *  equally aligned (the stored layout sees to it when both buffers are), the middle of the span goes
 *  8 bytes at a time as integers (every bit pattern copied as it is, which floats would not promise):
 *  a copy call per span costs more than a small span's bytes. */
export const readCompacted = (c: CompactedBytes, from: number, to: number, out: Uint8Array, at: number): void => {
  const s = c.spans
  const n = s.length >> 1
  // first span ending after `from`
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (s[mid * 2 + 1] <= from) lo = mid + 1
    else hi = mid
  }
  const { value, positions } = c
  const sbuf = value.buffer
  const dbuf = out.buffer
  const so = value.byteOffset
  const shift = out.byteOffset + at - from // file offset x goes to dbuf[x + shift]
  // word copies only where every offset is a small integer (within 2 GiB of both buffers' starts)
  if (sbuf.byteLength >= 0x7fff_fff0 || dbuf.byteLength >= 0x7fff_fff0) {
    for (let i = lo; i < n && s[i * 2] < to; i++) {
      const a = s[i * 2] > from ? s[i * 2] : from
      const b = s[i * 2 + 1] < to ? s[i * 2 + 1] : to
      out.set(new Uint8Array(sbuf, so + positions[i] + (a - s[i * 2]), b - a), a + shift - out.byteOffset)
    }
    return
  }
  const sb = new Uint8Array(sbuf)
  const db = new Uint8Array(dbuf)
  const sw = new BigInt64Array(sbuf, 0, sbuf.byteLength >> 3)
  const dw = new BigInt64Array(dbuf, 0, dbuf.byteLength >> 3)
  const si = new Int32Array(sbuf, 0, sbuf.byteLength >> 2)
  const di = new Int32Array(dbuf, 0, dbuf.byteLength >> 2)
  for (let i = lo; i < n; i++) {
    const start = s[i * 2]
    if (start >= to) break
    const end = s[i * 2 + 1]
    const a = start > from ? start : from
    const b = end < to ? end : to
    let src = so + positions[i] + (a - start)
    let dst = a + shift
    const stop = dst + (b - a)
    if (b - a < 24 || ((src ^ dst) & 7) !== 0) {
      out.set(new Uint8Array(sbuf, src, b - a), dst - out.byteOffset)
      continue
    }
    // head and tail: bytes to a 4-byte boundary, then 4 at a time (a span of 100 bytes: 12 words and
    // one int, not 12 words and 4 bytes)
    while ((dst & 3) !== 0) db[dst++] = sb[src++]
    if ((dst & 4) !== 0) {
      di[dst >> 2] = si[src >> 2]
      dst += 4
      src += 4
    }
    let ws = src >> 3
    let wd = dst >> 3
    const we = stop >> 3
    while (wd < we) dw[wd++] = sw[ws++]
    src = ws << 3
    dst = wd << 3
    if (stop - dst >= 4) {
      di[dst >> 2] = si[src >> 2]
      dst += 4
      src += 4
    }
    while (dst < stop) db[dst++] = sb[src++]
  }
}
