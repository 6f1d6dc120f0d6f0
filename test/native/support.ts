// Helpers for the native interceptor's tests: temp dirs, C programs compiled on the fly, and a
// recorder that collects every Draft of a real traced run (bodies checked with their io-ts codecs).
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, open, readFile, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { Body, Draft } from '../../src/events/index.js'
import { traceCommand, type TraceOptions, type TraceResult } from '../../src/native/index.js'

export const run = promisify(execFile)

/** A fresh directory, canonical (so expected paths compare with the tracer's canonical ones). */
export const tempDir = async (prefix = 'eyrie-native-'): Promise<{ dir: string; cleanup: () => Promise<void> }> => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

const compiled = new Map<string, Promise<string>>()

/** Compiles test/native/<name>.c (once per test process) into a temp dir; returns the binary. */
export const compile = (name: string): Promise<string> => {
  let p = compiled.get(name)
  if (p === undefined) {
    p = (async () => {
      const { dir } = await tempDir('eyrie-cc-')
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
      const out = join(dir, name)
      await run('cc', ['-O1', '-Wall', '-Wextra', '-pthread', '-o', out, join(import.meta.dirname, `${name}.c`)])
      return out
    })()
    compiled.set(name, p)
  }
  return p
}

export interface Recorded {
  readonly drafts: Draft[]
  readonly result: TraceResult
  /** What the command wrote to its stdout and stderr (each a regular file, so its writes are
   *  file.write drafts on fds 1 and 2 too). */
  readonly stdout: string
  readonly stderr: string
}

/** Runs argv under traceCommand in cwd, collecting every draft. */
export const record = async (argv: readonly string[], cwd: string, opts: Partial<TraceOptions> = {}): Promise<Recorded> => {
  const { dir, cleanup } = await tempDir('eyrie-out-')
  const out = await open(join(dir, 'stdout'), 'w+')
  const err = await open(join(dir, 'stderr'), 'w+')
  try {
    const drafts: Draft[] = []
    const result = await traceCommand(argv, {
      cwd,
      validate: true,
      stdio: { stdout: out.fd, stderr: err.fd },
      ...opts,
      onBatch: async (batch) => {
        drafts.push(...batch)
        return opts.onBatch?.(batch)
      },
    })
    return { drafts, result, stdout: await readFile(join(dir, 'stdout'), 'utf8'), stderr: await readFile(join(dir, 'stderr'), 'utf8') }
  } finally {
    await out.close()
    await err.close()
    await cleanup()
  }
}

export const text = (d: Draft): string => Buffer.from(d.data ?? new Uint8Array()).toString('utf8')

/** The drafts of one kind, typed. */
export const ofKind = <K extends Body['kind']>(drafts: readonly Draft[], kind: K): Array<Draft & { body: Extract<Body, { kind: K }> }> =>
  drafts.filter((d): d is Draft & { body: Extract<Body, { kind: K }> } => d.body.kind === kind)

/** Processes (pids) that exec'd a program whose canonical path ends with `name`. */
export const pidsOf = (drafts: readonly Draft[], name: string): number[] =>
  ofKind(drafts, 'proc.exec').filter((d) => d.body.path.endsWith(`/${name}`)).map((d) => d.pid)

/** Drafts of pid after its exec of the program, until its exit (the dynamic loader's work included). */
export const afterExec = (drafts: readonly Draft[], pid: number): Draft[] => {
  const start = drafts.findIndex((d) => d.pid === pid && d.body.kind === 'proc.exec')
  return drafts.slice(start + 1).filter((d) => d.pid === pid)
}

/** Children of a process, from every one of its threads ([] once it is gone). */
export const childrenOf = (pid: number): number[] => {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return [] // gone
  }
  return tasks.flatMap((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number)
    } catch {
      return [] // the thread is gone
    }
  })
}

/** A process and its descendants. */
export const treeOf = (pid: number): number[] => {
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]))
  return out
}

/** A process's name (null once it is gone). */
export const commOf = (pid: number): string | null => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return null
  }
}

/** State letter and tracer of a process (null once it is gone). */
export const procStatus = (pid: number): { state: string; tracer: number } | null => {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  return { state: /^State:\s+(\S)/m.exec(status)?.[1] ?? '?', tracer: Number(/^TracerPid:\s+(\d+)/m.exec(status)?.[1] ?? -1) }
}

/** Starts argv in the background, orphaned: not a child of this process (eyrie attaches to other
 *  trees; a child of its own would be refused), stdin and stdout /dev/null, stderr to the file
 *  `stderr` (default /dev/null). Returns its pid. */
export const orphan = async (argv: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stderr?: string } = {}): Promise<number> => {
  // descriptors past 2 are closed first, as eyrie's own spawns do: this process's (the test journal's
  // LMDB file has no close-on-exec) would be shared with the workload and move unseen
  const close = 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; '
  const { stdout } = await run('bash', ['-c', `${close}"$@" </dev/null >/dev/null 2>"$0" & echo $!`, opts.stderr ?? '/dev/null', ...argv], { cwd: opts.cwd, env: opts.env })
  return Number(stdout)
}

/** Starts a shell script orphaned (see orphan); returns the script's shell's pid. */
export const background = (script: string, cwd?: string): Promise<number> => orphan(['sh', '-c', script], { cwd })

/** Waits until ok() holds, polling every 10 ms; fails after ms saying what it waited for. */
export const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
