// Copying guests from one journal to another (`eyrie ship`): an embedded journal to Kafka, or Kafka to
// an embedded journal. Any Journal to any Journal, in fact: what it relies on is that seqs are dense
// from 1, so the destination's last seq says where to go on. Shipping again sends only what is new;
// a destination that holds a different event at its last seq, or more events than the source, has
// diverged and is refused rather than patched.
import { encodeBody, hasPayload, type Draft, type Event } from '../../events/index.js'
import type { Journal } from '../journal.js'
import { JournalError } from '../errors.js'

export interface Shipped {
  readonly guest: string
  /** Seqs copied: from..to (from > to when the destination was up to date). */
  readonly from: number
  readonly to: number
  readonly payloadBytes: number
}

export interface ShipOptions {
  /** Only these guests (default: every guest of the source). */
  readonly guests?: readonly string[]
  /** Told after each guest. */
  readonly onGuest?: (shipped: Shipped) => void
}

const draftOf = (e: Event, data: Uint8Array | undefined): Draft => {
  const { guest: _g, seq: _s, ts, pid, tid, ...body } = e
  return data === undefined ? { ts, pid, tid, body } : { ts, pid, tid, body, data }
}

const sameEvent = (a: Event, b: Event): boolean =>
  encodeBody(a.ts, a.pid, a.tid, draftOf(a, undefined).body).equals(encodeBody(b.ts, b.pid, b.tid, draftOf(b, undefined).body))

const eventAt = async (j: Journal, guest: string, seq: number): Promise<Event | undefined> => {
  for await (const batch of j.read(guest, seq, seq)) return batch[0]
  return undefined
}

/** How many appends may be in flight before waiting for the oldest to commit. */
const IN_FLIGHT = 8

export const ship = async (src: Journal, dst: Journal, opts: ShipOptions = {}): Promise<Shipped[]> => {
  const wanted = opts.guests === undefined ? undefined : new Set(opts.guests)
  const out: Shipped[] = []
  for (const info of await src.guests()) {
    if (wanted !== undefined && !wanted.has(info.guest)) continue
    const guest = info.guest
    const have = await dst.lastSeq(guest)
    if (have > info.events) throw new JournalError('USAGE', `ship guest=${guest}: the destination has ${have} events, the source ${info.events}: they diverged`, { guest })
    if (have > 0) {
      const [a, b] = [await eventAt(src, guest, have), await eventAt(dst, guest, have)]
      if (a === undefined || b === undefined || !sameEvent(a, b)) throw new JournalError('USAGE', `ship guest=${guest}: the destination's seq ${have} differs from the source's: they diverged`, { guest, seq: have })
    }
    const dstMeta = (await dst.guests()).find((g) => g.guest === guest)?.meta ?? {}
    if (Object.entries(info.meta).some(([k, v]) => dstMeta[k] !== v)) await dst.setMeta(guest, info.meta)
    let payloadBytes = 0
    let next = have + 1
    const pending: Array<Promise<void>> = []
    for await (const batch of src.read(guest, have + 1, info.events)) {
      const drafts: Draft[] = []
      for (const e of batch) {
        const data = hasPayload(e) && e.known > 0 ? await src.payload(guest, e.seq) : undefined
        payloadBytes += data?.length ?? 0
        drafts.push(draftOf(e, data))
      }
      const r = dst.append(guest, drafts)
      if (r.first !== next) throw new JournalError('USAGE', `ship guest=${guest}: the destination gave seq ${r.first} where ${next} was due (another writer on this guest?)`, { guest })
      next = r.last + 1
      pending.push(r.committed)
      if (pending.length >= IN_FLIGHT) await pending.shift()
    }
    await Promise.all(pending)
    const shipped = { guest, from: have + 1, to: next - 1, payloadBytes }
    out.push(shipped)
    opts.onGuest?.(shipped)
  }
  await dst.flush()
  return out
}
