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

/** A unix socket that forwards every connection to clamd and counts INSTREAM requests; `hold` keeps
 *  new connections waiting (not forwarded) until released, so a test can see how many a client opens
 *  at once. */
export class CountingProxy {
  instreams = 0
  open = 0
  maxOpen = 0
  /** INSTREAM requests whose answer has not ended yet (the proxy sees a connection close only after
   *  the client may already have opened the next one; the answer's end comes before that) */
  active = 0
  maxActive = 0
  private held: Array<() => void> = []
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
    this.maxOpen = Math.max(this.maxOpen, this.open)
    let first = true
    client.once('close', () => {
      this.open--
      this.sockets.delete(client)
    })
    client.pause()
    const forward = () => {
      const upstream = connect(target)
      this.sockets.add(upstream)
      upstream.once('close', () => this.sockets.delete(upstream))
      let scanning = false
      client.on('data', (d: Buffer) => {
        if (first && d.subarray(0, 10).toString('latin1') === 'zINSTREAM\0') {
          this.instreams++
          scanning = true
          this.maxActive = Math.max(this.maxActive, ++this.active)
        }
        first = false
        upstream.write(d)
      })
      client.on('end', () => upstream.end())
      upstream.on('data', (d) => client.write(d))
      upstream.once('close', () => {
        if (scanning) this.active--
        scanning = false
      })
      upstream.on('end', () => {
        if (scanning) this.active--
        scanning = false
        client.end()
      })
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
      client.resume()
    }
    if (this.holding) this.held.push(forward)
    else forward()
  }

  hold(): void {
    this.holding = true
  }

  release(): void {
    this.holding = false
    for (const f of this.held.splice(0)) f()
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((res) => this.server.close(() => res()))
    await rm(this.dir, { recursive: true, force: true })
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
