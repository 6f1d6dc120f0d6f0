// Engine benchmarks (npm run bench:engine): fold rate, `at T cat` latency from a checkpoint, memory
// while replaying a long journal. Figures are printed as a table; budgets live in the issue notes.
// Run: node --import tsx bench/engine.ts [--quick] [--only fold,cat,replay]
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { O_CREAT, O_RDWR, O_TRUNC, type Body, type Draft, type Event } from '../src/events/index.js'
import { emptyWorld, evolve, contentPlan, readPlan } from '../src/projections/index.js'
import { openLmdbJournal } from '../src/journal/lmdb.js'
import { prepareCheckpoint, writeCheckpoint } from '../src/journal/checkpoint.js'
import { Ingest, worldAt } from '../src/engine/replay.js'
import { materialize } from '../src/engine/content.js'
import type { Journal } from '../src/journal/journal.js'

const quick = process.argv.includes('--quick')
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt < 0 ? undefined : (process.argv[onlyAt + 1] ?? '').split(',')
const runs = (name: string): boolean => only === undefined || only.includes(name)
const rows: Array<[string, string, string]> = []
const report = (what: string, value: string, target: string) => {
  rows.push([what, value, target])
  console.log(`${what}: ${value} (target ${target})`)
}

/** Metadata events of a busy process tree: open, seek, read, dup, close cycles over 64 files. */
const metadataBody = (i: number): Body => {
  const fd = 3 + (i >> 3) % 16
  switch (i % 8) {
    case 0: return { kind: 'fd.open', fd, path: `/data/file${(i >> 3) % 64}`, flags: O_RDWR, inode: null, created: null }
    case 1: return { kind: 'fd.seek', fd, pos: i % 4096 }
    case 2: return { kind: 'fd.read', fd, len: 512 }
    case 3: return { kind: 'fd.dup', fd, newFd: fd + 100, cloexec: false }
    case 4: return { kind: 'fd.read', fd: fd + 100, len: 64 }
    case 5: return { kind: 'fd.close', fd: fd + 100 }
    case 6: return { kind: 'fd.seek', fd, pos: 0 }
    default: return { kind: 'fd.close', fd }
  }
}

const foldRate = () => {
  const n = quick ? 200_000 : 4_000_000
  const events: Event[] = []
  for (let i = 0; i < n; i++) events.push({ ...metadataBody(i), guest: 'b', seq: i + 1, ts: BigInt(i), pid: 100 + (i >> 3) % 4, tid: 100 })
  const w = emptyWorld()
  for (let i = 0; i < Math.min(n, 100_000); i++) evolve(emptyWorld(), events[i]) // warm up the JIT
  const t0 = performance.now()
  for (const e of events) evolve(w, e)
  const s = (performance.now() - t0) / 1000
  report('fold, metadata events/s (one core)', `${(n / s / 1e6).toFixed(2)} M/s`, '>= 2 M/s')
}

const catLatency = async (dir: string) => {
  const j = await openLmdbJournal(join(dir, 'cat'))
  const ing = await Ingest.open(j, 'g', 1_000_000)
  const extents = quick ? 1000 : 10_000
  const drafts: Draft[] = [{ ts: 1n, pid: 1, tid: 1, body: { kind: 'fd.open', fd: 3, path: '/big', flags: O_RDWR | O_CREAT | O_TRUNC, inode: null, created: true } }]
  // scattered 100-byte writes over a 4 MB file: a map of ~`extents` extents
  for (let i = 0; i < extents; i++) {
    const data = Buffer.alloc(100, i % 251)
    drafts.push({ ts: BigInt(i + 2), pid: 1, tid: 1, body: { kind: 'file.write', fd: 3, offset: ((i * 7919) % extents) * 400, len: 100, known: 100 }, data })
  }
  await ing.push(drafts)
  await ing.finish()
  const last = await j.lastSeq('g')
  // the checkpoint as Ingest writes one (the file's content compacted beside it)
  await writeCheckpoint(j, 'g', prepareCheckpoint(ing.now))
  const w0 = await worldAt(j, 'g', last)
  const plan0 = contentPlan(w0, '/big')
  const raw = readPlan(ing.now.nodes.get(ing.now.names.get('/big') ?? -1)?.content ?? { extents: [], size: 0 }).length
  const rounds = quick ? 20 : 200
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const measure = async (journal: Journal, what: string): Promise<void> => {
    const times: number[] = []
    const parts = { world: [] as number[], read: [] as number[] }
    const cat = async () => {
      const plan = contentPlan(await worldAt(journal, 'g', last), '/big')
      if (!plan.ok) throw new Error(plan.reason)
      await materialize(journal, 'g', plan.pieces)
    }
    for (let i = 0; i < rounds / 10; i++) await cat() // not counted: compiling, and the GC of what came before
    // CPU time too (all threads: GC's included): on a shared machine it says more than the clock
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now()
      const w = await worldAt(journal, 'g', last)
      const t1 = performance.now()
      const plan = contentPlan(w, '/big')
      if (!plan.ok) throw new Error(plan.reason)
      await materialize(journal, 'g', plan.pieces)
      const t2 = performance.now()
      times.push(t2 - t0)
      parts.world.push(t1 - t0)
      parts.read.push(t2 - t1)
    }
    const cpu = process.cpuUsage(cpu0)
    report(`at T cat, a file of ${raw} pieces (${plan0.ok ? plan0.pieces.length : 0} from the checkpoint), ${what}, p50`,
      `${p50(times).toFixed(3)} ms (checkpoint ${p50(parts.world).toFixed(3)} ms + read ${p50(parts.read).toFixed(3)} ms; CPU ${((cpu.user + cpu.system) / 1000 / rounds).toFixed(3)} ms mean)`, '< 1 ms')
  }
  // repeated in one process: the compacted value's crc is checked at its first read (src/journal/compactedChecks.ts)
  await measure(j, 'repeated')
  await j.close()
  // as the first read of the value in a process: its crc checked on every read
  const every = await openLmdbJournal(join(dir, 'cat'), { readOnly: true, compactedChecks: 'every read' })
  await measure(every, 'crc checked on every read')
  await every.close()
  // a process's first cat, as every CLI command's is: V8 runs the loops in its interpreter until it has
  // compiled them (node's own start and the journal's opening not counted)
  const firsts: number[] = []
  for (let i = 0; i < (quick ? 1 : 5); i++) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--first-cat', join(dir, 'cat'), String(last)], { encoding: 'utf8' })
    if (child.status !== 0) throw new Error(`first cat: ${child.stderr}`)
    firsts.push(Number(child.stdout.trim()))
  }
  report(`at T cat, the same, a fresh process's first, p50 of ${firsts.length} processes`, `${p50(firsts).toFixed(1)} ms (${Math.min(...firsts).toFixed(1)}-${Math.max(...firsts).toFixed(1)})`, '< 1 ms')
}

/** `--first-cat DIR SEQ`: prints how long this process's first cat of /big at SEQ took, in ms. */
const firstCat = async (path: string, seq: number): Promise<void> => {
  const j = await openLmdbJournal(path, { readOnly: true })
  const t0 = performance.now()
  const plan = contentPlan(await worldAt(j, 'g', seq), '/big')
  if (!plan.ok) throw new Error(plan.reason)
  await materialize(j, 'g', plan.pieces)
  console.log(performance.now() - t0)
  await j.close()
}

const replayMemory = async (dir: string) => {
  const n = quick ? 200_000 : 10_000_000
  const j = await openLmdbJournal(join(dir, 'mem'))
  const batch = 10_000
  const t0 = performance.now()
  for (let i = 0; i < n; i += batch) {
    const drafts: Draft[] = []
    for (let k = i; k < i + batch; k++) drafts.push({ ts: BigInt(k), pid: 100 + (k >> 3) % 4, tid: 100, body: metadataBody(k) })
    await j.append('m', drafts).committed
  }
  const appendS = (performance.now() - t0) / 1000
  global.gc?.()
  // heap, not RSS: LMDB's pages are mapped into the process, so RSS grows with the file read, not
  // with what the engine keeps
  const base = process.memoryUsage().heapUsed
  let peak = base
  const t1 = performance.now()
  const w = emptyWorld()
  let seen = 0
  for await (const b of j.read('m', 1, n)) {
    for (const e of b) evolve(w, e)
    seen += b.length
    if (seen % 500_000 < b.length) peak = Math.max(peak, process.memoryUsage().heapUsed)
  }
  const replayS = (performance.now() - t1) / 1000
  report(`replay ${n / 1e6} M events from LMDB (read + decode + fold)`, `${(n / replayS / 1e6).toFixed(2)} M/s, heap ${(base / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MiB`, 'flat in journal length')
  report('append (metadata events, batches of 10k, await commit)', `${(n / appendS / 1e6).toFixed(2)} M/s`, '>= 1 M/s')
  await j.close()
}

const firstAt = process.argv.indexOf('--first-cat')
if (firstAt >= 0) {
  await firstCat(process.argv[firstAt + 1], Number(process.argv[firstAt + 2]))
  process.exit(0)
}

const dir = await mkdtemp(join(tmpdir(), 'eyrie-bench-'))
try {
  if (runs('fold')) foldRate()
  if (runs('cat')) await catLatency(dir)
  if (runs('replay')) await replayMemory(dir)
} finally {
  await rm(dir, { recursive: true, force: true })
}
console.log('\n| measure | value | target |\n|---|---|---|')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
