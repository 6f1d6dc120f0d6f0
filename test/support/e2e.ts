// End-to-end support: run a real program under real strace, import the log into a real LMDB journal,
// and read content back at any seq. The kernel (the disk, the workload's side copies) is the oracle.
import { mkdtemp, readdir, readFile, lstat, rm, writeFile } from 'node:fs/promises'
import { createReadStream, existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Draft, Event } from '../../src/events/index.js'
import { parseStrace } from '../../src/import/strace/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { Ingest, worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan } from '../../src/projections/index.js'
import { runUnderStrace } from '../import/strace-run.js'
import { attachPid, traceCommand } from '../../src/native/index.js'
import { orphan, until } from '../native/support.js'

export interface Recorded {
  readonly journal: Journal
  readonly guest: string
  readonly dir: string
  readonly events: Event[]
  cleanup(): Promise<void>
}

/** Every event of a guest, in order. */
export const eventsOf = async (journal: Journal, guest: string): Promise<Event[]> => {
  const out: Event[] = []
  for await (const b of journal.read(guest, 1, await journal.lastSeq(guest))) out.push(...b)
  return out
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), `eyrie-${prefix}-`))

interface RecordOptions {
  every?: number
  setup?: (dir: string) => Promise<void>
  writes?: 'read-back' | 'stop'
  programOrderBytes?: number
  /** attach: detach (as ^C does) once the workload has made this file in its dir, then write `end`
   *  there for it to finish on its own, untraced */
  detachOnce?: string
}

/** A fresh work dir and a temp LMDB journal; `run` records cmd into the Ingest; the result holds
 *  every event read back from the journal. */
const recordInto = async (
  cmd: string[],
  opts: RecordOptions,
  run: (dir: string, ingest: Ingest) => Promise<{ leftovers: string[] }>,
): Promise<Recorded> => {
  const dir = await tempDir('work')
  await opts.setup?.(dir)
  const jdir = await tempDir('journal')
  const journal = await openLmdbJournal(jdir)
  const guest = 'e2e'
  const ingest = await Ingest.open(journal, guest, opts.every ?? 64)
  let leftovers: string[] = []
  try {
    ;({ leftovers } = await run(dir, ingest))
    await ingest.finish()
  } catch (err) {
    await journal.close()
    throw err
  }
  const events = await eventsOf(journal, guest)
  return {
    journal, guest, dir, events,
    cleanup: async () => {
      await journal.close()
      await Promise.all([dir, jdir, ...leftovers].map((p) => rm(p, { recursive: true, force: true })))
    },
  }
}

/** Runs cmd in a fresh work dir under strace and imports the log (checkpoints every `every` events). */
export const recordWithStrace = (cmd: string[], opts: RecordOptions = {}): Promise<Recorded> =>
  recordInto(cmd, opts, async (dir, ingest) => {
    const { log, status } = await runUnderStrace(cmd, { cwd: dir })
    if (status !== 0) throw new Error(`workload ${cmd.join(' ')} exited ${status}`)
    const lines = createInterface({ input: createReadStream(log), crlfDelay: Infinity })
    const drafts: Draft[] = []
    for await (const p of parseStrace(lines, { cwd: dir })) {
      if ('error' in p) throw new Error(`${log}:${p.line}: ${p.error}`)
      drafts.push(...p.drafts)
    }
    for (let i = 0; i < drafts.length; i += 500) await ingest.push(drafts.slice(i, i + 500))
    return { leftovers: [log] }
  })

/** Runs cmd in a fresh work dir under the native interceptor, straight into the journal. */
export const recordNatively = (cmd: string[], opts: RecordOptions = {}): Promise<Recorded> =>
  recordInto(cmd, opts, async (dir, ingest) => {
    const result = await traceCommand(cmd, { cwd: dir, onBatch: (drafts) => ingest.push(drafts), stdio: { stdin: 0, stdout: 2, stderr: 2 }, writes: opts.writes, programOrderBytes: opts.programOrderBytes })
    if (result.status !== 0) throw new Error(`workload ${cmd.join(' ')} exited ${result.status ?? result.signal}: ${result.message ?? ''}`)
    return { leftovers: [] }
  })

/** Starts cmd untraced (and orphaned: eyrie does not attach to a child of its own) in a fresh work
 *  dir with $START set to it; once the command has made START/ready, attaches to it, and after the
 *  snapshot lets it go on by making START/go. Its stderr is START/stderr. */
export const attachNatively = (cmd: string[], opts: RecordOptions = {}): Promise<Recorded> =>
  recordInto(cmd, opts, async (dir, ingest) => {
    const stderr = (): Promise<string> => readFile(join(dir, 'stderr'), 'utf8').catch(() => '')
    const pid = await orphan(cmd, { cwd: dir, env: { ...process.env, START: dir }, stderr: join(dir, 'stderr') })
    const gone = (): boolean => {
      try {
        process.kill(pid, 0)
        return false
      } catch {
        return true
      }
    }
    try {
      await until('the workload to be ready', () => {
        if (gone()) throw new Error(`workload ${cmd.join(' ')} ended before it was ready`)
        return existsSync(join(dir, 'ready'))
      }, 20_000)
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${await stderr()}`, { cause: err })
    }
    let snapshot: () => void = () => {}
    const snapped = new Promise<void>((resolve) => (snapshot = resolve))
    const session = attachPid(pid, {
      writes: opts.writes,
      onBatch: async (drafts) => {
        await ingest.push(drafts)
        snapshot()
      },
    })
    await Promise.race([snapped, session.done])
    await writeFile(join(dir, 'go'), '')
    const detachOnce = opts.detachOnce
    if (detachOnce !== undefined) {
      await until(`the workload to make ${detachOnce}`, () => existsSync(join(dir, detachOnce)), 20_000)
      session.detach()
      await session.done
      await writeFile(join(dir, 'end'), '')
      await until('the workload to end after the detach', gone, 20_000)
      return { leftovers: [] }
    }
    const result = await session.done
    if (result.status !== 0) throw new Error(`workload ${cmd.join(' ')} exited ${result.status ?? result.signal}: ${result.message ?? ''} ${await stderr()}`)
    return { leftovers: [] }
  })

export type Recorder = typeof recordWithStrace
export const RECORDERS: ReadonlyArray<readonly [string, Recorder]> = [['strace', recordWithStrace], ['native', recordNatively]]

/** content(path, seq) as `eyrie at #seq cat` computes it; throws if any byte is unknown. */
export const contentAt = async (r: Recorded, seq: number, path: string): Promise<Buffer> => {
  const w = await worldAt(r.journal, r.guest, seq)
  const plan = contentPlan(w, path)
  if (!plan.ok) throw new Error(plan.reason)
  if (plan.size === null) throw new Error(`${path}: size unknown at #${seq}`)
  const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
  if (unknown.length > 0) throw new Error(`${path}: unknown bytes at #${seq}: ${JSON.stringify(unknown)}`)
  return bytes
}

/** Regular files below dir on disk, by absolute path. */
export const diskFiles = async (dir: string, skip: (p: string) => boolean = () => false): Promise<Map<string, Buffer>> => {
  const out = new Map<string, Buffer>()
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name)
      if (skip(p)) continue
      const st = await lstat(p)
      if (st.isDirectory()) await walk(p)
      else if (st.isFile()) out.set(p, await readFile(p))
    }
  }
  await walk(dir)
  return out
}

/** The seq of the first successful open of `path` (a side copy marks a moment). */
export const seqOfOpen = (r: Recorded, path: string): number => {
  const e = r.events.find((x) => x.kind === 'fd.open' && x.path === path)
  if (e === undefined) throw new Error(`no open of ${path} in the journal`)
  return e.seq
}
