// The workloads of the paper's evaluation, as commands over the cached inputs. Each run gets a fresh
// directory with its inputs hard-linked in (so a watched directory sees the workload read them too,
// and nothing a previous run wrote is around); outputs stay inside that directory.
import { execFileSync } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Inputs } from './inputs.js'
import { countFiles } from './run.js'

export type Group = 'compute' | 'files'

export const GROUP_TITLES: Readonly<Record<Group, string>> = {
  compute: 'compression and encoding',
  files: 'file-heavy workloads',
}

export interface Workload {
  readonly id: string
  readonly label: string
  readonly group: Group
  /** fills the (existing, empty) run directory */
  prepare(run: string): void
  /** directories an on-access scanner must be watching before the run starts */
  watchedDirs(run: string): string[]
  /** working directory and command of the workload */
  cwd(run: string): string
  argv(run: string): string[]
  /** null when the run's output is what the workload should have made, else why not */
  check(run: string): string | null
  /** files whose content a recorder's journal must hold as they are on disk after the run */
  outputs(run: string): string[]
}

const linkTree = (from: string, to: string): void => {
  execFileSync('cp', ['-al', from, to])
}

const nonEmpty = (file: string): string | null =>
  !existsSync(file) ? `${file} missing` : statSync(file).size === 0 ? `${file} is empty` : null

const files = (dir: string, want: number): string | null => {
  if (!existsSync(dir)) return `${dir} missing`
  const n = countFiles(dir)
  return n === want ? null : `${dir}: ${n} files, expected ${want}`
}

/** The first and the last file of a tree in name order, and its largest. */
const sampleOf = (dir: string): string[] => {
  const all: Array<{ path: string; size: number }> = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) all.push({ path: p, size: statSync(p).size })
    }
  }
  walk(dir)
  if (all.length === 0) return []
  const largest = all.reduce((a, b) => (b.size > a.size ? b : a))
  return [...new Set([all[0].path, all[all.length - 1].path, largest.path])]
}

export const workloads = (inputs: Inputs): Workload[] => [
  {
    id: '7z-compress',
    label: '7z compress (-mx=3, 2 threads)',
    group: 'compute',
    prepare: (run) => linkTree(inputs.archiveTree, join(run, 'corpus')),
    watchedDirs: (run) => [run, join(run, 'corpus', 'd000', 's0')],
    cwd: (run) => run,
    // -mx=3: the default -mx=5 spends minutes of CPU per run on this corpus (10x more), which makes
    // dozens of interleaved runs impractical on a shared 2-core machine; both are CPU-bound
    argv: () => ['7z', 'a', '-t7z', '-mx=3', '-mmt=2', '-bd', '-y', 'out.7z', 'corpus'],
    check: (run) => nonEmpty(join(run, 'out.7z')),
    outputs: (run) => [join(run, 'out.7z')],
  },
  {
    id: '7z-decompress',
    label: '7z decompress (1 thread)',
    group: 'compute',
    prepare: (run) => linkSync(inputs.archive, join(run, 'in.7z')),
    watchedDirs: (run) => [run],
    cwd: (run) => run,
    argv: () => ['7z', 'x', '-mmt=1', '-bd', '-y', '-oout', 'in.7z'],
    check: (run) => files(join(run, 'out'), inputs.archiveFiles),
    outputs: (run) => sampleOf(join(run, 'out')),
  },
  {
    id: 'x264',
    label: 'x264 encode',
    group: 'compute',
    prepare: (run) => linkSync(inputs.clip, join(run, 'clip.y4m')),
    watchedDirs: (run) => [run],
    cwd: (run) => run,
    argv: () => ['x264', '--threads', '2', '--preset', 'medium', '--quiet', '--no-progress', '-o', 'out.264', 'clip.y4m'],
    check: (run) => nonEmpty(join(run, 'out.264')),
    outputs: (run) => [join(run, 'out.264')],
  },
  {
    id: 'tar-extract',
    label: `tar extract (${inputs.corpusFiles.toLocaleString('en-US')} files)`,
    group: 'files',
    prepare: (run) => {
      linkSync(inputs.tarball, join(run, 'in.tar'))
      mkdirSync(join(run, 'out'))
    },
    watchedDirs: (run) => [run, join(run, 'out')],
    cwd: (run) => run,
    argv: () => ['tar', 'xf', 'in.tar', '-C', 'out'],
    check: (run) => files(join(run, 'out'), inputs.corpusFiles),
    outputs: (run) => sampleOf(join(run, 'out')),
  },
  {
    id: 'make',
    label: `make -j2 (${inputs.units} C files)`,
    group: 'files',
    prepare: (run) => linkTree(inputs.project, join(run, 'proj')),
    watchedDirs: (run) => [run, join(run, 'proj', 'src')],
    cwd: (run) => join(run, 'proj'),
    argv: () => ['make', '-j2', '-s'],
    check: (run) => nonEmpty(join(run, 'proj', 'app')),
    outputs: (run) => [join(run, 'proj', 'app')],
  },
  {
    id: 'sqlite',
    label: `sqlite3 ${inputs.inserts.toLocaleString('en-US')} inserts (WAL)`,
    group: 'files',
    prepare: (run) => linkSync(inputs.sql, join(run, 'inserts.sql')),
    watchedDirs: (run) => [run],
    cwd: (run) => run,
    argv: () => ['sqlite3', 'db.sqlite', '.read inserts.sql'],
    outputs: (run) => [join(run, 'db.sqlite')],
    check: (run) => {
      const n = Number(execFileSync('sqlite3', [join(run, 'db.sqlite'), 'SELECT count(*) FROM items']).toString().trim())
      return n === inputs.inserts ? null : `db.sqlite has ${n} rows, expected ${inputs.inserts}`
    },
  },
]
