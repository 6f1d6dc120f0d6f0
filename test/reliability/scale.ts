// Scale: many short-lived processes, many threads writing one file, many files, one huge sparse file,
// each recorded by `eyrie record` and compared with the disk afterwards; the recorder's peak RSS is
// polled from /proc (VmHWM). Shared by scale.test.ts (small counts) and bench/torture.ts (the issue's).
import { execFile, spawn } from 'node:child_process'
import { mkdir, open, readdir, readFile, lstat, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan, type World } from '../../src/projections/index.js'
import { leftoversAfter, startRecorder, tempDir } from './support.js'

const run = promisify(execFile)

let compiled: Promise<string> | undefined
/** test/reliability/scale.c, compiled once per process. */
export const scaleBinary = (): Promise<string> => {
  compiled ??= (async () => {
    const { dir } = await tempDir('cc')
    const out = join(dir, 'scale')
    await run('cc', ['-O2', '-Wall', '-Wextra', '-pthread', '-o', out, join(import.meta.dirname, 'scale.c')])
    return out
  })()
  return compiled
}

export interface ScaleResult {
  readonly name: string
  readonly status: number | null
  readonly events: number
  readonly recordMs: number
  /** the same command without eyrie */
  readonly plainMs: number
  readonly peakRssKiB: number
  /** files compared with the disk, and their bytes */
  readonly files: number
  readonly bytes: number
  readonly mismatches: readonly string[]
  readonly stderr: string
}

const diskFiles = async (dir: string): Promise<string[]> => {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name)
      const st = await lstat(p)
      if (st.isDirectory()) await walk(p)
      else if (st.isFile()) out.push(p)
    }
  }
  await walk(dir)
  return out.sort()
}

/** Every regular file under dir, byte for byte as the journal has it at the end. */
const compareTree = async (j: Journal, guest: string, w: World, dir: string): Promise<{ files: number; bytes: number; mismatches: string[] }> => {
  const mismatches: string[] = []
  let bytes = 0
  const files = await diskFiles(dir)
  for (const path of files) {
    const plan = contentPlan(w, path)
    if (!plan.ok) {
      mismatches.push(`${path}: ${plan.reason}`)
      continue
    }
    const { bytes: got, unknown } = await materialize(j, guest, plan.pieces)
    const disk = await readFile(path)
    bytes += disk.length
    if (unknown.length > 0) mismatches.push(`${path}: ${unknown.length} unknown range(s)`)
    else if (!got.equals(disk)) mismatches.push(`${path}: ${got.length} bytes recorded differ from ${disk.length} on disk${firstDifference(got, disk)}`)
  }
  return { files: files.length, bytes, mismatches }
}

const firstDifference = (a: Buffer, b: Buffer): string => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return ` (first at byte ${i}: ${JSON.stringify(a.subarray(i, i + 24).toString('latin1'))} vs ${JSON.stringify(b.subarray(i, i + 24).toString('latin1'))})`
  return ''
}

/** A huge sparse file, without materialising it: every piece is journal bytes (compared with the
 *  disk) or known zeros (sampled on the disk); nothing unknown; the size agrees; the file on disk
 *  stayed sparse. */
const compareSparse = async (j: Journal, guest: string, w: World, path: string): Promise<{ files: number; bytes: number; mismatches: string[] }> => {
  const mismatches: string[] = []
  const plan = contentPlan(w, path)
  if (!plan.ok) return { files: 1, bytes: 0, mismatches: [plan.reason] }
  const st = await stat(path)
  if (plan.size !== st.size) mismatches.push(`${path}: size ${plan.size} recorded, ${st.size} on disk`)
  if (st.blocks * 512 > Math.max(64 << 20, st.size / 16)) mismatches.push(`${path}: ${st.blocks * 512} bytes allocated on disk: not sparse`)
  const fh = await open(path, 'r')
  let bytes = 0
  try {
    const read = async (start: number, end: number): Promise<Buffer> => {
      const buf = Buffer.alloc(end - start)
      await fh.read(buf, 0, buf.length, start)
      return buf
    }
    const written = plan.pieces.filter((p) => !('unknown' in p) && p.seq !== 0)
    for (const p of plan.pieces) {
      if ('unknown' in p) mismatches.push(`${path}: unknown bytes [${p.start}, ${p.end})`)
      else if (p.seq === 0 && (await read(p.start, Math.min(p.end, p.start + 4096))).some((b) => b !== 0)) mismatches.push(`${path}: zeros recorded at ${p.start}, data on disk`)
    }
    for (let i = 0; i < written.length; i += 256) {
      const batch = written.slice(i, i + 256)
      const { bytes: got } = await materialize(j, guest, batch.map((p) => ({ ...p, start: p.start - batch[0].start, end: p.end - batch[0].start })))
      for (const p of batch) {
        const disk = await read(p.start, p.end)
        bytes += disk.length
        if (!got.subarray(p.start - batch[0].start, p.end - batch[0].start).equals(disk)) mismatches.push(`${path}: bytes [${p.start}, ${p.end}) differ`)
      }
    }
  } finally {
    await fh.close()
  }
  return { files: 1, bytes, mismatches }
}

export interface ScaleSpec {
  readonly name: string
  /** the command, run in the work directory */
  readonly argv: readonly string[]
  /** a path under the work directory for a sparse comparison; the whole tree otherwise */
  readonly sparse?: string
}

export const scaleRun = async (spec: ScaleSpec): Promise<ScaleResult> => {
  const { dir, cleanup } = await tempDir(`scale-${spec.name}`)
  try {
    const work = join(dir, 'work')
    const plainDir = join(dir, 'plain')
    await mkdir(work)
    await mkdir(plainDir)
    const t0 = performance.now()
    // not spawnSync: a blocked event loop would stop another run's recorder polling its peak RSS
    const plain = await new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      const child = spawn(spec.argv[0], spec.argv.slice(1), { cwd: plainDir, stdio: 'ignore' })
      child.once('error', reject)
      child.once('close', (status, signal) => resolve({ status, signal }))
    })
    const plainMs = performance.now() - t0
    if (plain.status !== 0) throw new Error(`${spec.name}: the workload fails without eyrie (${plain.status ?? plain.signal})`)
    const journal = join(dir, 'journal')
    const rec = startRecorder({ journal, guest: spec.name, cwd: work, argv: spec.argv, options: ['--checkpoint-every', '50000'] })
    const exit = await rec.exited
    const leftovers = await leftoversAfter(rec.tag)
    const j = await openLmdbJournal(journal, { readOnly: true })
    try {
      const events = await j.lastSeq(spec.name)
      const w = await worldAt(j, spec.name, events)
      const cmp = spec.sparse === undefined ? await compareTree(j, spec.name, w, work) : await compareSparse(j, spec.name, w, join(work, spec.sparse))
      const mismatches = [...(leftovers.length > 0 ? [`left running: ${leftovers.map((p) => p.cmd).join('; ')}`] : []), ...cmp.mismatches]
      return { name: spec.name, status: exit.status, events, recordMs: exit.ms, plainMs, peakRssKiB: rec.peakKiB(), files: cmp.files, bytes: cmp.bytes, mismatches, stderr: exit.stderr }
    } finally {
      await j.close()
    }
  } finally {
    await cleanup()
  }
}

export interface ScaleCounts {
  readonly processes: number
  readonly threads: number
  readonly writesPerThread: number
  readonly files: number
  readonly sparseBytes: number
  readonly sparseWrites: number
}

export const SMALL: ScaleCounts = { processes: 200, threads: 16, writesPerThread: 200, files: 2000, sparseBytes: 1 << 30, sparseWrites: 200 }
export const ISSUE: ScaleCounts = { processes: 1000, threads: 100, writesPerThread: 1000, files: 100_000, sparseBytes: 4 * 2 ** 30, sparseWrites: 5000 }

/** The issue's scenarios at the given counts. `append` and `shared` are threads on one descriptor:
 *  their records land in the order the kernel applied them, which the journal must have too. */
export const scaleSpecs = async (c: ScaleCounts): Promise<ScaleSpec[]> => {
  const bin = await scaleBinary()
  return [
    { name: 'processes', argv: ['sh', '-c', `i=0; while [ $i -lt ${c.processes} ]; do i=$((i+1)); /bin/echo "process $i" > "p$((i % 50)).txt"; done`] },
    { name: 'threads-pwrite', argv: [bin, 'pwrite', String(c.threads), String(c.writesPerThread), 'one.file'] },
    { name: 'threads-append', argv: [bin, 'append', String(c.threads), String(c.writesPerThread), 'one.file'] },
    { name: 'threads-shared', argv: [bin, 'shared', String(c.threads), String(c.writesPerThread), 'one.file'] },
    { name: 'files', argv: [bin, 'files', String(c.files), '.'] },
    { name: 'sparse', argv: [bin, 'sparse', String(c.sparseBytes), String(c.sparseWrites), 'huge.file', '42'], sparse: 'huge.file' },
  ]
}
