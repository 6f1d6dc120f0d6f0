// What the results depend on besides the code: the machine, its load, the tools' versions, the commit.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, release, totalmem } from 'node:os'

export interface Machine {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly kernel: string
  readonly os: string
  readonly node: string
  readonly tools: Readonly<Record<string, string>>
}

export interface Commit { readonly short: string; readonly dirty: boolean }

const firstLine = (argv: readonly string[], pick: (out: string) => string | undefined): string => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' })
  if (r.error !== undefined) return 'not installed'
  return pick(`${r.stdout}\n${r.stderr}`)?.trim() ?? 'unknown'
}

const osName = (): string => {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))
  return m === null ? 'unknown' : m[1]
}

export const machine = (): Machine => ({
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: totalmem() / 2 ** 30,
  kernel: release(),
  os: osName(),
  node: process.version,
  tools: {
    '7z': firstLine(['7z'], (o) => /p7zip Version [^ ]+/.exec(o)?.[0] ?? /7-Zip[^\n]*/.exec(o)?.[0]),
    x264: firstLine(['x264', '--version'], (o) => o.split('\n')[0]),
    gcc: firstLine(['gcc', '--version'], (o) => o.split('\n')[0]),
    make: firstLine(['make', '--version'], (o) => o.split('\n')[0]),
    tar: firstLine(['tar', '--version'], (o) => o.split('\n')[0]),
    sqlite3: firstLine(['sqlite3', '--version'], (o) => o.split(' ')[0]),
    strace: firstLine(['strace', '--version'], (o) => o.split('\n')[0]),
    clamd: firstLine(['clamd', '--version'], (o) => o.split('\n')[0]),
  },
})

export const commit = (repo: string): Commit => ({
  short: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim(),
  dirty: execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo, encoding: 'utf8' }).trim() !== '',
})

/** The 1, 5 and 15 minute load averages. */
export const loadAverage = (): [number, number, number] => {
  const f = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number)
  return [f[0], f[1], f[2]]
}
