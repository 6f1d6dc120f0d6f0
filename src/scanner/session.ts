// Connections kept open to clamd for the scans a tracee waits for. clamscan opens a connection per
// request, and having clamd accept it and hand it to a thread cost ~0.5 ms of each such question
// here (an exec of a binary never seen waited ~3 ms in all); in an IDSESSION clamd serves command
// after command on one connection. One request at a time on each connection (clamd numbers its
// replies from 1: the number is checked), at most as many connections as requests at once (the
// scanner's slots bound those). A connection clamd closed while it was idle (its IdleTimeout, a
// restart) shows as closed when next used: the request goes once more on a new one if no byte of
// its reply had come.
import { connect, type Socket } from 'node:net'
import { describeEndpoint, type ClamdEndpoint } from './endpoint.js'

/** INSTREAM chunk size: clamd reads each chunk into memory before scanning on. */
export const CHUNK = 1 << 20

/** Why a request on a session got no reply: the connection failed or clamd did not answer in time.
 *  `retryable`: nothing of the reply came on a connection used before (clamd may have closed it
 *  while idle), so the same request may go once more on a new connection. */
export class SessionError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message)
    this.name = 'SessionError'
  }
}

/** The bytes in INSTREAM chunks (views, no copies). */
export function* chunksOf(bytes: Uint8Array): Generator<Buffer> {
  const all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let off = 0; off < all.length; off += CHUNK) yield all.subarray(off, Math.min(off + CHUNK, all.length))
}

/** zINSTREAM of `bytes`: the command, the chunks with their big-endian lengths, the empty chunk. */
export const instreamFrames = (bytes: Uint8Array): Buffer[] => {
  const frames: Buffer[] = [Buffer.from('zINSTREAM\0', 'latin1')]
  for (const piece of chunksOf(bytes)) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(piece.length)
    frames.push(length, piece)
  }
  frames.push(Buffer.alloc(4))
  return frames
}

/** One IDSESSION connection. */
class Session {
  private readonly socket: Socket
  private reply = ''
  private sent = 0 // commands sent in this session
  private waiting: { readonly id: number; readonly resolve: (reply: string) => void; readonly reject: (err: SessionError) => void } | null = null
  private failure: SessionError | null = null

  constructor(private readonly endpoint: ClamdEndpoint) {
    this.socket = 'socket' in endpoint ? connect(endpoint.socket) : connect({ host: endpoint.host, port: endpoint.port, noDelay: true })
    this.socket.unref() // an idle connection keeps nothing alive; a request refs it while it waits
    this.socket.write('zIDSESSION\0', 'latin1')
    this.socket.on('data', (d: Buffer) => this.received(d.toString('latin1')))
    this.socket.on('error', (err: Error) => this.fail(`clamd at ${describeEndpoint(endpoint)}: ${err.message}`))
    this.socket.on('close', () => this.fail(`clamd at ${describeEndpoint(endpoint)} closed the connection`))
  }

  /** Usable for another request: open, and nothing owed on it. */
  get reusable(): boolean {
    return this.failure === null && this.waiting === null
  }

  /** clamd's reply to INSTREAM of `bytes` (without its "N: "), within `timeoutMs`. */
  instream(bytes: Uint8Array, timeoutMs: number): Promise<string> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const id = ++this.sent
    const reused = id > 1
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // a reply still owed must not be taken for the next request's: the connection goes
        this.destroy(new SessionError(`no answer from clamd at ${describeEndpoint(this.endpoint)} within ${Math.round(timeoutMs)} ms`, false))
      }, Math.max(1, timeoutMs))
      this.waiting = {
        id,
        resolve: (r) => {
          clearTimeout(timer)
          this.socket.unref()
          resolve(r)
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(reused && this.reply === '' && err.retryable ? err : new SessionError(err.message, false))
        },
      }
      this.socket.ref()
      this.socket.cork()
      for (const frame of instreamFrames(bytes)) this.socket.write(frame)
      this.socket.uncork()
    })
  }

  destroy(err = new SessionError('session closed', false)): void {
    this.fail(err.message, err.retryable)
    this.socket.destroy()
  }

  private received(text: string): void {
    this.reply += text
    const end = this.reply.indexOf('\0')
    if (end < 0) return
    const line = this.reply.slice(0, end)
    this.reply = this.reply.slice(end + 1)
    const w = this.waiting
    this.waiting = null
    const m = /^(\d+): ([^]*)$/.exec(line)
    if (w === null || m === null || Number(m[1]) !== w.id) {
      // not the reply to what was asked: nothing more on this connection can be trusted
      const err = new SessionError(`clamd at ${describeEndpoint(this.endpoint)}: unexpected reply ${JSON.stringify(line.slice(0, 200))}${w === null ? '' : ` to request ${w.id}`}`, false)
      w?.reject(err)
      this.destroy(err)
      return
    }
    w.resolve(m[2])
  }

  private fail(message: string, retryable = true): void {
    if (this.failure === null) this.failure = new SessionError(message, retryable)
    const w = this.waiting
    this.waiting = null
    w?.reject(this.failure)
  }
}

/** The sessions of one clamd: an idle one is reused, else a new one is opened. */
export class Sessions {
  private readonly idle: Session[] = []
  /** connections opened */
  opened = 0

  constructor(private readonly endpoint: ClamdEndpoint) {}

  /** clamd's reply to INSTREAM of `bytes` (e.g. "stream: OK"); rejects with a SessionError when no
   *  reply came within `timeoutMs` (measured per attempt: a retry follows a failure at once). */
  async instream(bytes: Uint8Array, timeoutMs: number): Promise<string> {
    for (;;) {
      const s = this.take()
      try {
        const reply = await s.instream(bytes, timeoutMs)
        this.idle.push(s)
        return reply
      } catch (err) {
        s.destroy()
        if (!(err instanceof SessionError) || !err.retryable) throw err
      }
    }
  }

  private take(): Session {
    for (let s = this.idle.pop(); s !== undefined; s = this.idle.pop()) if (s.reusable) return s
    this.opened++
    return new Session(this.endpoint)
  }
}
