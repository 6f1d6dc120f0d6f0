// The file corpus behind three workloads (7z compress, 7z decompress, tar extract): many small files
// and a few large ones, in nested directories, of four kinds that compress differently (prose-like
// text, source-like text, fixed-size binary records, incompressible bytes). Generated, not copied
// from the machine, so that every machine benchmarks the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { below, seeded, unit, vocabulary, type Random } from './random.js'

export interface CorpusSize {
  readonly files: number
  /** total bytes, approximately (sizes are scaled to it) */
  readonly bytes: number
}

export interface CorpusFile { readonly path: string; readonly size: number }

type Kind = 'text' | 'code' | 'records' | 'random'

/** Every LARGE_EVERY-th file is large (1 to 6 units); the rest are 256 B to 64 KiB, log-uniform. */
const LARGE_EVERY = 250

const plan = (r: Random, size: CorpusSize): Array<{ path: string; weight: number; kind: Kind }> => {
  const dirs = Math.max(1, Math.round(size.files / 100))
  const out: Array<{ path: string; weight: number; kind: Kind }> = []
  for (let i = 0; i < size.files; i++) {
    const d = i % dirs
    const path = join(`d${String(d).padStart(3, '0')}`, `s${(i >> 3) % 3}`, `f${String(i).padStart(5, '0')}.${['txt', 'c', 'dat', 'bin'][i % 4]}`)
    const large = i % LARGE_EVERY === LARGE_EVERY - 1
    const weight = large ? (1 + unit(r) * 5) * 2 ** 20 : 256 * Math.exp(unit(r) * Math.log(256))
    const pick = below(r, 100)
    const kind: Kind = pick < 55 ? 'text' : pick < 80 ? 'code' : pick < 95 ? 'records' : 'random'
    out.push({ path, weight, kind })
  }
  return out
}

class Writer {
  readonly words: Buffer[]
  constructor(readonly r: Random) {
    this.words = vocabulary(r, 4000).map((w) => Buffer.from(w))
  }

  /** a word, skewed towards the start of the vocabulary as word frequencies are */
  word(): Buffer {
    const u = unit(this.r)
    return this.words[Math.floor(this.words.length * u * u * u)]
  }

  text(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    let p = 0
    let col = 0
    while (p < n) {
      const w = this.word()
      if (p + w.length + 1 > n) break
      b.set(w, p)
      p += w.length
      col += w.length + 1
      const x = below(this.r, 16)
      b[p++] = col > 72 ? 10 : x === 0 ? 46 : x === 1 ? 44 : 32
      if (col > 72) col = 0
    }
    b.fill(10, p)
    return b
  }

  code(n: number): Buffer {
    const lines: string[] = []
    let len = 0
    let depth = 0
    while (len < n) {
      const a = this.word().toString()
      const c = this.word().toString()
      const k = below(this.r, 6)
      const pad = '  '.repeat(depth)
      const line = k === 0 && depth < 4 ? `${pad}static int ${a}_${c}(struct ${c} *p, int n) {`
        : k === 1 && depth > 0 ? `${pad}}`
        : k === 2 ? `${pad}for (int i = 0; i < n; i++) p->${a}[i] += ${below(this.r, 1000)};`
        : k === 3 ? `${pad}if (${a} != ${c}) return -${1 + below(this.r, 40)};`
        : k === 4 ? `${pad}/* ${a} ${c} ${this.word().toString()} */`
        : `${pad}${a} = ${c}(${a}, ${below(this.r, 65536)});`
      depth += k === 0 && depth < 4 ? 1 : k === 1 && depth > 0 ? -1 : 0
      lines.push(line)
      len += line.length + 1
    }
    const b = Buffer.from(lines.join('\n') + '\n')
    return b.subarray(0, n)
  }

  records(n: number): Buffer {
    const b = Buffer.alloc(n)
    let id = below(this.r, 1_000_000)
    for (let p = 0; p + 64 <= n; p += 64) {
      b.writeUInt32LE(id++, p)
      b.writeUInt32LE(below(this.r, 5000), p + 4)
      b.writeDoubleLE(Math.round(unit(this.r) * 10000) / 100, p + 8)
      this.word().copy(b, p + 16, 0, 32)
      b.writeUInt16LE(below(this.r, 16), p + 48)
    }
    return b
  }

  random(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    let p = 0
    for (; p + 4 <= n; p += 4) b.writeUInt32LE(this.r(), p)
    for (; p < n; p++) b[p] = this.r() & 0xff
    return b
  }
}

/** Writes the corpus under `dir` (which must not exist yet) and lists what it wrote. */
export const writeCorpus = (dir: string, size: CorpusSize, seed = 170): CorpusFile[] => {
  const r = seeded(seed)
  const files = plan(r, size)
  const scale = size.bytes / files.reduce((s, f) => s + f.weight, 0)
  const w = new Writer(r)
  const out: CorpusFile[] = []
  const made = new Set<string>()
  for (const f of files) {
    const n = Math.max(1, Math.round(f.weight * scale))
    const full = join(dir, f.path)
    const parent = full.slice(0, full.lastIndexOf('/'))
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true })
      made.add(parent)
    }
    const bytes = f.kind === 'text' ? w.text(n) : f.kind === 'code' ? w.code(n) : f.kind === 'records' ? w.records(n) : w.random(n)
    writeFileSync(full, bytes)
    out.push({ path: f.path, size: bytes.length })
  }
  return out
}
