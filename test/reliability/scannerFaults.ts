// Scanner faults under `eyrie record --scan --clamd SOCKET`: a workload runs two new scripts while
// clamd is well, waits for the test to break clamd (kill it, stop it) and runs three more, then
// waits for the test to heal it (if it can) and runs a last one.
// Shared by scanner-faults.test.ts and bench/torture.ts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Event } from '../../src/events/index.js'
import { startRecorder, leftoversAfter, type Leftover } from './support.js'

/** run N: write a new script sN.sh, make it executable, run it; its exit code goes to codes.txt. */
export const PHASED = [
  'run() { printf \'#!/bin/sh\\necho ran %s\\n\' "$1" > "s$1.sh"; chmod +x "s$1.sh"; ./"s$1.sh" >> ran.txt 2>> err.txt; echo "$1 $?" >> codes.txt; }',
  'run 1; run 2; sleep 0.01',
  ': > phase1.done',
  'while [ ! -e go ]; do sleep 0.05; done',
  'run 3; run 4; run 5',
  ': > phase2.done',
  'while [ ! -e resume ]; do sleep 0.05; done',
  'run 6',
].join('\n')

export interface FaultRun {
  readonly status: number | null
  readonly stderr: string
  /** lines of codes.txt: "N exit" */
  readonly codes: readonly string[]
  readonly ran: string
  /** from creating `go` to the end of the three runs while clamd is broken */
  readonly afterFaultMs: number
  /** the longest time between two consecutive journal events: how long the guest was held */
  readonly maxGapMs: number
  readonly events: readonly Event[]
  readonly leftovers: readonly Leftover[]
  /** the recorder had to be killed: it did not exit by itself within `exitWithinMs` of `resume` */
  readonly hung: boolean
}

export interface FaultOptions {
  readonly dir: string
  readonly socket: string
  readonly timeoutMs?: number
  /** breaks clamd once the first phase is done */
  readonly fault: () => void | Promise<void>
  /** mends it once the second phase is done */
  readonly heal?: () => void | Promise<void>
  readonly exitWithinMs?: number
}

const readLines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [])

export const faultRun = async (o: FaultOptions): Promise<FaultRun> => {
  const journal = join(o.dir, 'journal')
  const options = ['--scan', '--clamd', o.socket, ...(o.timeoutMs === undefined ? [] : ['--timeout', String(o.timeoutMs)])]
  const rec = startRecorder({ journal, guest: 'faults', cwd: o.dir, argv: ['sh', '-c', PHASED], options })
  let ended = false
  void rec.exited.then(() => (ended = true))
  const deadline = Date.now() + 60_000
  while (!existsSync(join(o.dir, 'phase1.done')) && !ended && Date.now() < deadline) await sleep(10)
  await o.fault()
  const t0 = performance.now()
  writeFileSync(join(o.dir, 'go'), '')
  while (!existsSync(join(o.dir, 'phase2.done')) && !ended && Date.now() < deadline + 60_000) await sleep(10)
  const afterFaultMs = performance.now() - t0
  await o.heal?.()
  writeFileSync(join(o.dir, 'resume'), '')
  let hung = false
  const timer = setTimeout(() => {
    hung = true
    rec.child.kill('SIGKILL')
  }, o.exitWithinMs ?? 30_000)
  const exit = await rec.exited
  clearTimeout(timer)
  const leftovers = await leftoversAfter(rec.tag)
  const events: Event[] = []
  const j = await openLmdbJournal(journal, { readOnly: true })
  try {
    for await (const b of j.read('faults', 1, await j.lastSeq('faults'))) events.push(...b)
  } finally {
    await j.close()
  }
  let maxGap = 0n
  for (let i = 1; i < events.length; i++) if (events[i].ts - events[i - 1].ts > maxGap) maxGap = events[i].ts - events[i - 1].ts
  return {
    status: exit.status, stderr: exit.stderr, codes: readLines(join(o.dir, 'codes.txt')), ran: existsSync(join(o.dir, 'ran.txt')) ? readFileSync(join(o.dir, 'ran.txt'), 'utf8') : '',
    afterFaultMs, maxGapMs: Number(maxGap) / 1e6, events, leftovers, hung,
  }
}

/** The scan.verdict and access.denied events about sN.sh, in order. */
export const decisionsAbout = (events: readonly Event[], dir: string, n: number): Event[] =>
  events.filter((e) => (e.kind === 'scan.verdict' || e.kind === 'access.denied') && e.path === join(dir, `s${n}.sh`))
