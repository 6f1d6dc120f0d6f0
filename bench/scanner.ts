// Scanner latencies against a private clamd on the test signatures:
//   node --import tsx bench/scanner.ts [runs-per-size]
// - a scan through eyrie's Scanner (pool, no cache) vs a plain clamscan scanStream call (one
//   NodeClam, one stream), p50 for 4 KiB / 1 MiB / 16 MiB;
// - a cached verdict (hash + lookup), and the gate's exec decision for an unchanged binary (stamp
//   from stat, memo, cache): the latency an exec of a cached binary adds;
// - parallel: 8 different 1 MiB contents at once through a pool of 4 vs one after another.
import { randomBytes } from 'node:crypto'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import NodeClam from 'clamscan'
import { openLmdbJournal } from '../src/journal/lmdb.js'
import { Ingest } from '../src/engine/replay.js'
import { startClamd } from '../src/scanner/clamd.js'
import { Gate } from '../src/scanner/gate.js'
import { liveSource } from '../src/scanner/live.js'
import { Scanner, sha256Of } from '../src/scanner/scanner.js'

const SIGNATURES = new URL('../test/fixtures/signatures', import.meta.url).pathname
const runs = Number(process.argv[2] ?? 30)

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]
}

const time = async (n: number, f: () => Promise<unknown>): Promise<number[]> => {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await f()
    out.push(performance.now() - t)
  }
  return out
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`)

const main = async () => {
  const clamd = await startClamd({ signatures: SIGNATURES, threads: 8 })
  const root = await mkdtemp(join(tmpdir(), 'eyrie-bench-scan-'))
  try {
    const socket = 'socket' in clamd.endpoint ? clamd.endpoint.socket : ''
    const pool = await Scanner.open(clamd, { cacheEntries: 0, connections: 4, timeoutMs: 60_000 })
    const plain = await new NodeClam().init({ clamscan: { active: false }, clamdscan: { socket, timeout: 60_000, localFallback: false, active: true, bypassTest: true }, preference: 'clamdscan' })
    console.log(`clamd: ${pool.describe()}; ${runs} runs per size (fewer for 16 MiB)`)
    console.log('size      eyrie pool p50   plain clamscan p50   (p90 pool / plain)')
    for (const [label, size] of [['4 KiB', 4096], ['1 MiB', 1 << 20], ['16 MiB', 16 << 20]] as const) {
      const bytes = randomBytes(size)
      const n = size >= 16 << 20 ? Math.max(5, Math.floor(runs / 4)) : runs
      await time(3, () => pool.scanBytes(bytes)) // warm both paths
      await time(3, () => plain.scanStream(Readable.from([bytes])))
      const a = await time(n, () => pool.scanBytes(bytes))
      const b = await time(n, () => plain.scanStream(Readable.from([bytes])))
      console.log(`${label.padEnd(9)} ${fmt(pct(a, 50)).padEnd(16)} ${fmt(pct(b, 50)).padEnd(20)} (${fmt(pct(a, 90))} / ${fmt(pct(b, 90))})`)
    }

    const fresh = randomBytes(4096)
    const perCall = await time(runs, async () => {
      const c = await new NodeClam().init({ clamscan: { active: false }, clamdscan: { socket, timeout: 60_000, localFallback: false, active: true }, preference: 'clamdscan' })
      return c.scanStream(Readable.from([fresh]))
    })
    console.log(`4 KiB, a new clamscan instance per call (init pings clamd, then scanStream): p50 ${fmt(pct(perCall, 50))}`)

    const cached = await Scanner.open(clamd, { timeoutMs: 60_000 })
    const small = randomBytes(4096)
    await cached.scanBytes(small)
    const hit = await time(runs * 100, () => cached.scanBytes(small))
    const sha = sha256Of(small)
    const lookups: number[] = []
    for (let i = 0; i < runs * 100; i++) {
      const t = performance.now()
      cached.cached(sha)
      lookups.push(performance.now() - t)
    }
    console.log(`cached verdict, 4 KiB (sha256 + lookup): p50 ${fmt(pct(hit, 50))}, p99 ${fmt(pct(hit, 99))}; lookup by hash alone p50 ${fmt(pct(lookups, 50))}`)

    const journal = await openLmdbJournal(join(root, 'journal'))
    const ingest = await Ingest.open(journal, 'bench')
    const gate = new Gate({ scanner: cached, source: liveSource({ journal, guest: 'bench', world: () => ingest.now }) })
    for (const [label, size] of [['64 KiB', 64 << 10], ['2 MiB', 2 << 20]] as const) {
      const bin = join(root, `tool-${size}`)
      await writeFile(bin, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(size)]), { mode: 0o755 })
      const first = await time(1, () => gate.decideExec(bin))
      const again = await time(runs * 20, () => gate.decideExec(bin))
      console.log(`exec decision, unchanged ${label} binary: first ${fmt(first[0])}, then p50 ${fmt(pct(again, 50))}, p99 ${fmt(pct(again, 99))}`)
    }
    await journal.close()

    const contents = Array.from({ length: 8 }, () => randomBytes(1 << 20))
    const seq0 = performance.now()
    for (const c of contents) await pool.scanBytes(c)
    const seqMs = performance.now() - seq0
    const par0 = performance.now()
    await Promise.all(contents.map((c) => pool.scanBytes(c)))
    const parMs = performance.now() - par0
    console.log(`8 x 1 MiB: one after another ${fmt(seqMs)}, at once through a pool of 4 ${fmt(parMs)} (${(seqMs / parMs).toFixed(2)}x)`)
  } finally {
    await clamd.stop()
    await rm(root, { recursive: true, force: true })
  }
}

await main()
