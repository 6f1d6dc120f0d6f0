// Fault-injection support: the real recorder as a child process (so it can be SIGKILLed), a reader
// that watches its journal through a raw lmdb handle while it writes, the processes a workload left
// behind, and the recorder's peak memory. Shared by test/reliability/*.test.ts and bench/torture.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises'
import { readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { open, type Database, type RootDatabase } from 'lmdb'
import { DATA_FILE, LMDB_HEADER_BYTES } from '../../src/journal/files.js'
import { testEnv } from '../support/cli.js'

export const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))

/** A fresh canonical directory (the recorder names files by canonical paths). */
export const tempDir = async (prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), `eyrie-rel-${prefix}-`)))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Every process of a workload carries this variable (the recorder hands its environment down). */
export const TAG_VAR = 'EYRIE_RELIABILITY_TAG'

export interface Recorder {
  readonly child: ChildProcess
  readonly pid: number
  /** resolves with the exit status (or 128 + signal number) and what the recorder said on stderr */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }>
  readonly tag: string
  /** highest VmHWM (peak RSS, KiB) seen while polling; polled every `pollMs` */
  peakKiB(): number
}

export interface RecordArgs {
  readonly journal: string
  readonly guest?: string
  readonly cwd: string
  readonly argv: readonly string[]
  /** options before `--` (after `record`) */
  readonly options?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  readonly pollMs?: number
}

const vmHwm = (pid: number): number | undefined => {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined // gone
  }
}

/** `node bin/eyrie.js --journal J record [--guest G] OPTIONS -- ARGV` as a child process. */
export const startRecorder = (a: RecordArgs): Recorder => {
  const tag = `t${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`
  const args = [BIN, '--journal', a.journal, 'record', ...(a.guest === undefined ? [] : ['--guest', a.guest]), ...(a.options ?? []), '--', ...a.argv]
  const t0 = performance.now()
  // killed with this process, whatever kills it (setpriv execs node in place: the pid is the recorder's):
  // recorders left by a test process that died of a signal ran on for half an hour, writing GBs
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...args], { cwd: a.cwd, env: { ...testEnv(), ...a.env, [TAG_VAR]: tag }, stdio: ['ignore', 'ignore', 'pipe'] })
  if (child.pid === undefined) throw new Error('the recorder did not start')
  const pid = child.pid
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 1 << 16) stderr += s
  })
  let peak = 0
  const poll = setInterval(() => {
    peak = Math.max(peak, vmHwm(pid) ?? 0)
  }, a.pollMs ?? 50)
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }>((resolve) => {
    child.once('exit', (status, signal) => {
      clearInterval(poll)
      const ms = performance.now() - t0
      // stderr may still be draining
      child.stderr?.once('close', () => resolve({ status, signal, stderr, ms }))
      if (child.stderr === null || child.stderr.readableEnded) resolve({ status, signal, stderr, ms })
    })
  })
  return { child, pid, exited, tag, peakKiB: () => Math.max(peak, vmHwm(pid) ?? 0) }
}

export interface Leftover { readonly pid: number; readonly state: string; readonly cmd: string }

const statusOf = (text: string): string => /^State:\s+(\S)/m.exec(text)?.[1] ?? '?'

/** Live (not zombie) processes whose environment carries the tag. */
export const processesTagged = async (tag: string): Promise<Leftover[]> => {
  const needle = Buffer.from(`${TAG_VAR}=${tag}\0`)
  const out: Leftover[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    try {
      const env = await readFile(`/proc/${pid}/environ`)
      if (env.indexOf(needle) < 0) continue
      const state = statusOf(await readFile(`/proc/${pid}/status`, 'utf8'))
      if (state === 'Z' || state === 'X') continue
      const cmd = (await readFile(`/proc/${pid}/cmdline`)).toString('utf8').replace(/\0/g, ' ').trim()
      out.push({ pid, state, cmd })
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out
}

/** Waits up to `ms` for every tagged process to be gone; returns those still there (then kills them,
 *  so a failing run does not leave load behind). */
export const leftoversAfter = async (tag: string, ms = 3000): Promise<Leftover[]> => {
  const end = Date.now() + ms
  for (;;) {
    const left = await processesTagged(tag)
    if (left.length === 0) return []
    if (Date.now() > end) {
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      return left
    }
    await sleep(25)
  }
}

/** What a reader of the journal saw while the writer ran: per poll, the guest's committed last seq
 *  (its guest record) and the last event key, read in one snapshot. They differ only if a batch were
 *  partly visible. `values` keeps the bytes of the last record seen, to compare after a crash. */
export interface Observation { readonly last: number; readonly lastKey: number; readonly value: Buffer | undefined }

export class JournalWatcher {
  readonly seen: Observation[] = []
  private timer: NodeJS.Timeout | undefined
  private root: RootDatabase | undefined
  private events: Database<Buffer, [string, number]> | undefined
  private guests: Database<Buffer, string> | undefined
  errors: string[] = []

  constructor(private readonly dir: string, private readonly guest: string) {}

  /** Starts polling every `ms` once data.mdb exists. */
  start(ms = 5): void {
    this.timer = setInterval(() => this.poll(), ms)
  }

  private poll(): void {
    try {
      if (this.root === undefined) {
        // not before LMDB wrote its header: lmdb-js opening the empty file read-only dies of SIGSEGV
        if ((statSync(join(this.dir, DATA_FILE), { throwIfNoEntry: false })?.size ?? 0) < LMDB_HEADER_BYTES) return
        // opened once and kept: the watcher used to close (asynchronously) and reopen the path every 5 ms
        // until the databases existed, and attach-kill.test.ts then saw no events for 30 s, or died of
        // SIGSEGV, now and then
        this.root = open(this.dir, { noSubdir: false, maxDbs: 16, readOnly: true })
      }
      if (this.events === undefined || this.guests === undefined) {
        // a read-only opener cannot create the databases: until the writer has, openDB finds none
        this.events = this.root.openDB<Buffer, [string, number]>('events', { encoding: 'binary', keyEncoding: 'ordered-binary' })
        this.guests = this.root.openDB<Buffer, string>('guests', { encoding: 'binary', keyEncoding: 'ordered-binary' })
        if (this.events === undefined || this.guests === undefined) return
      }
      const o = snapshotOf(this.root, this.events, this.guests, this.guest)
      if (o !== undefined) this.seen.push(o)
    } catch (err) {
      // kept for the test's failure message
      this.errors.push(err instanceof Error ? err.message : String(err))
      if (this.errors.length > 1000) this.errors.shift()
    }
  }

  /** The highest committed seq a reader saw. */
  get maxLast(): number {
    return this.seen.reduce((m, o) => Math.max(m, o.last), 0)
  }

  /** Polls where the guest record and the events disagreed. */
  get partial(): Observation[] {
    return this.seen.filter((o) => o.last !== o.lastKey)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.root?.close()
    this.root = undefined
  }
}

/** The guest record's `last` (parsed from its JSON, after the 4-byte crc) and the last event key. */
const snapshotOf = (root: RootDatabase, events: Database<Buffer, [string, number]> | undefined, guests: Database<Buffer, string> | undefined, guest: string): Observation | undefined => {
  if (events === undefined || guests === undefined) return undefined
  root.resetReadTxn()
  const transaction = root.useReadTransaction()
  try {
    const record = guests.get(guest, { transaction })
    if (record === undefined) return undefined
    const last = Number(JSON.parse(record.subarray(4).toString('utf8')).last)
    const keys = [...events.getKeys({ start: [guest, Number.MAX_SAFE_INTEGER], end: [guest], reverse: true, limit: 1, transaction })]
    const lastKey = keys.length === 0 ? 0 : keys[0][1]
    const value = last === 0 ? undefined : events.get([guest, last], { transaction })
    return { last, lastKey, value: value === undefined ? undefined : Buffer.from(value) }
  } finally {
    transaction.done()
  }
}

/** One raw look at a closed journal: for each guest, (record's last, last event key). */
export const rawGuests = async (dir: string): Promise<Map<string, { last: number; lastKey: number }>> => {
  const root = open(dir, { noSubdir: false, maxDbs: 8, readOnly: true })
  try {
    const events = root.openDB<Buffer, [string, number]>('events', { encoding: 'binary', keyEncoding: 'ordered-binary' })
    const guests = root.openDB<Buffer, string>('guests', { encoding: 'binary', keyEncoding: 'ordered-binary' })
    const out = new Map<string, { last: number; lastKey: number }>()
    for (const { key } of guests.getRange({})) {
      const o = snapshotOf(root, events, guests, key)
      if (o !== undefined) out.set(key, { last: o.last, lastKey: o.lastKey })
    }
    return out
  } finally {
    await root.close()
  }
}

/** The raw stored values (crc included) of some events, to compare with what a reader saw. */
export const rawEvents = async (dir: string, guest: string, seqs: readonly number[]): Promise<Map<number, Buffer | undefined>> => {
  const root = open(dir, { noSubdir: false, maxDbs: 8, readOnly: true })
  try {
    const events = root.openDB<Buffer, [string, number]>('events', { encoding: 'binary', keyEncoding: 'ordered-binary' })
    return new Map(seqs.map((seq) => {
      const v = events.get([guest, seq])
      return [seq, v === undefined ? undefined : Buffer.from(v)]
    }))
  } finally {
    await root.close()
  }
}

export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

/** A small seeded generator (mulberry32): torture runs print their seed and can be replayed. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
