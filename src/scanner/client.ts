// One clamd, spoken to through the `clamscan` package in its socket mode: PING, VERSION and INSTREAM
// (scanStream); an INSTREAM a tracee waits for goes over a connection kept open instead (session.ts:
// clamscan connects anew for each request). Bytes always travel over the socket, never as a path, so
// clamd judges what the guest sees, not what happens to be on the disk. Every call is bounded by a
// timeout: a stopped or wedged clamd must never hold a tracee for ever.
import { Readable } from 'node:stream'
import type NodeClam from 'clamscan'
import { describeEndpoint, type ClamdEndpoint } from './endpoint.js'
import { reasonOf, ScannerError } from './errors.js'
import { chunksOf, Sessions } from './session.js'
import { CLEAN, infected, scanError, type Verdict } from './verdict.js'

/** Races `p` against a timer. `onTimeout` gives (or throws) the answer when the timer wins; a late
 *  settlement of `p` is handed to `late`: it cannot change the answer any more, and it must not
 *  become an unhandled rejection either. */
export const withTimeout = <T>(p: Promise<T>, ms: number, onTimeout: () => T, late: (outcome: T | Error) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => {
      done = true
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err)
      }
    }, ms)
    p.then(
      (v) => {
        if (done) return late(v)
        done = true
        clearTimeout(timer)
        resolve(v)
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err))
        if (done) return late(e)
        done = true
        clearTimeout(timer)
        reject(e)
      },
    )
  })

const chunked = (bytes: Uint8Array): Readable => Readable.from(chunksOf(bytes), { objectMode: false })

/** The verdict clamd gave, as clamscan reports it. isInfected null: clamd said something else. */
const verdictOf = (r: { isInfected: boolean | null; viruses: string[] } & { resultString?: unknown }): Verdict => {
  if (r.isInfected === true) return infected(r.viruses.length > 0 ? r.viruses.join(', ') : 'unnamed signature')
  if (r.isInfected === false) return CLEAN
  return scanError(`clamd gave no verdict: ${typeof r.resultString === 'string' ? r.resultString.slice(0, 200) : 'empty reply'}`)
}

/** The verdict in clamd's reply to an INSTREAM ("stream: OK", "stream: NAME FOUND", "... ERROR"). */
export const verdictOfReply = (reply: string): Verdict => {
  if (reply === 'stream: OK') return CLEAN
  const found = /^stream: (.+) FOUND$/.exec(reply)
  if (found !== null) return infected(found[1])
  return scanError(/ ERROR$/.test(reply) ? `clamd: ${reply.slice(0, 200)}` : `clamd gave no verdict: ${reply.slice(0, 200) || 'empty reply'}`)
}

export interface ClientStats {
  /** INSTREAM requests sent */
  instreams: number
  /** requests that settled after their timeout had already answered */
  late: number
}

export class ClamdClient {
  readonly stats: ClientStats = { instreams: 0, late: 0 }
  private readonly sessions: Sessions

  private constructor(private readonly clam: NodeClam, readonly endpoint: ClamdEndpoint, readonly timeoutMs: number) {
    this.sessions = new Sessions(endpoint)
  }

  /** Connections opened for the requests a tracee waited for (each carries many). */
  get sessionsOpened(): number {
    return this.sessions.opened
  }

  /** A client for `endpoint`; does not touch the network (use ping()). */
  static async create(endpoint: ClamdEndpoint, timeoutMs: number): Promise<ClamdClient> {
    const where = 'socket' in endpoint ? { socket: endpoint.socket } : { host: endpoint.host, port: endpoint.port }
    // clamscan.active false and no clamdscan binary: clamscan must never fall back to scanning by
    // path with a local binary; bypassTest: readiness is our ping(), bounded by our timeout.
    // clamscan (~30 ms to load) when a scanner is made, not whenever the CLI starts
    const { default: Clam } = await import('clamscan')
    const clam = await new Clam().init({
      removeInfected: false,
      quarantineInfected: false,
      debugMode: false,
      clamscan: { active: false },
      clamdscan: { ...where, timeout: timeoutMs, localFallback: false, path: '', active: true, bypassTest: true },
      preference: 'clamdscan',
    })
    unrefSockets(clam)
    return new ClamdClient(clam, endpoint, timeoutMs)
  }

  private bounded<T>(what: string, p: Promise<T>): Promise<T> {
    return withTimeout<T>(
      p,
      this.timeoutMs,
      () => {
        throw new ScannerError('CLAMD_UNREACHABLE', `clamd at ${describeEndpoint(this.endpoint)}: no answer to ${what} within ${this.timeoutMs} ms`, true)
      },
      () => {
        this.stats.late++
      },
    )
  }

  /** Resolves when clamd answers PONG; throws ScannerError otherwise. */
  async ping(): Promise<void> {
    try {
      const socket = await this.bounded('PING', this.clam.ping())
      socket.end()
    } catch (err) {
      if (err instanceof ScannerError) throw err
      throw new ScannerError('CLAMD_UNREACHABLE', `clamd at ${describeEndpoint(this.endpoint)}: ${reasonOf(err)}`, true, { cause: err })
    }
  }

  /** clamd's VERSION line, e.g. "ClamAV 1.4.3/27468/Mon Nov 23 09:00:00 2026" (the database version
   *  after the first slash when official databases are loaded). */
  async version(): Promise<string> {
    try {
      const v = await this.bounded('VERSION', this.clam.getVersion())
      if (typeof v !== 'string' || v.trim() === '') throw new Error('empty VERSION reply')
      return v.replace(/\0/g, '').trim()
    } catch (err) {
      if (err instanceof ScannerError) throw err
      throw new ScannerError('CLAMD_UNREACHABLE', `clamd at ${describeEndpoint(this.endpoint)}: VERSION failed: ${reasonOf(err)}`, true, { cause: err })
    }
  }

  /** Scans bytes over INSTREAM within `timeoutMs` (default: the client's); `held`: a tracee waits
   *  for it (over a connection kept open). Never throws: a transport failure or a timeout is an error
   *  verdict with answered = false; clamd's own ERROR reply (a size limit, say) is an error verdict
   *  with answered = true. */
  async scan(bytes: Uint8Array, timeoutMs = this.timeoutMs, held = false): Promise<Scanned> {
    // clamscan sends no INSTREAM command for a stream without data (clamd answers UNKNOWN COMMAND);
    // clamd reports an empty file clean, and so do we, without asking
    if (bytes.length === 0) return { verdict: CLEAN, answered: true }
    this.stats.instreams++
    if (held) {
      try {
        return { verdict: verdictOfReply(await this.sessions.instream(bytes, timeoutMs)), answered: true }
      } catch (err) {
        return { verdict: scanError(reasonOf(err)), answered: false }
      }
    }
    const stream = chunked(bytes)
    const timedOut = (): Scanned => {
      // clamscan owns the socket; ending our side stops the upload, clamd's answer (if any) is dropped
      stream.destroy()
      return { verdict: scanError(`no answer from clamd at ${describeEndpoint(this.endpoint)} within ${Math.round(timeoutMs)} ms`), answered: false }
    }
    const scanned = this.clam.scanStream(stream).then((r): Scanned => ({ verdict: verdictOf(r), answered: true }))
    try {
      return await withTimeout<Scanned>(scanned, Math.max(1, timeoutMs), timedOut, () => {
        this.stats.late++
      })
    } catch (err) {
      return { verdict: scanError(`clamd at ${describeEndpoint(this.endpoint)}: ${reasonOf(err)}`), answered: clamdAnswered(err) }
    }
  }
}

/** clamscan opens a socket per request and, when its own idle timeout fires, only half-closes it
 *  (`end()`): towards a stopped clamd (SIGSTOP) that socket stays open, and a ref'd socket keeps
 *  Node running after everything else is done, so a recorder whose command has exited would wait
 *  for clamd to wake up. Our timers already bound every wait and keep the process alive while a
 *  request matters, so clamscan's sockets are unref'd as they are made (`_initSocket` is
 *  clamscan's private connector; if a version lacks it, nothing changes here). */
const unrefSockets = (clam: NodeClam): void => {
  const init: unknown = Reflect.get(clam, '_initSocket')
  if (typeof init !== 'function') return
  Reflect.set(clam, '_initSocket', async (label?: string): Promise<unknown> => {
    const socket: unknown = await Reflect.apply(init, clam, [label])
    if (typeof socket === 'object' && socket !== null && typeof Reflect.get(socket, 'unref') === 'function') Reflect.apply(Reflect.get(socket, 'unref'), socket, [])
    return socket
  })
}

export interface Scanned {
  readonly verdict: Verdict
  /** false: clamd could not be reached or did not answer in time (the breaker counts these) */
  readonly answered: boolean
}

/** clamscan rejects both for socket failures (which carry a node errno code) and for clamd's own
 *  ERROR replies (whose text it quotes): only the latter mean clamd is alive. */
const clamdAnswered = (err: unknown): boolean =>
  err instanceof Error &&
  typeof (err as NodeJS.ErrnoException).code !== 'string' &&
  /piped-through stream: \S|Reply from server: \S/.test(err.message)
