// What eyrie's own start and end cost around a recording, which every workload's ratio carries
// (7z decompress runs ~2 s: 0.1 s of start-up is 5 points of its ratio):
//   node --import tsx bench/startup.ts [--rounds R]   (after npm run build)
// Interleaved per round: node starting and ending (`node -e 0`), `eyrie record -- true` as installed
// (the one-file build with its code cache, bin/bundle.js), and the same from dist/'s modules.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } })
const ROUNDS = Number(values.rounds)
const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(join(root, 'dist', 'cli', 'eyrie.cjs'))) throw new Error('no dist/cli/eyrie.cjs: run npm run build first')

const work = mkdtempSync(join(tmpdir(), 'eyrie-startup-'))
const record = (journal: string) => ['record', '--journal', join(work, journal), '--', 'true']
const fromModules = `const { main } = await import(${JSON.stringify(join(root, 'dist', 'cli', 'main.js'))}); process.exitCode = await main(process.argv)`
const setups: Record<string, (round: number) => string[]> = {
  'node -e 0': () => ['-e', '0'],
  'eyrie record -- true (bundle + code cache)': (r) => [join(root, 'bin', 'eyrie.js'), ...record(`b${r}`)],
  'eyrie record -- true (dist modules)': (r) => ['--input-type=module', '-e', fromModules, 'eyrie', ...record(`m${r}`)],
}

const times = new Map<string, number[]>(Object.keys(setups).map((k) => [k, []]))
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, args] of Object.entries(setups)) {
      const t0 = process.hrtime.bigint()
      const run = spawnSync(process.execPath, args(r), { encoding: 'utf8', cwd: work })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (run.status !== 0) throw new Error(`${name} failed (${run.status}): ${run.stderr}`)
      times.get(name)?.push(ms)
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(`| setup (${ROUNDS} rounds, interleaved) | median ms | min | max |`)
console.log('|---|---:|---:|---:|')
for (const [name, xs] of times) console.log(`| ${name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`)
