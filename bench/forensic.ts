// Forensic benchmarks (node --import tsx bench/forensic.ts [--quick] [--only export|diff|retention]):
//   export --at T throughput for a ~1 GiB tree (directory and tar),
//   diff time over 1 M events,
//   journal bytes per recorded MiB of writes, forensic vs live retention.
// Journals are built straight from drafts (no strace): the point is eyrie's cost, not the tracer's.
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, type Body, type Draft } from '../src/events/index.js'
import { openLmdbJournal } from '../src/journal/lmdb.js'
import type { Journal } from '../src/journal/journal.js'
import { Ingest } from '../src/engine/replay.js'
import { exportAt } from '../src/forensic/export.js'
import { openDirTarget, openTarTarget } from '../src/forensic/exportTargets.js'
import { diff } from '../src/forensic/diff.js'
import { Retention } from '../src/forensic/retention.js'
import { diskUsage } from '../src/forensic/info.js'

const quick = process.argv.includes('--quick')
const MiB = 1 << 20
const rows: string[] = []
const report = (line: string) => {
  rows.push(line)
  console.log(line)
}

class Drafts {
  readonly list: Draft[] = []
  private ts = 1_700_000_000_000_000_000n
  add(pid: number, body: Body, data?: Uint8Array): void {
    this.ts += 1000n
    this.list.push(data === undefined ? { ts: this.ts, pid, tid: pid, body } : { ts: this.ts, pid, tid: pid, body, data })
  }
}

const withJournal = async <T>(f: (j: Journal, dir: string) => Promise<T>): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-bench-'))
  const j = await openLmdbJournal(join(dir, 'journal'), { noSync: true })
  try {
    return await f(j, dir)
  } finally {
    await j.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const ingestAll = async (j: Journal, guest: string, drafts: readonly Draft[], every: number, after?: () => Promise<void>, batch = 2000): Promise<void> => {
  const ingest = await Ingest.open(j, guest, every)
  for (let i = 0; i < drafts.length; i += batch) {
    await ingest.push(drafts.slice(i, i + batch))
    if (after !== undefined) {
      await ingest.finish()
      await after()
    }
  }
  await ingest.finish()
}

/** files x size bytes, written in 64 KiB writes, in 16 directories. */
const treeDrafts = (files: number, size: number): Draft[] => {
  const d = new Drafts()
  d.add(1, { kind: 'file.mkdir', path: '/tree' })
  for (let k = 0; k < 16; k++) d.add(1, { kind: 'file.mkdir', path: `/tree/d${k}` })
  const chunk = Buffer.alloc(64 * 1024)
  for (let f = 0; f < files; f++) {
    d.add(1, { kind: 'fd.open', fd: 3, path: `/tree/d${f % 16}/f${f}.bin`, flags: O_WRONLY | O_CREAT | O_TRUNC, inode: null, created: true })
    for (let off = 0; off < size; off += chunk.length) {
      const data = Buffer.from(chunk.subarray(0, Math.min(chunk.length, size - off)))
      data.writeUInt32LE(f, 0)
      data.writeUInt32LE(off, 4)
      d.add(1, { kind: 'file.write', fd: 3, offset: null, len: data.length, known: data.length }, data)
    }
    d.add(1, { kind: 'fd.close', fd: 3 })
  }
  return d.list
}

const exportThroughput = async () => {
  const files = Number(process.env.EYRIE_BENCH_FILES ?? (quick ? 256 : 1024))
  const size = MiB
  await withJournal(async (j, dir) => {
    await ingestAll(j, 'tree', treeDrafts(files, size), 50_000)
    const end = await j.lastSeq('tree')
    const bytes = files * size
    for (const kind of (process.argv.includes('--tar-first') ? ['tar', 'dir'] : ['dir', 'tar']) as Array<'dir' | 'tar'>) {
      const out = join(dir, kind === 'tar' ? 'tree.tar' : 'out')
      // the journal was just written with noSync: let the kernel write it back first, or the first
      // export pays for it
      execFileSync('sync')
      const t0 = performance.now()
      const m = await exportAt(j, 'tree', end, (ts) => (kind === 'tar' ? openTarTarget(out, new Date(Number((ts ?? 0n) / 1_000_000n))) : openDirTarget(out)))
      const s = (performance.now() - t0) / 1000
      if (m.totals.bytes !== bytes) throw new Error(`exported ${m.totals.bytes} bytes, expected ${bytes}`)
      report(`export --at end to ${kind === 'tar' ? 'FILE.tar' : 'DIR'}: ${files} files, ${(bytes / MiB).toFixed(0)} MiB in ${s.toFixed(2)} s = ${(bytes / MiB / s).toFixed(0)} MiB/s (sha256 of every file included)`)
      await rm(out, { recursive: true, force: true })
    }
  })
}

/** n events of a busy build: files created, written, renamed, some deleted; processes come and go. */
const busyDrafts = (n: number): Draft[] => {
  const d = new Drafts()
  d.add(1, { kind: 'file.mkdir', path: '/b' })
  let i = 0
  let pid = 100
  const data = Buffer.from('0123456789abcdef')
  while (d.list.length < n) {
    const p = pid++
    d.add(1, { kind: 'proc.spawn', child: p, thread: false, shareFiles: false })
    d.add(p, { kind: 'proc.exec', path: '/usr/bin/cc', argv: ['cc', `f${i}.c`] })
    for (let k = 0; k < 10 && d.list.length < n; k++, i++) {
      const path = `/b/f${i % 20_000}.o`
      d.add(p, { kind: 'fd.open', fd: 3, path, flags: O_RDWR | O_CREAT | O_TRUNC, inode: null, created: null })
      d.add(p, { kind: 'file.write', fd: 3, offset: null, len: data.length, known: data.length }, data)
      d.add(p, { kind: 'fd.seek', fd: 3, pos: 0 })
      d.add(p, { kind: 'fd.read', fd: 3, len: 16 })
      d.add(p, { kind: 'fd.close', fd: 3 })
      if (i % 7 === 0) d.add(p, { kind: 'file.rename', from: path, to: `${path}.old`, flags: 0 })
      if (i % 11 === 0) d.add(p, { kind: 'file.unlink', path: `/b/f${(i + 5000) % 20_000}.o.old` })
    }
    d.add(p, { kind: 'proc.exit', status: 0, thread: false })
  }
  return d.list.slice(0, n)
}

const diffTime = async () => {
  const n = quick ? 100_000 : 1_000_000
  await withJournal(async (j) => {
    await ingestAll(j, 'busy', busyDrafts(n), 50_000)
    for (const [from, activity] of [[0, true], [n / 2, true], [0, false]] as const) {
      const t0 = performance.now()
      const d = await diff(j, 'busy', from, n, { activity })
      const s = (performance.now() - t0) / 1000
      report(`diff #${from} #${n}${activity ? '' : ' --no-activity'}: ${d.files.length} file changes, ${d.procs.length} process changes, ${d.activity.events} events in between, in ${s.toFixed(2)} s`)
    }
  })
}

/** A state file of 1 MiB rewritten in 64 KiB pwrites with an fsync per round, plus an append-only log. */
const writerDrafts = (rounds: number): { drafts: Draft[]; written: number } => {
  const d = new Drafts()
  let written = 0
  d.add(1, { kind: 'file.mkdir', path: '/s' })
  d.add(1, { kind: 'fd.open', fd: 3, path: '/s/state', flags: O_RDWR | O_CREAT | O_TRUNC, inode: null, created: true })
  d.add(1, { kind: 'fd.open', fd: 4, path: '/s/log', flags: O_WRONLY | O_CREAT | O_TRUNC, inode: null, created: true })
  for (let r = 0; r < rounds; r++) {
    for (let off = 0; off < MiB; off += 64 * 1024) {
      const data = Buffer.alloc(64 * 1024, r % 251)
      d.add(1, { kind: 'file.write', fd: 3, offset: off, len: data.length, known: data.length }, data)
      written += data.length
    }
    d.add(1, { kind: 'file.flush', fd: 3 })
    const line = Buffer.from(`round ${r} done\n`)
    d.add(1, { kind: 'file.write', fd: 4, offset: null, len: line.length, known: line.length }, line)
    d.add(1, { kind: 'file.flush', fd: 4 })
    written += line.length
  }
  return { drafts: d.list, written }
}

const retentionBytes = async () => {
  const rounds = quick ? 20 : 200
  const { drafts, written } = writerDrafts(rounds)
  for (const mode of ['forensic', 'live'] as const) {
    await withJournal(async (j, dir) => {
      const r = new Retention(j, 'w')
      // a live recorder: checkpoints every 100 events (~6 rounds), gc after each batch of 50
      await ingestAll(j, 'w', drafts, 100, mode === 'live' ? async () => void (await r.collect()) : undefined, 50)
      if (mode === 'live') await r.collect({ upTo: await j.lastSeq('w'), checkpoint: true })
      await j.flush()
      const disk = await diskUsage(join(dir, 'journal'))
      const payload = (await j.guests())[0].payloadBytes
      const files = disk.files.filter((f) => f.name !== 'lock.mdb' && f.name !== 'writer.lock').map((f) => `${f.name} ${(f.bytes / MiB).toFixed(1)}`).join(' + ')
      report(`journal, ${mode} mode: ${(written / MiB).toFixed(0)} MiB written (${rounds} fsync'd rewrites of a 1 MiB file + a log): ${files} = ${(disk.bytes / MiB).toFixed(1)} MiB = ${(disk.bytes / (written / MiB) / 1024).toFixed(1)} KiB per recorded MiB; payload kept ${(payload / MiB).toFixed(2)} MiB`)
    })
  }
}

// --only export|diff|retention runs one section
const only = process.argv[process.argv.indexOf('--only') + 1]
const wanted = (name: string) => !process.argv.includes('--only') || only === name
if (wanted('export')) await exportThroughput()
if (wanted('diff')) await diffTime()
if (wanted('retention')) await retentionBytes()
console.log(`\n${rows.join('\n')}`)
