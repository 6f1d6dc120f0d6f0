// Build events for fold tests: a tiny in-memory "journal" of bodies with seqs and payloads.
import type { Body, Event } from '../../src/events/index.js'
import { emptyWorld, evolve, readPlan, type World } from '../../src/projections/index.js'

export class Script {
  readonly events: Event[] = []
  readonly payloads = new Map<number, Uint8Array>()
  constructor(readonly guest = 'test') {}

  add(pid: number, body: Body, data?: Uint8Array, tid = pid): Event {
    const e: Event = { ...body, guest: this.guest, seq: this.events.length + 1, ts: BigInt(this.events.length + 1) * 1000n, pid, tid }
    this.events.push(e)
    if (data !== undefined) this.payloads.set(e.seq, data)
    return e
  }

  fold(upTo = this.events.length, w: World = emptyWorld()): World {
    for (const e of this.events.slice(w.seq, upTo)) evolve(w, e)
    return w
  }

  /** Bytes of a file in a world (unknown bytes fail the test). */
  bytes(w: World, path: string): Uint8Array | undefined {
    const id = w.names.get(path)
    const node = id === undefined ? undefined : w.nodes.get(id)
    if (node === undefined) return undefined
    if (node.content.size === null) throw new Error(`${path}: unknown size`)
    const plan = readPlan(node.content)
    const out = new Uint8Array(plan.length === 0 ? 0 : plan[plan.length - 1].end)
    for (const p of plan) {
      if ('unknown' in p) throw new Error(`${path}: unknown bytes at [${p.start}, ${p.end})`)
      if (p.seq === 0) continue
      const data = this.payloads.get(p.seq)
      if (data === undefined) throw new Error(`no payload for seq ${p.seq}`)
      out.set(data.subarray(p.off, p.off + (p.end - p.start)), p.start)
    }
    return out
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const open = (fd: number, path: string, flags: number, created: boolean | null = null): Body => ({ kind: 'fd.open', fd, path, flags, inode: null, created })
export const write = (fd: number, data: Uint8Array, offset: number | null = null): Body => ({ kind: 'file.write', fd, offset, len: data.length, known: data.length })
