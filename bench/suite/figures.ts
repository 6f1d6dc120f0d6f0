// The engine's own benchmarks (bench/*.ts, each a script with its own output) run as child processes;
// the suite keeps what each prints last: its markdown table, or else its last paragraph.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

export interface EngineBench {
  readonly id: string
  readonly title: string
  /** the script, relative to bench/ */
  readonly script: string
  args(quick: boolean, work: string): string[]
}

export const ENGINE_BENCHES: readonly EngineBench[] = [
  { id: 'engine', title: 'fold rate, `at T cat` latency, replay memory, append rate', script: 'engine.ts', args: (q) => (q ? ['--quick'] : []) },
  {
    id: 'journal', title: 'journal append vs raw LMDB and the disk', script: 'journal.ts',
    args: (q, work) => [...(q ? ['--events', '20000', '--mib', '16', '--rounds', '1'] : []), '--dir', join(work, 'journal-bench')],
  },
  { id: 'forensic', title: 'export throughput, diff, journal bytes per recorded MiB', script: 'forensic.ts', args: (q) => (q ? ['--quick'] : []) },
  { id: 'kafka', title: 'Kafka journal on loopback (librdkafka mock)', script: 'kafka.ts', args: (q) => (q ? ['--quick'] : []) },
]

export type Figure =
  | { readonly id: string; readonly title: string; readonly command: string; readonly ok: true; readonly seconds: number; readonly markdown: string }
  | { readonly id: string; readonly title: string; readonly command: string; readonly ok: false; readonly why: string }

/** The last markdown table in `out`, or its last paragraph as a code block. */
export const lastTable = (out: string): string => {
  const lines = out.trimEnd().split('\n')
  let end = lines.length
  while (end > 0 && !lines[end - 1].startsWith('|')) end--
  if (end > 0) {
    let start = end
    while (start > 0 && lines[start - 1].startsWith('|')) start--
    if (end - start >= 3) return lines.slice(start, end).join('\n')
  }
  let start = lines.length
  while (start > 0 && lines[start - 1].trim() !== '') start--
  return ['```text', ...lines.slice(start), '```'].join('\n')
}

const runScript = (argv: readonly string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-8192)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal === null ? null : -1), out, err: signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s\n${err}` : err })
    })
  })

export const runEngineBenches = async (o: {
  readonly repo: string
  readonly work: string
  readonly quick: boolean
  readonly only: readonly string[] | null
  readonly log: (line: string) => void
}): Promise<Figure[]> => {
  const figures: Figure[] = []
  mkdirSync(o.work, { recursive: true })
  for (const b of ENGINE_BENCHES) {
    if (o.only !== null && !o.only.includes(b.id)) continue
    const script = join(o.repo, 'bench', b.script)
    const args = b.args(o.quick, o.work)
    const command = `node --import tsx bench/${b.script}${args.length > 0 ? ` ${args.join(' ')}` : ''}`
    if (!existsSync(script)) {
      figures.push({ id: b.id, title: b.title, command, ok: false, why: `bench/${b.script} does not exist in this checkout` })
      continue
    }
    o.log(`engine: ${command}`)
    const t0 = performance.now()
    const r = await runScript([process.execPath, '--expose-gc', '--import', 'tsx', script, ...args], o.repo, o.quick ? 120_000 : 3_600_000)
    const seconds = (performance.now() - t0) / 1000
    if (r.code !== 0) figures.push({ id: b.id, title: b.title, command, ok: false, why: `exit ${r.code}: ${r.err.trim().split('\n').slice(-3).join(' | ')}` })
    else figures.push({ id: b.id, title: b.title, command, ok: true, seconds, markdown: lastTable(r.out) })
  }
  return figures
}
