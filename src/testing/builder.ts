// Building event streams by hand, for example tests: seqs and timestamps are assigned in order, and
// payload bytes are kept beside the events as the journal keeps them.
import { O_CREAT, O_TRUNC, O_WRONLY, withEnvelope, type Body, type Draft, type Event } from '../events/index.js'

const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? new TextEncoder().encode(data) : data)

export class StreamBuilder {
  readonly events: Event[] = []
  readonly payloads = new Map<number, Uint8Array>()

  /** ts0: the first event's time (ns); each next event is 1 µs later. */
  constructor(readonly guest = 'test', private readonly ts0 = 1_700_000_000_000_000_000n) {}

  add(pid: number, body: Body, data?: Uint8Array, tid = pid): this {
    const seq = this.events.length + 1
    this.events.push(withEnvelope(body, { guest: this.guest, seq, ts: this.ts0 + BigInt(seq - 1) * 1000n, pid, tid }))
    if (data !== undefined) this.payloads.set(seq, data)
    return this
  }

  spawn(pid: number, child: number): this {
    return this.add(pid, { kind: 'proc.spawn', child, thread: false, shareFiles: false })
  }

  exec(pid: number, path: string, argv: string[] = [path]): this {
    return this.add(pid, { kind: 'proc.exec', path, argv })
  }

  exit(pid: number, status = 0): this {
    return this.add(pid, { kind: 'proc.exit', status, thread: false })
  }

  /** created: true says the open made a new file (known empty); null: unknown. */
  open(pid: number, fd: number, path: string, flags = O_WRONLY | O_CREAT | O_TRUNC, created: boolean | null = null): this {
    return this.add(pid, { kind: 'fd.open', fd, path, flags, inode: null, created })
  }

  /** offset null: at the fd's position (or the end, on O_APPEND). */
  write(pid: number, fd: number, data: string | Uint8Array, offset: number | null = null): this {
    const bytes = bytesOf(data)
    return this.add(pid, { kind: 'file.write', fd, offset, len: bytes.length, known: bytes.length }, bytes)
  }

  close(pid: number, fd: number): this {
    return this.add(pid, { kind: 'fd.close', fd })
  }

  dup(pid: number, fd: number, newFd: number, cloexec = false): this {
    return this.add(pid, { kind: 'fd.dup', fd, newFd, cloexec })
  }

  flush(pid: number, fd: number): this {
    return this.add(pid, { kind: 'file.flush', fd })
  }

  rename(pid: number, from: string, to: string): this {
    return this.add(pid, { kind: 'file.rename', from, to, flags: 0 })
  }

  unlink(pid: number, path: string): this {
    return this.add(pid, { kind: 'file.unlink', path })
  }

  mkdir(pid: number, path: string): this {
    return this.add(pid, { kind: 'file.mkdir', path })
  }

  /** The same events as a source hands them to a journal (Journal.append). */
  drafts(): Draft[] {
    return draftsOf(this.events, this.payloads)
  }
}

/** Events (with their payloads) -> drafts, for Journal.append. */
export const draftsOf = (events: readonly Event[], payloads: ReadonlyMap<number, Uint8Array>): Draft[] =>
  events.map(({ guest: _g, seq, ts, pid, tid, ...body }) => {
    const data = payloads.get(seq)
    return data === undefined ? { ts, pid, tid, body } : { ts, pid, tid, body, data }
  })
