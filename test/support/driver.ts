// The random-workload driver of the kernel-as-oracle tests (test/fixtures/file-driver.py): its steps
// as fast-check arbitraries, its run under a recorder, and the checks of what eyrie answers against
// what the driver, or the test reading from outside the recording, saw.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { Socket } from 'node:net'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import fc from 'fast-check'
import { materialize } from '../../src/engine/content.js'
import { worldAt } from '../../src/engine/replay.js'
import { contentPlan, fds } from '../../src/projections/index.js'
import { contentAt, type Recorded } from './e2e.js'

const run = promisify(execFile)
export const DRIVER = fileURLToPath(new URL('../fixtures/file-driver.py', import.meta.url))
export const PATHS = ['a', 'b', 'c']

export const hex = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('hex'))
export const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('open'), slot: fc.nat(2), path: fc.nat(2), trunc: fc.boolean(), append: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write'), slot: fc.nat(2), data: hex }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pwrite'), slot: fc.nat(2), data: hex, offset: fc.nat(300) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('seek', 'read', 'ftruncate'), slot: fc.nat(2), offset: fc.nat(300) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close'), slot: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('rename', 'link'), path: fc.nat(2), to: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink'), path: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate'), path: fc.nat(2), offset: fc.nat(300) }) },
)
export const observeStep = fc.oneof(
  { weight: 5, arbitrary: step },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('openro'), like: fc.nat(2), shift: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup'), slot: fc.nat(2), to: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('child'), slot: fc.nat(2), data: hex }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('copy', 'view'), first: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('check') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('inherit'), slot: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('spawn') }) },
)

/** An open of an existing file by its handle (open_by_handle_at), else as `open`: for the native
 *  recorders only (strace names no file for the fd it makes; the importer refuses the line). */
export const handleStep = fc.record({ op: fc.constant('openh'), slot: fc.nat(2), path: fc.nat(2), trunc: fc.boolean(), append: fc.boolean() })

/** The driver's run under the recorder; its report lines split, and the seqs of its markers (its
 *  workers', in step order). With `snaps`, the driver keeps the bytes of each check and look in the
 *  work dir's snap/; with `pause`, the test sets its pace (pace()); `workers: 2` forks a second one. */
export const runDriver = async (record: (cmd: string[]) => Promise<Recorded>, steps: unknown[], opts: { observe?: boolean; snaps?: boolean; pause?: boolean; workers?: 1 | 2 } = {}) => {
  const observe = opts.observe === true
  const mode = observe ? ` observe${opts.snaps === true ? ' ../snap' : ''}` : ''
  const env = `${opts.pause === true ? 'PAUSE=../fifo ' : ''}${opts.workers === 2 ? 'WORKERS=2 ' : ''}`
  const r = await record(['sh', '-c', `mkdir -p w snap && cd w && ${env}/usr/bin/python3 "$0" "$1"${mode} > ../out.txt`, DRIVER, JSON.stringify(steps)])
  const stdout = await readFile(join(r.dir, 'out.txt'), 'utf8')
  // attached to, the driver was running already: the snapshot's python3; else the first python3 exec'd
  // (a spawn step's child execs one later)
  const snap = r.events.find((e) => e.kind === 'snapshot')
  const driver = (snap?.kind === 'snapshot' ? snap.procs.find((p) => p.exe.includes('python3'))?.pid : undefined) ??
    r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
  const workers = new Set([driver, ...r.events.flatMap((e) => (e.kind === 'proc.spawn' && e.pid === driver ? [e.child] : []))])
  const markers = r.events.filter((e) => e.kind === 'proc.chdir' && workers.has(e.pid)).map((e) => e.seq)
  const reports = stdout.trim().split('\n').map((l) => l.split(' '))
  const looks = observe ? reports.reduce((n, l) => n + (l[4] === '-' ? 0 : l[4].split(',').length), 0) : 0
  assert.equal(markers.length, steps.length * (observe ? 2 : 1) + looks, 'markers per step')
  return { r, reports, markers }
}

/** Each file's content at seq hashes as the driver's report line says (absent: no such name). */
export const assertFiles = async (r: Recorded, seq: number, report: string[], what: string): Promise<void> => {
  const w = await worldAt(r.journal, r.guest, seq)
  for (const [i, name] of PATHS.entries()) {
    const path = join(r.dir, 'w', name)
    const expected = report[i + 1]
    if (expected === '?') continue // not looked at in this step
    if (expected === '-') {
      assert.equal(w.names.get(path), undefined, `${what}: ${name} should be absent`)
      continue
    }
    const got = createHash('sha256').update(await contentAt(r, seq, path)).digest('hex')
    assert.equal(got, expected, `${what}: ${name} at #${seq}`)
  }
}

// Files that existed before the recording: a small one is copied whole at its first open for
// writing; a larger one (past 64 KiB, src/native/content.cc) keeps the old bytes each write is about
// to cover (pre-images), and the rest stays unknown. Described, not held, so a counterexample prints short.
export const initialFile = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('small' as const), hex: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('hex')) }),
  fc.record({ kind: fc.constant('large' as const), seed: fc.integer(), extra: fc.nat(4096) }),
)
export type InitialFile = typeof initialFile extends fc.Arbitrary<infer T> ? T : never

export const bytesOf = (f: InitialFile): Buffer | null => {
  if (f.kind === 'none') return null
  if (f.kind === 'small') return Buffer.from(f.hex, 'hex')
  const out = Buffer.alloc(65536 + 1 + f.extra)
  let x = f.seed | 1
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** After a spawn step (the report's field 6), the child's table as it exec'd the driver: eyrie's
 *  table for it at its exec (close-on-exec descriptors closed) is what the kernel listed. */
export const assertSpawned = async (r: Recorded, spawned: string, what: string, under = '/'): Promise<void> => {
  if (spawned === '-') return
  const child = (JSON.parse(spawned) as { pid: number }).pid
  const exec = r.events.find((e) => e.kind === 'proc.exec' && e.pid === child)
  assert.ok(exec !== undefined, `${what}: the child ${child} exec'd`)
  await assertFdTable(r, exec.seq, spawned, `${what}, the child after its exec`, under)
}

/** The driver's descriptors on files after a step (its report's last field) are what eyrie's fd
 *  table holds for that process at the step's marker: the same fds, modes, close-on-exec flags and
 *  names, " (deleted)" where the kernel says it, and positions where eyrie knows them (`positions`:
 *  how many it knew). eyrie may know more fds (pipes and sockets are not in the listing), not fewer.
 *  `under`: only descriptors on names below it (strace sees no descriptor the driver inherited). */
export const assertFdTable = async (r: Recorded, seq: number, table: string, what: string, under = '/'): Promise<{ positions: number }> => {
  const kernel = JSON.parse(table) as { pid: number; fds: Record<string, [string, boolean, boolean, string, number]> }
  const rows = fds(await worldAt(r.journal, r.guest, seq), kernel.pid)
  let positions = 0
  for (const [fd, [mode, cloexec, deleted, name, pos]] of Object.entries(kernel.fds)) {
    if (!name.startsWith(under)) continue
    const f = rows.find((x) => String(x.fd) === fd)
    if (f?.pos !== null && f?.pos !== undefined) positions++
    const row = f === undefined ? undefined : [f.mode, f.cloexec, f.deleted, f.path, f.pos ?? pos]
    assert.deepEqual(row, [mode, cloexec, deleted, name, pos], `${what}: fd ${fd} of ${kernel.pid} at #${seq} ([mode, cloexec, deleted, name, position]; eyrie's table: ${JSON.stringify(rows)})`)
  }
  return { positions }
}

/** What eyrie knows of path at seq matches `truth` byte for byte; returns how many bytes it does not
 *  know (a size it does not know, or a name: all of them; `named`: the name must be known). */
export const unknownBytes = async (r: Recorded, seq: number, path: string, truth: Buffer, what: string, named = true): Promise<number> => {
  const plan = contentPlan(await worldAt(r.journal, r.guest, seq), path)
  if (!plan.ok && !named) return truth.length
  if (!plan.ok) throw new Error(`${what}: ${plan.reason}`)
  if (plan.size === null) return truth.length
  assert.equal(plan.size, truth.length, `${what}: size of ${path} at #${seq}`)
  const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
  const expected = Buffer.from(truth)
  for (const u of unknown) {
    bytes.fill(0, u.start, u.end)
    expected.fill(0, u.start, u.end)
  }
  const wrong = bytes.findIndex((b, i) => b !== expected[i])
  assert.equal(wrong, -1, `${what}: ${path} at #${seq}: byte ${wrong} is ${bytes[wrong]}, the kernel's ${expected[wrong]} (unknown: ${JSON.stringify(unknown)})`)
  return unknown.reduce((n, u) => n + u.end - u.start, 0)
}

/** Between two steps' markers (a step is one call, with the events it makes: an open and the copy
 *  of an old file, a pre-image and the write), each byte eyrie knows is the file's before the step or
 *  after it, and so is a size it knows. */
export const assertBetween = async (r: Recorded, from: number, to: number, path: string, before: Buffer, after: Buffer, what: string): Promise<void> => {
  for (let seq = from + 1; seq < to; seq++) {
    const plan = contentPlan(await worldAt(r.journal, r.guest, seq), path)
    if (!plan.ok || plan.size === null) continue
    assert.ok(plan.size === before.length || plan.size === after.length, `${what}: ${path} at #${seq} is ${plan.size} bytes, the kernel's ${before.length} before the step and ${after.length} after`)
    const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
    // the whole state before or after (unknown bytes aside) is the common case: compared whole, fast
    const masked = (b: Buffer): Buffer => {
      const c = Buffer.from(b)
      for (const u of unknown) c.fill(0, u.start, Math.min(u.end, c.length))
      return c
    }
    if (bytes.equals(masked(before)) || bytes.equals(masked(after))) continue
    const isUnknown = (i: number): boolean => unknown.some((u) => u.start <= i && i < u.end)
    const wrong = bytes.findIndex((b, i) => b !== before[i] && b !== after[i] && !isUnknown(i))
    assert.equal(wrong, -1, `${what}: ${path} at #${seq}: byte ${wrong} is ${bytes[wrong]}, the kernel's ${before[wrong]} before the step and ${after[wrong]} after`)
  }
}

/** Sets the driver's pace ($PAUSE): lets each step go on its worker, reads the files from outside
 *  the recording after the step's marker (states: by step, each file's bytes or null when absent),
 *  then lets the step finish. The FIFOs are held open for reading and writing here, so no open on
 *  either side waits for the other; finish() ends it (an error if the driver stopped early). */
export const pace = async (dir: string, steps: ReadonlyArray<{ readonly by?: number }>) => {
  const fifo = join(dir, 'fifo')
  await mkdir(fifo)
  await run('mkfifo', ['ask', 'go0', 'go1'].map((n) => join(fifo, n)))
  const ask = new Socket({ fd: openSync(join(fifo, 'ask'), constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false })
  const go = [0, 1].map((w) => openSync(join(fifo, `go${w}`), constants.O_RDWR | constants.O_NONBLOCK))
  const lines: string[] = []
  let wake: () => void = () => {}
  let ended = false
  let partial = ''
  ask.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk
    for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
      lines.push(partial.slice(0, i))
      partial = partial.slice(i + 1)
    }
    wake()
  })
  const hear = async (line: string): Promise<void> => {
    while (lines.length === 0) {
      if (ended) throw new Error(`the driver ended before it said ${JSON.stringify(line)}`)
      await new Promise<void>((resolve) => (wake = resolve))
    }
    const got = lines.shift()
    if (got !== line) throw new Error(`the driver said ${JSON.stringify(got)} where ${JSON.stringify(line)} was due`)
  }
  const states: Array<Array<Buffer | null>> = []
  const paced = (async () => {
    for (const [n, s] of steps.entries()) {
      const worker = go[s.by ?? 0]
      writeSync(worker, 'g')
      await hear(`${n}`)
      states[n] = await Promise.all(PATHS.map((p) => readFile(join(dir, 'w', p)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)))))
      writeSync(worker, 'g')
      await hear(`e ${n}`)
    }
  })()
  paced.catch(() => {}) // finish() reports it
  return {
    states,
    finish: async (): Promise<void> => {
      ended = true
      wake()
      try {
        await paced
      } finally {
        ask.destroy()
        for (const fd of go) closeSync(fd)
      }
    },
  }
}
