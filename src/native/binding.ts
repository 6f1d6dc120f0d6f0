// Loads the addon built by node-gyp (build/Release/eyrie_native.node) and checks, once, that its
// kind table is the one src/events knows: a record's kind code is a position in that table.
import { createRequire } from 'node:module'
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { KINDS, formatErrors } from '../events/index.js'
import { TraceError } from './errors.js'

export interface NativeConfig {
  readonly mode: 'record' | 'attach'
  readonly argv?: readonly string[]
  readonly cwd?: string
  readonly env?: readonly string[]
  readonly stdio?: readonly [number, number, number]
  readonly pid?: number
  readonly bufferBytes: number
  /** longest wait of the open batch before it goes to JavaScript, ms */
  readonly batchMs: number
  readonly decideExec: boolean
  readonly decideOpens: boolean
  /** how long a lent clean verdict holds, ms (0 or absent: none are lent) */
  readonly admitMs?: number
  /** clean verdicts lent before the run: stamp, note ("<sha256> exec|open"), stamp, note, ... */
  readonly lent?: readonly string[]
  /** absent: every open that can read is asked about */
  readonly openFilter?: { readonly extensions: readonly string[]; readonly magic: readonly string[] }
  readonly readPositions: 'all' | 'writable'
  readonly writes: 'read-back' | 'stop'
  readonly programOrderBytes?: number
}

export interface NativeSession {
  /** JavaScript consumed a batch of this many bytes: the tracer may send more. */
  ack(bytes: number): void
  /** note: a decision's loan, "<sha256> exec|open" (src/native/admissions.cc) */
  answer(id: number, value: number, note?: string): void
  stop(mode: 'detach' | 'kill'): void
  /** Asks for every shared view to be read out; a 'synced' message with this generation follows. */
  sync(generation: number): void
}

export type MessageHandler = (type: string, payload: unknown) => void

export interface Addon {
  readonly Session: new (config: NativeConfig, onMessage: MessageHandler) => NativeSession
  readonly kindNames: readonly string[]
  readonly tracedCalls: readonly string[]
  /** Starts a helper process outside libuv (src/native/daemon.cc): its own session, stdin/stdout on
   *  /dev/null, stderr into stderrPath; onExit runs once it has ended and been reaped. Throws an
   *  Error with the errno's `code` (ENOENT, EACCES, ...) when it cannot be started. */
  readonly spawnDaemon: (argv: readonly string[], stderrPath: string, onExit: (code: number | null, signal: string | null) => void) => number
  /** The name the host reads the file by that task `tid` reaches by `name` (bytes) from its cwd: as
   *  a decision names a file (src/native/procfs.h) */
  readonly nameForTask: (tid: number, name: Buffer) => Buffer
}

/** Bytes from the addon (a name, before it becomes a string by src/events/names.ts). */
const NativeBytes = new t.Type<Uint8Array, Uint8Array, unknown>(
  'Bytes',
  (u): u is Uint8Array => u instanceof Uint8Array,
  (u, c) => (u instanceof Uint8Array ? t.success(u) : t.failure(u, c)),
  (b) => b,
)

// The messages the tracer thread sends, checked at the boundary.
export const DecideMessage = t.type({ id: t.number, pid: t.number, tid: t.number, call: t.string, path: NativeBytes, flags: t.number })
export const SnapshotMessage = t.type({ id: t.number, pids: t.array(t.number), record: t.boolean })
export const SyncedMessage = t.type({ id: t.number, generation: t.number })
export const DoneMessage = t.type({
  status: t.union([t.number, t.null]),
  signal: t.number,
  errorCode: t.union([t.string, t.null]),
  message: t.union([t.string, t.null]),
  /** StopStats as JSON */
  stats: t.string,
})

/** What a trace's stops cost (src/native/stopstats.h): per call its entry and exit stops and the
 *  tracer's time on them, per ptrace event likewise, and the questions asked of the decider. */
export const StopStatsCodec = t.type({
  calls: t.array(t.type({ nr: t.number, name: t.string, entries: t.number, exits: t.number, ns: t.number })),
  events: t.array(t.type({ name: t.string, stops: t.number, ns: t.number })),
  /** questions JavaScript answered, and the time the tracees waited for them */
  questions: t.number,
  questionNs: t.number,
  /** questions a lent verdict answered in the tracer */
  loans: t.number,
})
export type StopStats = t.TypeOf<typeof StopStatsCodec>

export const decodeMessage = <A>(codec: t.Decoder<unknown, A>, what: string, u: unknown): A => {
  const r = codec.decode(u)
  if (E.isLeft(r)) throw new Error(`bug: native ${what} message: ${formatErrors(r.left)}`)
  return r.right
}

/** The stop statistics of a done message. */
export const decodeStats = (json: string): StopStats => {
  let u: unknown
  try {
    u = JSON.parse(json)
  } catch (err) {
    throw new Error(`bug: native stop statistics are not JSON: ${json.slice(0, 200)}`, { cause: err })
  }
  return decodeMessage(StopStatsCodec, 'stop statistics', u)
}

const isAddon = (u: unknown): u is Addon =>
  typeof u === 'object' && u !== null &&
  'Session' in u && typeof u.Session === 'function' &&
  'kindNames' in u && Array.isArray(u.kindNames) &&
  'tracedCalls' in u && Array.isArray(u.tracedCalls) &&
  'spawnDaemon' in u && typeof u.spawnDaemon === 'function' &&
  'nameForTask' in u && typeof u.nameForTask === 'function'

const ADDON_PATH = '../../build/Release/eyrie_native.node'
let loaded: Addon | undefined

export const addon = (): Addon => {
  if (loaded !== undefined) return loaded
  let raw: unknown
  try {
    raw = createRequire(import.meta.url)(ADDON_PATH)
  } catch (err) {
    throw new TraceError('ENOADDON', `the native interceptor is not built (${ADDON_PATH}): run npm install`, { cause: err })
  }
  if (!isAddon(raw)) throw new TraceError('ENOADDON', `${ADDON_PATH} is not eyrie's native interceptor`)
  const mismatch = raw.kindNames.findIndex((k, i) => KINDS[i] !== k)
  if (mismatch >= 0 || raw.kindNames.length !== KINDS.length) {
    throw new TraceError('ENOADDON', `the native interceptor's kind table differs from src/events at code ${mismatch}: rebuild it (npm install)`)
  }
  loaded = raw
  return raw
}
