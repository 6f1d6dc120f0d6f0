// One timed run of a command under a monitor.
//
// Two durations per run:
//  - end-to-end: from spawn to the monitor's exit (what a user waits for, monitor start-up included);
//  - workload: from the moment the workload itself starts (a bash wrapper, run *inside* the monitor,
//    writes $EPOCHREALTIME to a stamp file and then execs the workload) to the monitor's exit (so a
//    recorder's final flush counts). This is what the paper compares: a monitor that is already
//    running, as EagleEye, clamonacc and a started strace are. The same wrapper runs in every setup.
// The monitor's peak RSS is VmHWM of the monitor process, polled from /proc (GNU time's %M would
// report the largest of the monitor and its tracees, which are its children).
// CPU time: when GNU time is installed the whole command runs under it, and user + sys of every
// process of the run (monitor, workload, their children) is its %U + %S; daemons that serve the run
// from outside it (clamd, clamonacc) add what /proc says they used meanwhile. CPU time hardly moves
// with other people's load, so its ratio is the steadier measure of what a monitor costs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

export interface RunSpec {
  /** the full command, monitor included; `STAMP_WRAPPER` must sit where the workload starts */
  readonly argv: readonly string[]
  readonly cwd: string
  /** file the wrapper writes the workload's start time into */
  readonly stamp: string
  /** poll the monitor's VmHWM (a recorder or strace: the first process of argv) */
  readonly pollRss: boolean
  /** processes outside the run whose CPU time counts (an on-access scanner's daemons) */
  readonly daemons: readonly number[]
}

export interface Timing {
  readonly workloadMs: number
  readonly totalMs: number
  readonly peakRssKiB: number | null
  /** user + sys of every process of the run; null without GNU time */
  readonly cpuMs: number | null
  readonly stderr: string
}

const GNU_TIME = '/usr/bin/time'
const gnuTimeVersion = existsSync(GNU_TIME) ? spawnSync(GNU_TIME, ['--version'], { encoding: 'utf8' }) : null
const hasGnuTime = gnuTimeVersion !== null && /GNU/.test(`${gnuTimeVersion.stdout}${gnuTimeVersion.stderr}`)
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100)

/** user + sys of a running process (all its threads), ms */
const processCpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * TICK_MS
}

/** `bash -c WRAP STAMP CMD...`: stamp, then exec the workload (no extra process stays around). */
export const stampWrapper = (stamp: string, workload: readonly string[]): string[] =>
  ['bash', '-c', 'printf %s "$EPOCHREALTIME" > "$0" && exec "$@"', stamp, ...workload]

/** Microseconds since the epoch, precise to the monotonic clock: anchored where Date.now() ticks. */
const realtimeClock = (): (() => number) => {
  const first = Date.now()
  let ms = first
  let perf = performance.now()
  while (ms === first) {
    ms = Date.now()
    perf = performance.now()
  }
  return () => ms * 1000 + (performance.now() - perf) * 1000
}

const vmHwmKiB = (pid: number): number | null => {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1])
  } catch (err) {
    // the process has exited between two polls: its last reading stands
    if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ESRCH')) return null
    throw err
  }
}

/** The run in progress, if any: an interrupted suite stops it rather than leave it behind. */
const running = new Set<ChildProcess>()

/** SIGTERM to the run in progress: the monitor (GNU time's child, when there is one) and the spawned process. */
export const stopRunning = (): void => {
  for (const child of running) {
    const monitor = child.pid === undefined ? null : monitorPid(child.pid)
    if (monitor !== null && monitor !== child.pid) process.kill(monitor, 'SIGTERM')
    child.kill('SIGTERM')
  }
}

const STDERR_KEEP = 64 * 1024
const POLL_MS = 50

/** The monitor's pid: the spawned process, or under GNU time its child (once it exists). */
const monitorPid = (spawned: number): number | null => {
  if (!hasGnuTime) return spawned
  try {
    const kids = readFileSync(`/proc/${spawned}/task/${spawned}/children`, 'utf8').trim()
    return kids === '' ? null : Number(kids.split(' ')[0])
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ESRCH')) return null
    throw err
  }
}

export const timed = (spec: RunSpec): Promise<Timing> => {
  rmSync(spec.stamp, { force: true })
  const cpuFile = `${spec.stamp}.cpu`
  rmSync(cpuFile, { force: true })
  const argv = hasGnuTime ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...spec.argv] : spec.argv
  const daemonsBefore = spec.daemons.map(processCpuMs)
  const now = realtimeClock()
  const t0 = performance.now()
  const child = spawn(argv[0], argv.slice(1), {
    cwd: spec.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP)
  })
  let peak: number | null = null
  let monitor: number | null = null
  const poll = spec.pollRss && child.pid !== undefined ? setInterval((pid: number) => {
    monitor ??= monitorPid(pid)
    const v = monitor === null ? null : vmHwmKiB(monitor)
    if (v !== null) peak = Math.max(peak ?? 0, v)
  }, POLL_MS, child.pid) : undefined
  return new Promise((resolve, reject) => {
    let endUs = 0
    let endPerf = 0
    child.once('error', (err) => {
      clearInterval(poll)
      reject(new Error(`${spec.argv[0]}: ${err.message}`))
    })
    child.once('exit', () => {
      endUs = now()
      endPerf = performance.now()
      clearInterval(poll)
    })
    child.once('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${spec.argv[0]} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
      let cpuMs: number | null = null
      if (hasGnuTime) {
        const m = /^([\d.]+) ([\d.]+)$/m.exec(readFileSync(cpuFile, 'utf8'))
        if (m === null) return reject(new Error(`${cpuFile}: no "%U %S" line from GNU time`))
        cpuMs = (Number(m[1]) + Number(m[2])) * 1000 + spec.daemons.reduce((sum, pid, i) => sum + processCpuMs(pid) - daemonsBefore[i], 0)
      }
      let stampUs: number
      try {
        const text = readFileSync(spec.stamp, 'utf8').trim()
        const m = /^(\d+)[.,](\d{6})$/.exec(text)
        if (m === null) return reject(new Error(`stamp ${spec.stamp}: ${JSON.stringify(text)} is not $EPOCHREALTIME`))
        stampUs = Number(m[1]) * 1e6 + Number(m[2])
      } catch (err) {
        return reject(new Error(`stamp ${spec.stamp}: the workload never started (${err instanceof Error ? err.message : String(err)}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
      }
      resolve({ workloadMs: (endUs - stampUs) / 1000, totalMs: endPerf - t0, peakRssKiB: peak, cpuMs, stderr })
    })
  })
}

/** Bytes a directory tree occupies on disk (allocated blocks, as du counts them). */
export const diskBytes = (dir: string): number => {
  let sum = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    sum += e.isDirectory() ? diskBytes(p) : statSync(p).blocks * 512
  }
  return sum
}

/** Regular files below `dir`. */
export const countFiles = (dir: string): number => {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : e.isFile() ? 1 : 0
  return n
}
