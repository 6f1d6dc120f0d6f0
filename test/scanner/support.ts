// Scanner test support: the shipped test signatures, the EICAR file and the marker built from parts
// (no file in the repository is itself "infected"), and a counting proxy in front of a real clamd,
// so a test sees exactly which requests reached clamd without trusting the scanner's own counters.
import { createServer, connect, type Server, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Body, Draft } from '../../src/events/index.js'
import { startClamd, type Clamd } from '../../src/scanner/clamd.js'

export const SIGNATURES = fileURLToPath(new URL('../fixtures/signatures', import.meta.url))

/** The 68-byte EICAR test file, assembled at run time. */
export const eicar = (): Buffer => Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-', 'ANTIVIRUS-TEST-FILE!$H+H*'].join(''), 'latin1')

/** The marker the .ndb signature matches anywhere in a file. */
export const MARKER = ['EYRIE-TEST', 'MARKER', '5e1f0c2a'].join('-')

export const EICAR_SIGNATURE = /^Eyrie\.Test\.EICAR/
export const MARKER_SIGNATURE = /^Eyrie\.Test\.Marker/

export const tmp = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), `eyrie-${prefix}-`))

export const withPrivateClamd = async (dir?: string): Promise<Clamd> => startClamd({ signatures: SIGNATURES, dir, threads: 4 })

/** A unix socket that forwards every connection to clamd and counts INSTREAM requests (one per
 *  connection, as clamscan sends them, or many in an IDSESSION); `hold` keeps new connections waiting
 *  (not forwarded) until released, so a test can see how many a client opens at once. */
export class CountingProxy {
  instreams = 0
  /** connections open now (a session stays open between its requests) */
  open = 0
  /** connections held back now (`hold`) */
  held = 0
  /** INSTREAM requests sent and not yet answered (clamd ends each reply with a NUL) */
  active = 0
  maxActive = 0
  /** connections whose first command was IDSESSION */
  sessions = 0
  private waiting: Array<() => void> = []
  private holding = false
  private readonly sockets = new Set<Socket>()

  private constructor(readonly socket: string, private readonly server: Server, private readonly dir: string) {}

  static async start(target: string): Promise<CountingProxy> {
    const dir = await tmp('proxy')
    const path = join(dir, 'proxy.sock')
    let self: CountingProxy | undefined
    const server = createServer((client) => self?.accept(client, target))
    await new Promise<void>((res, rej) => server.once('error', rej).listen(path, res))
    self = new CountingProxy(path, server, dir)
    return self
  }

  private accept(client: Socket, target: string): void {
    this.sockets.add(client)
    this.open++
    client.once('close', () => {
      this.open--
      this.sockets.delete(client)
    })
    client.pause()
    const forward = () => {
      const upstream = connect(target)
      this.sockets.add(upstream)
      // the commands sent, in order, whose replies have not come yet (true: an INSTREAM)
      const owed: boolean[] = []
      const settle = (n: number) => {
        for (const scan of owed.splice(0, n)) if (scan) this.active--
      }
      const commands = commandReader((command) => {
        if (command === 'IDSESSION') this.sessions++
        if (command === 'IDSESSION' || command === 'END') return
        owed.push(command === 'INSTREAM')
        if (command !== 'INSTREAM') return
        this.instreams++
        this.maxActive = Math.max(this.maxActive, ++this.active)
      })
      client.on('data', (d: Buffer) => {
        commands(d)
        upstream.write(d)
      })
      client.on('end', () => upstream.end())
      upstream.on('data', (d: Buffer) => {
        settle(d.toString('latin1').split('\0').length - 1)
        client.write(d)
      })
      upstream.once('close', () => {
        settle(owed.length)
        this.sockets.delete(upstream)
      })
      upstream.on('end', () => client.end())
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
      client.resume()
    }
    if (!this.holding) return forward()
    this.held++
    this.waiting.push(forward)
  }

  hold(): void {
    this.holding = true
  }

  release(): void {
    this.holding = false
    this.held = 0
    for (const f of this.waiting.splice(0)) f()
  }

  /** Closes every connection (as clamd closes a session idle past its IdleTimeout); keeps listening. */
  hangUp(): void {
    for (const s of this.sockets) s.destroy()
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((res) => this.server.close(() => res()))
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Reads clamd commands ("zNAME\0", "nNAME\n") from a client's bytes as they come, INSTREAM's
 *  chunks (a 4-byte big-endian length, then that many bytes; 0 ends them) skipped; calls `on` with
 *  each command's name. */
const commandReader = (on: (command: string) => void) => {
  let pending = Buffer.alloc(0)
  let chunkLeft = -1 // -1: reading a command; else bytes of the current chunk still to skip
  let inStream = false
  return (d: Buffer): void => {
    pending = Buffer.concat([pending, d])
    for (;;) {
      if (inStream && chunkLeft > 0) {
        const skip = Math.min(chunkLeft, pending.length)
        pending = pending.subarray(skip)
        chunkLeft -= skip
        if (chunkLeft > 0) return
        continue
      }
      if (inStream) {
        if (pending.length < 4) return
        chunkLeft = pending.readUInt32BE(0)
        pending = pending.subarray(4)
        if (chunkLeft === 0) [inStream, chunkLeft] = [false, -1]
        continue
      }
      const end = pending.indexOf(pending[0] === 0x6e ? 0x0a : 0x00) // n...\n or z...\0
      if (end < 0) return
      const command = pending.subarray(1, end).toString('latin1')
      pending = pending.subarray(end + 1)
      on(command)
      if (command === 'INSTREAM') [inStream, chunkLeft] = [true, 0]
    }
  }
}

/** Polls until `f` holds or `ms` pass. */
export const eventually = async (f: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** O_WRONLY|O_CREAT|O_TRUNC: an open that writes a file anew */
export const CREATED = 0o1101

/** A Draft maker: single-threaded processes, timestamps counting up from `from`. */
export const drafter = (from: bigint) => {
  let ts = from
  return (pid: number, body: Body, data?: Uint8Array): Draft => ({ ts: ts++, pid, tid: pid, body, ...(data === undefined ? {} : { data }) })
}
