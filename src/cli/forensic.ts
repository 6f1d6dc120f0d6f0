// `eyrie diff T1 T2`, `eyrie timeline PATH`, `eyrie export --at T DIR|FILE.tar`: the investigator's
// questions about the past.
import { diff, type Side } from '../forensic/diff.js'
import { modeString, ownerString } from '../projections/index.js'
import { timeline } from '../forensic/timeline.js'
import { exportAt, ExportRefused } from '../forensic/export.js'
import { openDirTarget, openTarTarget, ExportConflict } from '../forensic/exportTargets.js'
import { CliError, UsageError } from './errors.js'
import { openJournal, pickGuest, seqOf, type GlobalOpts } from './context.js'
import { isoNanos, printJson, printTable } from './output.js'
import { mib, progress } from './progress.js'

const short = (sha: string | null): string => (sha === null ? '-' : sha.slice(0, 16))
const sideText = (s: Side): string => {
  const what = s.type === 'symlink' ? `-> ${s.target ?? '?'}` : s.type !== 'file' ? s.type : `${s.size ?? '?'} B ${short(s.sha256)}${s.unknownBytes ? ` (${s.unknownBytes} unknown)` : ''}`
  const attributes = [s.mode === null || s.type === 'symlink' ? '' : modeString(s.type, s.mode), s.uid === null && s.gid === null ? '' : ownerString(s.uid, s.gid)]
  return [...attributes.filter((a) => a !== ''), what].join(' ')
}

export interface DiffOpts extends GlobalOpts { activity?: boolean }

export const runDiff = async (t1: string, t2: string, o: DiffOpts): Promise<void> => {
  const j = await openJournal(o)
  const bar = progress('diff')
  try {
    const guest = await pickGuest(j, o)
    const s1 = await seqOf(j, guest, t1)
    const s2 = await seqOf(j, guest, t2)
    if (s2 < s1) throw new UsageError(`T2 (#${s2}) is before T1 (#${s1})`)
    const d = await diff(j, guest, s1, s2, { activity: o.activity !== false, onProgress: (done, total, what) => bar.update(`${what} ${done}/${total}`) })
    bar.done()
    if (o.json) return printJson(d)
    const at = (m: { seq: number; ts: bigint | null }) => `#${m.seq}${m.ts === null ? '' : ` (${isoNanos(m.ts)})`}`
    process.stdout.write(`guest ${guest}: ${at(d.from)} -> ${at(d.to)}\n\nfiles\n`)
    printTable(['change', 'path', 'before', 'after'], d.files.map((f) => {
      switch (f.change) {
        case 'created': return ['created', f.linkOf === null ? f.path : `${f.path} (link of ${f.linkOf})`, null, sideText(f.after)]
        case 'deleted': return ['deleted', f.stillOpen ? `${f.path} (still open)` : f.path, sideText(f.before), null]
        case 'changed': return [f.replaced ? 'replaced' : 'changed', f.from === null ? f.path : `${f.path} (from ${f.from})`, sideText(f.before), sideText(f.after)]
        case 'renamed': return [f.contentChanged ? 'renamed+changed' : 'renamed', `${f.from} -> ${f.path}`, sideText(f.before), sideText(f.after)]
      }
    }))
    if (d.lagging.length > 0) process.stdout.write(`(${d.lagging.length} of them held open for writing at T1 or T2: recorded writes are read back where they can be observed, so those sides are as last read back and may lack bytes written since: ${d.lagging.slice(0, 5).join(', ')}${d.lagging.length > 5 ? ', ...' : ''})\n`)
    if (d.firstSeen.length > 0) process.stdout.write(`(${d.firstSeen.length} file(s) that existed before were first seen in between, unchanged; --json lists them)\n`)
    process.stdout.write('\nprocesses\n')
    printTable(['pid', 'ppid', 'change', 'exe', 'argv'], d.procs.map((p) => [
      p.pid, p.ppid,
      [p.started ? 'started' : '', p.exited ? `exited ${p.status ?? '?'}` : '', p.execFrom !== null ? `exec (was ${p.execFrom})` : ''].filter(Boolean).join(', '),
      p.exe, p.argv.join(' ').slice(0, 60),
    ]))
    process.stdout.write('\nfds\n')
    printTable(['pid', 'fd', 'change', 'mode', 'path'], d.fds.map((f) => [
      f.pid, f.fd, f.reason === 'exit' ? 'closed (exit)' : f.change, f.mode, f.before === null ? f.path : `${f.before} -> ${f.path}`,
    ]))
    const kinds = Object.entries(d.activity.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')
    process.stdout.write(`\nactivity: ${d.activity.events} event(s), ${d.activity.bytesWritten} byte(s) written${kinds === '' ? '' : `: ${kinds}`}\n`)
  } finally {
    bar.done()
    await j.close()
  }
}

export interface TimelineOpts extends GlobalOpts { from?: string; to?: string }

export const runTimeline = async (path: string, o: TimelineOpts): Promise<void> => {
  if (!path.startsWith('/')) throw new UsageError(`PATH must be absolute, got ${JSON.stringify(path)}`)
  const j = await openJournal(o)
  const bar = progress('timeline')
  try {
    const guest = await pickGuest(j, o)
    const from = o.from === undefined ? undefined : await seqOf(j, guest, o.from)
    const to = o.to === undefined ? undefined : await seqOf(j, guest, o.to)
    const versions = await timeline(j, guest, path, { from, to, onProgress: (done, total) => bar.update(`${done}/${total} events`) })
    bar.done()
    if (o.json) return printJson({ guest, path, versions })
    if (versions.length === 0) throw new CliError(`${path}: no version in guest ${guest} (never named by any event${from === undefined ? '' : ' in that range'})`)
    printTable(['seq', 'time', 'event', 'pid', 'exe', 'mode', 'owner', 'size', 'unknown', 'sha256'], versions.map((v) => [
      `#${v.seq}`, isoNanos(v.ts).slice(11), v.type === 'file' ? v.kind : `${v.kind} (${v.type})`, v.pid, v.exe,
      v.type === 'absent' ? null : modeString(v.type, v.type === 'symlink' ? 0o777 : v.mode), v.uid === null && v.gid === null ? null : ownerString(v.uid, v.gid),
      v.size ?? (v.type === 'file' ? '?' : null), v.unknownBytes, short(v.sha256),
    ]))
  } finally {
    bar.done()
    await j.close()
  }
}

export interface ExportTreeOpts extends GlobalOpts { at: string; under?: string; skipUnsafe?: boolean }

/** `export --at T DIR|FILE.tar`: a name ending in .tar is a tar file, anything else a directory. */
export const runExportTree = async (dest: string, o: ExportTreeOpts): Promise<void> => {
  if (o.under !== undefined && !o.under.startsWith('/')) throw new UsageError(`--under must be an absolute guest path, got ${JSON.stringify(o.under)}`)
  const j = await openJournal(o)
  const bar = progress('export')
  try {
    const guest = await pickGuest(j, o)
    const seq = await seqOf(j, guest, o.at)
    const tar = dest.endsWith('.tar')
    const manifest = await exportAt(j, guest, seq, (ts) => (tar ? openTarTarget(dest, new Date(ts === null ? 0 : Number(ts / 1_000_000n))) : openDirTarget(dest)), {
      under: o.under,
      skipUnsafe: o.skipUnsafe,
      onProgress: (files, total, bytes) => bar.update(`${files}/${total} files, ${mib(bytes)}`),
    })
    bar.done()
    if (o.json) printJson(manifest)
    const t = manifest.totals
    process.stderr.write(`eyrie: exported ${t.files} file(s), ${t.bytes} byte(s) of guest ${guest} at #${seq} to ${dest}${t.incomplete > 0 ? `; ${t.incomplete} file(s) with ${t.unknownBytes} unknown byte(s) or unknown size (see manifest.json)` : ''}\n`)
    if (t.lagging > 0) process.stderr.write(`eyrie: ${t.lagging} file(s) held open for writing at #${seq}, as last read back: they may lack bytes written since (notes in manifest.json)\n`)
    if (manifest.ioUring.length > 0) process.stderr.write(`eyrie: incomplete: process(es) ${manifest.ioUring.map((u) => `${u.pid} (from #${u.seq})`).join(', ')} used io_uring, whose file operations are not journaled (listed in manifest.json)\n`)
    if (manifest.refused.length > 0) {
      const first = manifest.refused[0]
      const msg = `${manifest.refused.length} name(s) not exported, first ${first.path}: ${first.reason} (listed in manifest.json)`
      if (o.skipUnsafe) process.stderr.write(`eyrie: ${msg}\n`)
      else throw new CliError(msg)
    }
  } catch (err) {
    if (err instanceof ExportRefused || err instanceof ExportConflict) throw new CliError(`export: ${err.message}${err instanceof ExportRefused ? ' (--skip-unsafe exports the rest)' : ''}`)
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST' && dest.endsWith('.tar')) throw new CliError(`export: ${dest} already exists`)
    throw err
  } finally {
    bar.done()
    await j.close()
  }
}
