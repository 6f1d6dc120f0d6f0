// `eyrie guests` and `eyrie log`: what the journal holds.
import picomatch from 'picomatch'
import type { Event } from '../events/index.js'
import { worldAt } from '../engine/replay.js'
import { evolve, type World } from '../projections/index.js'
import { toJsonLine, isoNanos, printJson, printTable } from './output.js'
import { openJournal, pickGuest, seqOf, type GlobalOpts } from './context.js'
import { UsageError } from './errors.js'

export const runGuests = async (o: GlobalOpts): Promise<void> => {
  const j = await openJournal(o)
  try {
    const all = await j.guests()
    if (o.json) return printJson(all)
    printTable(['guest', 'events', 'payload bytes', 'first', 'last'], all.map((g) => [
      g.guest, g.events, g.payloadBytes, g.firstTs === null ? null : isoNanos(g.firstTs), g.lastTs === null ? null : isoNanos(g.lastTs),
    ]))
  } finally {
    await j.close()
  }
}

export interface LogOpts extends GlobalOpts { pid?: string; path?: string; kind?: string; from?: string; to?: string }

/** The paths an event names, for --path filtering: its own path fields, or the path of the fd it uses
 *  as the world just before it knows it (so writes and closes match their file). */
const pathsOf = (w: World, e: Event): string[] => {
  const out: string[] = []
  for (const k of ['path', 'from', 'to'] as const) {
    const v = (e as Partial<Record<typeof k, unknown>>)[k]
    if (typeof v === 'string') out.push(v)
  }
  const fd = (e as Partial<Record<'fd', unknown>>).fd
  if (typeof fd === 'number' && e.kind !== 'fd.open') {
    const p = w.procs.get(e.pid)
    const entry = p === undefined ? undefined : w.tables.get(p.table)?.fds.get(fd)
    const o = entry === undefined ? undefined : w.ofds.get(entry.ofd)
    if (o !== undefined) out.push(o.path)
  }
  return out
}

/** Kinds whose `mode` is st_mode bits, shown in octal as chmod takes them (file.allocate's is flags). */
const OCTAL_MODES: ReadonlySet<string> = new Set(['fd.open', 'file.mkdir', 'file.mknod', 'file.chmod'])

/** Fields beyond the envelope, as one short line. */
const summary = (e: Event): string => {
  const { guest: _g, seq: _s, ts: _t, pid: _p, tid: _i, kind: _k, ...rest } = e
  const shown = (k: string, v: unknown): string =>
    typeof v === 'string' ? v : k === 'mode' && typeof v === 'number' && OCTAL_MODES.has(e.kind) ? `0${v.toString(8)}` : toJsonLine(v)
  return Object.entries(rest).map(([k, v]) => `${k}=${shown(k, v)}`).join(' ').slice(0, 160)
}

export const runLog = async (o: LogOpts): Promise<void> => {
  if (o.pid !== undefined && !/^\d+$/.test(o.pid)) throw new UsageError(`--pid must be a number, got ${JSON.stringify(o.pid)}`)
  const pid = o.pid === undefined ? undefined : Number(o.pid)
  const match = o.path === undefined ? undefined : picomatch(o.path, { dot: true })
  const j = await openJournal(o)
  try {
    const guest = await pickGuest(j, o)
    const from = o.from === undefined ? 1 : (await seqOf(j, guest, o.from)) + (o.from.startsWith('#') ? 0 : 1)
    const to = o.to === undefined ? await j.lastSeq(guest) : await seqOf(j, guest, o.to)
    const rows: Array<Array<string | number>> = []
    // fold alongside so fd-based events can be shown and filtered by the file they touch
    const w = await worldAt(j, guest, Math.max(0, from - 1))
    for await (const batch of j.read(guest, Math.max(1, from), to)) {
      for (const e of batch) {
        const paths = pathsOf(w, e)
        evolve(w, e)
        if (pid !== undefined && e.pid !== pid) continue
        if (o.kind !== undefined && e.kind !== o.kind && !e.kind.startsWith(`${o.kind}.`)) continue
        if (match !== undefined && !paths.some((p) => match(p))) continue
        if (o.json) process.stdout.write(`${JSON.stringify({ ...e, paths }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`)
        else rows.push([`#${e.seq}`, isoNanos(e.ts).slice(11), e.pid === e.tid ? String(e.pid) : `${e.pid}/${e.tid}`, e.kind, `${'fd' in e && paths.length > 0 ? `${paths[0]} ` : ''}${summary(e)}`])
      }
    }
    if (!o.json) printTable(['seq', 'time', 'pid', 'kind', 'details'], rows)
  } finally {
    await j.close()
  }
}
