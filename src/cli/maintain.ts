// `eyrie verify`, `eyrie info`, `eyrie gc`: the journal's health, size and retention.
import { defaultJournalDir, openLmdbJournal } from '../journal/lmdb.js'
import type { JournalError } from '../journal/errors.js'
import { verify } from '../forensic/verify.js'
import { diskUsage, journalInfo } from '../forensic/info.js'
import { Retention, type GcReport } from '../forensic/retention.js'
import { CliError, UsageError } from './errors.js'
import { openJournal, pickGuest, type GlobalOpts } from './context.js'
import { isoNanos, printJson, printTable } from './output.js'
import { mib, progress } from './progress.js'

const dirOf = (o: GlobalOpts): string => o.journal ?? defaultJournalDir()

/** ` guest=G seq=N` where the problem belongs to a guest ('' for the journal's own storage). */
const where = (p: { readonly guest: string; readonly seq: number | null }): string =>
  `${p.guest === '' ? '' : ` guest=${p.guest}`}${p.seq === null ? '' : ` seq=${p.seq}`}`

export const runVerify = async (o: GlobalOpts): Promise<void> => {
  const reported: JournalError[] = []
  // its own opener: verify must hear about the corrupt checkpoints the journal skips
  const j = await openLmdbJournal(dirOf(o), { readOnly: true, onCorruption: (e) => reported.push(e) })
  const bar = progress('verify')
  try {
    const guests = o.guest === undefined ? undefined : [await pickGuest(j, o)]
    const report = await verify(j, {
      guests,
      takeCorruption: () => reported.splice(0),
      onProgress: (guest, done, total) => bar.update(`${guest} ${done}/${total} events`),
    })
    bar.done()
    if (o.json) printJson(report)
    else {
      printTable(['guest', 'events', 'payloads', 'payload bytes', 'checkpoints', 'problems'], report.guests.map((g) => [g.guest, g.events, g.payloads, g.payloadBytes, g.checkpoints, g.problems]))
      for (const p of report.problems.slice(0, 20)) process.stdout.write(`${p.what}${where(p)}: ${p.message}\n`)
    }
    const first = report.problems[0]
    if (first !== undefined) throw new CliError(`verify: ${report.problems.length} problem(s); first bad${where(first)}: ${first.message}`)
  } finally {
    bar.done()
    await j.close()
  }
}

const span = (ns: bigint | null): string => (ns === null ? '-' : `${(Number(ns) / 1e9).toFixed(3)} s`)

export const runInfo = async (o: GlobalOpts): Promise<void> => {
  const j = await openJournal(o)
  try {
    const info = await journalInfo(j, dirOf(o))
    if (o.json) return printJson(info)
    printTable(['guest', 'events', 'payload bytes', 'first', 'span', 'checkpoints', 'retention'], info.guests.map((g) => [
      g.guest, g.events, g.payloadBytes, g.firstTs === null ? null : isoNanos(g.firstTs), span(g.spanNs),
      g.lastCheckpoint === null ? 0 : `${g.checkpoints} (last #${g.lastCheckpoint})`, g.retention,
    ]))
    const d = info.disk
    process.stdout.write(`${info.totals.guests} guest(s), ${info.totals.events} event(s), ${info.totals.payloadBytes} payload byte(s)` +
      (d === null ? '\n' : `; on disk ${d.dir}: ${mib(d.bytes)} (${mib(d.allocated)} allocated): ${d.files.map((f) => `${f.name} ${mib(f.bytes)}`).join(', ')}\n`))
  } finally {
    await j.close()
  }
}

export interface GcOpts extends GlobalOpts { live?: boolean; dryRun?: boolean }

/** Live mode (--live, or a guest recorded with retention=live) frees; forensic mode only reports what
 *  live mode would free. */
export const runGc = async (o: GcOpts): Promise<void> => {
  if (o.live && o.dryRun) throw new UsageError('--live and --dry-run: choose one')
  const j = await openJournal(o, false)
  const bar = progress('gc')
  try {
    const all = await j.guests()
    if (o.guest !== undefined) await pickGuest(j, o) // an unknown guest is refused by name
    const guests = o.guest === undefined ? all : all.filter((g) => g.guest === o.guest)
    const before = await diskUsage(dirOf(o))
    const rows: Array<GcReport & { mode: string; payloadBytes: number }> = []
    for (const g of guests) {
      const live = o.live === true || g.meta.retention === 'live'
      const r = new Retention(j, g.guest)
      const report = await r.collect({ upTo: g.events, checkpoint: live && !o.dryRun, dryRun: !live || o.dryRun === true, onProgress: (done, total) => bar.update(`${g.guest} ${done}/${total} events`) })
      if (live && !o.dryRun) {
        const prev = (n: string) => Number(g.meta[n] ?? '0')
        await j.setMeta(g.guest, {
          retention: 'live', 'gc.upTo': String(report.upTo),
          'gc.freedEvents': String(prev('gc.freedEvents') + report.freedEvents), 'gc.freedBytes': String(prev('gc.freedBytes') + report.freedBytes),
        })
      }
      const after = (await j.guests()).find((x) => x.guest === g.guest)
      rows.push({ ...report, mode: live ? 'live' : 'forensic', payloadBytes: after?.payloadBytes ?? g.payloadBytes })
    }
    await j.flush()
    bar.done()
    const after = await diskUsage(dirOf(o))
    if (o.json) return printJson({ guests: rows, disk: { before: before.bytes, after: after.bytes } })
    printTable(['guest', 'mode', 'up to', 'freed events', 'freed bytes', 'unconfirmed', 'still needed', 'checkpoints rewritten', 'payload bytes now'], rows.map((r) => [
      r.guest, r.dryRun ? `${r.mode} (dry run)` : r.mode, `#${r.upTo}`, r.freedEvents, r.dryRun ? `${r.freedBytes} (would)` : r.freedBytes, r.unconfirmed, r.stillNeeded, r.checkpointsRewritten, r.payloadBytes,
    ]))
    if (rows.some((r) => r.mode === 'forensic')) process.stdout.write('forensic mode keeps every byte; `eyrie gc --live` frees what a flush confirmed and the end no longer reads (older answers become unknown)\n')
    process.stdout.write(`journal file ${mib(after.bytes)} (LMDB reuses freed pages; the file does not shrink)\n`)
  } finally {
    bar.done()
    await j.close()
  }
}
