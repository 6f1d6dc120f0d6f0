// `eyrie guests` and `eyrie log`: what the journal holds.
import picomatch from 'picomatch'
import type { Event } from '../events/index.js'
import { toJson, isoNanos, printJson, printTable } from './output.js'
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

/** The paths an event names, for --path filtering. */
const pathsOf = (e: Event): string[] => {
  const out: string[] = []
  for (const k of ['path', 'from', 'to'] as const) {
    const v = (e as Partial<Record<typeof k, unknown>>)[k]
    if (typeof v === 'string') out.push(v)
  }
  return out
}

/** Fields beyond the envelope, as one short line. */
const summary = (e: Event): string => {
  const { guest: _g, seq: _s, ts: _t, pid: _p, tid: _i, kind: _k, ...rest } = e
  return Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : toJson(v).replace(/\s+/g, '')}`).join(' ').slice(0, 160)
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
    for await (const batch of j.read(guest, Math.max(1, from), to)) {
      for (const e of batch) {
        if (pid !== undefined && e.pid !== pid) continue
        if (o.kind !== undefined && e.kind !== o.kind && !e.kind.startsWith(`${o.kind}.`)) continue
        if (match !== undefined && !pathsOf(e).some((p) => match(p))) continue
        if (o.json) process.stdout.write(`${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`)
        else rows.push([`#${e.seq}`, isoNanos(e.ts).slice(11), e.pid === e.tid ? String(e.pid) : `${e.pid}/${e.tid}`, e.kind, summary(e)])
      }
    }
    if (!o.json) printTable(['seq', 'time', 'pid', 'kind', 'details'], rows)
  } finally {
    await j.close()
  }
}
