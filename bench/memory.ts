// How the recorder's memory grows with what a workload writes: the peak RSS (VmHWM) of `eyrie record`
// and of `eyrie record --scan` (every closed file judged by clamd) while a program writes N files of
// 100 KiB of random bytes, for each N given:
//   node --import tsx bench/memory.ts [--files 2000,12000] [--rounds 1]   (after npm run build)
// R(now) keeps a little state per file, so the peak may grow with N, but by far less than the bytes
// written: the last line is MiB of peak per 100 MB written between the smallest and largest N. A
// memo that kept a view of each judged file's content (fixed in f8ad033) showed as ~100 MiB per 100 MB.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { stampWrapper, timed } from './suite/run.js'

const { values } = parseArgs({ options: { files: { type: 'string', default: '2000,12000' }, rounds: { type: 'string', default: '1' } } })
const counts = values.files.split(',').map(Number)
const rounds = Number(values.rounds)
if (counts.length < 2 || counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--files takes two or more positive counts, got ${values.files}`)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive count, got ${values.rounds}`)

const root = fileURLToPath(new URL('..', import.meta.url))
const eyrie = join(root, 'bin', 'eyrie.js')
const FILE_BYTES = 100 * 1024
const WRITER = 'import os,sys\nfor i in range(int(sys.argv[1])):\n  open(f"out/f{i}.sh","wb").write(b"#!/bin/sh\\n"+os.urandom(int(sys.argv[2])))'
const setups: Record<string, (journal: string) => string[]> = {
  'eyrie record': (j) => [process.execPath, eyrie, 'record', '--journal', j, '--'],
  'eyrie record --scan': (j) => [process.execPath, eyrie, 'record', '--scan', '--signatures', join(root, 'test', 'fixtures', 'signatures'), '--verdict-cache', 'none', '--journal', j, '--'],
}

const work = mkdtempSync(join(tmpdir(), 'eyrie-memory-'))
const peaks = new Map<string, number[][]>(Object.keys(setups).map((s) => [s, counts.map(() => [])]))
try {
  for (let r = 0; r < rounds; r++) {
    for (const [i, n] of counts.entries()) {
      for (const [name, argv] of Object.entries(setups)) {
        rmSync(join(work, 'out'), { recursive: true, force: true })
        rmSync(join(work, 'journal'), { recursive: true, force: true })
        const workload = ['bash', '-c', 'mkdir out && exec python3 -c "$0" "$@"', WRITER, String(n), String(FILE_BYTES - 10)]
        const t = await timed({ argv: [...argv(join(work, 'journal')), ...stampWrapper(join(work, 'stamp'), workload)], cwd: work, stamp: join(work, 'stamp'), pollRss: true, daemons: [] })
        if (t.peakRssKiB === null) throw new Error(`${name}: no VmHWM was read`)
        peaks.get(name)?.[i].push(t.peakRssKiB / 1024)
        process.stderr.write(`[round ${r + 1}] ${name}, ${n} files: peak ${(t.peakRssKiB / 1024).toFixed(0)} MiB in ${(t.totalMs / 1000).toFixed(1)} s\n`)
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const mb = (n: number) => (n * FILE_BYTES) / 1e6
console.log(`| setup | ${counts.map((n) => `${n} files (${mb(n).toFixed(0)} MB)`).join(' | ')} | MiB per 100 MB written |`)
console.log(`|---|${counts.map(() => '---:').join('|')}|---:|`)
for (const [name, byCount] of peaks) {
  const m = byCount.map(median)
  const slope = ((m[m.length - 1] - m[0]) / (mb(counts[counts.length - 1]) - mb(counts[0]))) * 100
  console.log(`| ${name} | ${m.map((x) => `${x.toFixed(0)} MiB`).join(' | ')} | ${slope.toFixed(1)} |`)
}
