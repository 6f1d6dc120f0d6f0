// A unix-socket server that speaks just enough of clamd's protocol to be connected to (PING, VERSION)
// and then misbehaves on INSTREAM: answers garbage, says nothing, or hangs up. Commands arrive as
// clamscan sends them: a bare `PING`, `nVERSION\n`, `zINSTREAM\0`, or after `zIDSESSION\0` (eyrie's
// kept connections); INSTREAM data as u32be-length chunks ending with 0.
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'

export type Misbehaviour =
  /** PING and VERSION as clamd; INSTREAM answered with these bytes, then the connection closes */
  | { readonly kind: 'garbage'; readonly answer: Buffer }
  /** INSTREAM read to its end, then nothing: the connection stays open */
  | { readonly kind: 'silent' }
  /** the connection closes as soon as INSTREAM arrives */
  | { readonly kind: 'hangup' }
  /** even PING gets garbage: nobody could take this for clamd */
  | { readonly kind: 'nonsense' }

export class FakeClamd {
  readonly socket: string
  instreams = 0
  private readonly open = new Set<Socket>()

  private constructor(dir: string, private readonly server: Server) {
    this.socket = join(dir, 'fake-clamd.sock')
  }

  static async start(dir: string, how: Misbehaviour): Promise<FakeClamd> {
    let self: FakeClamd | undefined
    const server = createServer((c) => self?.serve(c, how))
    self = new FakeClamd(dir, server)
    const path = self.socket
    await new Promise<void>((res, rej) => server.once('error', rej).listen(path, res))
    return self
  }

  private serve(c: Socket, how: Misbehaviour): void {
    this.open.add(c)
    c.once('close', () => this.open.delete(c))
    c.on('error', () => {})
    let buf = Buffer.alloc(0)
    let streaming = false
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (!streaming) {
        if (how.kind === 'nonsense') return void c.end('\x8fZZ\x00not clamd\n')
        // clamscan sends a bare `PING` (no prefix, no terminator)
        if (buf.subarray(0, 4).toString('latin1') === 'PING') return void c.end('PONG\n')
        let command = 'IDSESSION'
        // a session (eyrie's connection for the scans a tracee waits for): its commands follow
        while (command === 'IDSESSION') {
          const end = buf.findIndex((b) => b === 0 || b === 0x0a)
          if (end < 0) return
          command = buf.subarray(1, end).toString('latin1')
          buf = buf.subarray(end + 1)
        }
        if (command === 'VERSION') return void c.end('ClamAV 0.0.0/0/fake\0')
        if (command !== 'INSTREAM') return void c.end(`${command}: UNKNOWN COMMAND\0`)
        this.instreams++
        if (how.kind === 'hangup') return void c.destroy()
        streaming = true
      }
      // skip chunks until the zero-length one
      while (buf.length >= 4) {
        const n = buf.readUInt32BE(0)
        if (n === 0) {
          buf = buf.subarray(4)
          if (how.kind === 'garbage') c.end(how.answer)
          return
        }
        if (buf.length < 4 + n) return
        buf = buf.subarray(4 + n)
      }
    })
  }

  async close(): Promise<void> {
    for (const c of this.open) c.destroy()
    await new Promise<void>((res) => this.server.close(() => res()))
  }
}
