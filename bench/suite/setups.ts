// The monitors a workload runs under. eyrie's scan setups exist once `eyrie record` offers --scan and
// --scan-all: the suite reads `eyrie record --help` and marks them "not available" otherwise.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { STRACE_CALLS } from '../../src/import/strace/index.js'

export type SetupId = 'baseline' | 'eyrie' | 'eyrie-scan' | 'eyrie-scan-all' | 'ptrace-floor' | 'strace' | 'strace-seccomp' | 'clamonacc'

export const SETUP_IDS: readonly SetupId[] = ['baseline', 'eyrie', 'eyrie-scan', 'eyrie-scan-all', 'ptrace-floor', 'strace', 'strace-seccomp', 'clamonacc']

export const SETUP_LABELS: Readonly<Record<SetupId, string>> = {
  baseline: 'baseline',
  eyrie: 'eyrie record',
  'eyrie-scan': 'eyrie record --scan',
  'eyrie-scan-all': 'eyrie record --scan-all',
  'ptrace-floor': 'ptrace floor (eyrie\'s filter, no work)',
  strace: 'strace -f',
  'strace-seccomp': 'strace -f --seccomp-bpf',
  clamonacc: 'clamonacc (prevention)',
}

export const isEyrie = (id: SetupId): boolean => id === 'eyrie' || id === 'eyrie-scan' || id === 'eyrie-scan-all'

export interface Available {
  readonly id: SetupId
  readonly available: true
  /** runs in the on-access scanner's watched tree */
  readonly watched: boolean
  /** the spawned process is the monitor: poll its peak RSS */
  readonly pollRss: boolean
  /** scans through the suite's clamd: its CPU during a run is the run's too */
  readonly sharedClamd?: boolean
  /** the command for `workload` (already stamp-wrapped); `journal` is a fresh directory for eyrie */
  command(workload: readonly string[], journal: string): string[]
}

export interface Unavailable { readonly id: SetupId; readonly available: false; readonly why: string }

export type Setup = Available | Unavailable

export interface SetupContext {
  /** how to run the eyrie CLI: [node, bin/eyrie.js] */
  readonly eyrie: readonly string[]
  readonly signatures: string
  /** null when clamonacc runs, else why not */
  readonly onAccess: string | null
  /** the socket of the clamd eyrie's scan setups share (one for the suite, as clamonacc's is) */
  readonly clamd?: string
  /** the verdict cache eyrie's scan setups share: the suite's own, empty at its start (as clamonacc's
   *  clamd starts with an empty cache), never the user's */
  readonly verdictCache?: string
  /** bench/floor/nulltrace built for this suite, or why it could not be */
  readonly nulltrace: { readonly path: string } | { readonly why: string }
}

/** `nulltrace: N stops` (bench/floor/nulltrace.cc) in a run's stderr; null if absent. */
export const floorStopsIn = (stderr: string): number | null => {
  const m = /^nulltrace: (\d+) stops$/m.exec(stderr)
  return m === null ? null : Number(m[1])
}

/** Builds bench/floor/nulltrace (with eyrie's own filter, src/native/filter.cc) into `dir`. */
export const buildNulltrace = (repo: string, dir: string): { readonly path: string } | { readonly why: string } => {
  const path = join(dir, 'nulltrace')
  const r = spawnSync('g++', ['-O2', '-std=c++17', '-I', join(repo, 'src', 'native'), join(repo, 'bench', 'floor', 'nulltrace.cc'), join(repo, 'src', 'native', 'filter.cc'), '-o', path], { encoding: 'utf8' })
  if (r.error !== undefined) return { why: `g++: ${r.error.message}` }
  if (r.status !== 0) return { why: `g++ failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` }
  return { path }
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

// strace prints to /dev/null: the cost of stopping and decoding, not of a disk log
const straceArgs = (seccomp: boolean): string[] =>
  ['strace', '-f', ...(seccomp ? ['--seccomp-bpf'] : []), '-o', '/dev/null', '-e', `trace=${STRACE_CALLS.join(',')}`, '--']

const floor = (built: SetupContext['nulltrace']): Setup => {
  if (!('path' in built)) return { id: 'ptrace-floor', available: false, why: built.why }
  const { path } = built
  return { id: 'ptrace-floor', available: true, watched: false, pollRss: false, command: (w) => [path, '--', ...w] }
}

export const detectSetups = (ctx: SetupContext): Setup[] => {
  const help = spawnSync(ctx.eyrie[0], [...ctx.eyrie.slice(1), 'record', '--help'], { encoding: 'utf8' })
  const recordHelp = help.status === 0 ? help.stdout : ''
  const flag = (name: string) => new RegExp(`(^|[\\s,])${name}([\\s=,<]|$)`, 'm').test(recordHelp)
  const eyrieSetup = (id: SetupId, extra: string[]): Setup => {
    if (help.status !== 0) return { id, available: false, why: `eyrie record --help failed: ${(help.stderr ?? '').trim().split('\n').pop() ?? ''}` }
    const missing = extra.filter((f) => !flag(f))
    if (missing.length > 0) return { id, available: false, why: `eyrie record --help lists no ${missing.join(', ')} (not wired yet)` }
    // the scan setups scan with the shipped test signatures, as clamonacc does: through the suite's
    // clamd when there is one (its cache warm across runs, as clamonacc's clamd is), else their own
    const sigs = extra.length === 0 ? [] : ctx.clamd !== undefined && flag('--clamd') ? ['--clamd', ctx.clamd] : flag('--signatures') ? ['--signatures', ctx.signatures] : []
    if (extra.length > 0 && flag('--verdict-cache')) sigs.push('--verdict-cache', ctx.verdictCache ?? 'none')
    return {
      id, available: true, watched: false, pollRss: true, sharedClamd: sigs[0] === '--clamd',
      // --stats (JSON on stderr after the summary): the interceptor's stops and its time on them
      command: (w, journal) => [...ctx.eyrie, ...(flag('--stats') ? ['--json'] : []), '--journal', journal, 'record', ...(flag('--stats') ? ['--stats'] : []), ...extra, ...sigs, '--', ...w],
    }
  }
  const strace = (id: SetupId, seccomp: boolean): Setup => has('strace')
    ? { id, available: true, watched: false, pollRss: true, command: (w) => [...straceArgs(seccomp), ...w] }
    : { id, available: false, why: 'strace not installed' }
  return [
    { id: 'baseline', available: true, watched: false, pollRss: false, command: (w) => [...w] },
    eyrieSetup('eyrie', []),
    eyrieSetup('eyrie-scan', ['--scan']),
    eyrieSetup('eyrie-scan-all', ['--scan-all']),
    floor(ctx.nulltrace),
    strace('strace', false),
    strace('strace-seccomp', true),
    ctx.onAccess === null
      ? { id: 'clamonacc', available: true, watched: true, pollRss: false, command: (w) => [...w] }
      : { id: 'clamonacc', available: false, why: ctx.onAccess },
  ]
}
