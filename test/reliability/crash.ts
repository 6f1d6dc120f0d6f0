// Crash safety: `eyrie record` SIGKILLed at random instants of a write-heavy workload. After each kill:
// no process of the workload is left (PTRACE_O_EXITKILL), the journal opens and verifies, every
// batch a reader saw committed is still there byte for byte, no reader ever saw a batch in part, and
// the next recording into the same journal (a new guest) works. Shared by crash.test.ts and torture.
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { JournalError } from '../../src/journal/errors.js'
import { verify } from '../../src/forensic/verify.js'
import { JournalWatcher, leftoversAfter, rawEvents, rawGuests, startRecorder, tempDir, type Leftover } from './support.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** Appends, whole-file rewrites of 24 KiB from a child process, renames and unlinks, forever. */
export const WRITE_HEAVY = [
  'i=0',
  'while [ $i -lt 100000 ]; do',
  '  i=$((i+1))',
  '  echo "line $i" >> log',
  '  head -c 24576 /dev/urandom > "f$((i % 5))"',
  '  if [ $((i % 7)) -eq 0 ]; then mv f1 "moved$((i % 3))"; rm -f f2; fi',
  'done',
].join('\n')

export interface CrashInstant {
  readonly guest: string
  /** after the first event a reader saw */
  readonly delayMs: number
  /** the highest seq a reader saw committed before the kill */
  readonly seenCommitted: number
  /** the guest's last seq after the kill */
  readonly last: number
  readonly checkpoints: number
  readonly polls: number
  readonly partialPolls: number
  readonly lostSeen: number
  readonly leftovers: readonly Leftover[]
  readonly problems: readonly string[]
}

export interface CrashOptions {
  readonly instants: number
  readonly random: () => number
  /** kill between 0 and this many ms after the first committed event */
  readonly maxDelayMs?: number
  /** journals killed on at once (each a sequence of guests) */
  readonly lanes?: number
  readonly checkpointEvery?: number
  readonly log?: (line: string) => void
}

export interface CrashReport {
  readonly instants: readonly CrashInstant[]
  readonly journals: readonly string[]
  cleanup(): Promise<void>
}

const killOne = async (journal: string, work: string, guest: string, delayMs: number, checkpointEvery: number): Promise<CrashInstant> => {
  const rec = startRecorder({ journal, guest, cwd: work, argv: ['sh', '-c', WRITE_HEAVY], options: ['--checkpoint-every', String(checkpointEvery)] })
  const watcher = new JournalWatcher(journal, guest)
  watcher.start(5)
  const problems: string[] = []
  try {
    const deadline = Date.now() + 60_000
    let ended = false
    void rec.exited.then(() => (ended = true))
    while (watcher.maxLast === 0 && !ended && Date.now() < deadline) await sleep(5)
    if (watcher.maxLast === 0) problems.push(`no event committed before ${ended ? 'the recorder ended' : 'the deadline'}`)
    await sleep(delayMs)
    rec.child.kill('SIGKILL')
    const exit = await rec.exited
    if (exit.signal !== 'SIGKILL') problems.push(`recorder ended by itself before the kill: ${exit.status} ${exit.stderr.trim().split('\n').pop() ?? ''}`)
  } finally {
    await watcher.stop()
  }
  const leftovers = await leftoversAfter(rec.tag)
  if (leftovers.length > 0) problems.push(`processes of the workload survived: ${leftovers.map((p) => `${p.pid} (${p.state}) ${p.cmd}`).join('; ')}`)
  if (watcher.partial.length > 0) problems.push(`a reader saw a partial batch: ${JSON.stringify(watcher.partial.slice(0, 3).map((o) => [o.last, o.lastKey]))}`)

  // the journal as the next opener finds it
  const raw = (await rawGuests(journal)).get(guest)
  const last = raw?.last ?? 0
  if (raw !== undefined && raw.last !== raw.lastKey) problems.push(`guest record says last ${raw.last}, events end at ${raw.lastKey}`)
  if (last < watcher.maxLast) problems.push(`committed events lost: a reader saw seq ${watcher.maxLast}, the journal ends at ${last}`)
  const seenSeqs = [...new Set(watcher.seen.filter((o) => o.value !== undefined).map((o) => o.last))]
  const stored = await rawEvents(journal, guest, seenSeqs)
  let lostSeen = 0
  for (const o of watcher.seen) {
    if (o.value === undefined) continue
    const now = stored.get(o.last)
    if (now === undefined || !now.equals(o.value)) lostSeen++
  }
  if (lostSeen > 0) problems.push(`${lostSeen} record(s) a reader saw differ after the crash`)

  const corruption: JournalError[] = []
  const j = await openLmdbJournal(journal, { readOnly: true, onCorruption: (e) => corruption.push(e) })
  let checkpoints = 0
  try {
    const report = await verify(j, { guests: [guest], takeCorruption: () => corruption.splice(0) })
    checkpoints = report.guests[0]?.checkpoints ?? 0
    for (const p of report.problems) problems.push(`verify: ${p.what} seq=${p.seq ?? '-'}: ${p.message}`)
    if (report.guests.length === 0 && last > 0) problems.push('verify did not see the guest')
  } finally {
    await j.close()
  }
  return { guest, delayMs, seenCommitted: watcher.maxLast, last, checkpoints, polls: watcher.seen.length, partialPolls: watcher.partial.length, lostSeen, leftovers, problems }
}

/** Runs `instants` kills spread over `lanes` journals; every kill after a lane's first records into a
 *  journal a killed recorder left behind (resuming into a new guest). */
export const crashRun = async (o: CrashOptions): Promise<CrashReport> => {
  const lanes = Math.max(1, Math.min(o.lanes ?? 2, o.instants))
  const dirs = await Promise.all(Array.from({ length: lanes }, (_, i) => tempDir(`crash${i}`)))
  const instants: CrashInstant[] = []
  const plan = Array.from({ length: o.instants }, () => Math.round(o.random() * (o.maxDelayMs ?? 1500)))
  await Promise.all(dirs.map(async ({ dir }, lane) => {
    for (let k = lane; k < plan.length; k += lanes) {
      const guest = `crash-${k}`
      const r = await killOne(`${dir}/journal`, dir, guest, plan[k], o.checkpointEvery ?? 400)
      instants.push(r)
      o.log?.(`kill ${k + 1}/${plan.length} ${guest} +${r.delayMs} ms: seen ${r.seenCommitted}, kept ${r.last}, ${r.checkpoints} checkpoint(s), ${r.polls} polls${r.problems.length > 0 ? `; PROBLEMS: ${r.problems.join(' | ')}` : ''}`)
    }
  }))
  instants.sort((a, b) => Number(a.guest.slice(6)) - Number(b.guest.slice(6)))
  return { instants, journals: dirs.map((d) => `${d.dir}/journal`), cleanup: async () => void (await Promise.all(dirs.map((d) => d.cleanup()))) }
}
