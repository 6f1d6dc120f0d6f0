// The event: an envelope (guest, seq, ts, pid, tid) around one body of a known kind.
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { Nanos, Nat } from './codecs.js'
import { procCodecs } from './proc.js'
import { fdCodecs } from './fd.js'
import { fileCodecs } from './file.js'
import { viewCodecs } from './view.js'
import { scanCodecs } from './scan.js'
import { snapshotCodecs } from './snapshot.js'

export const bodyCodecs = {
  ...snapshotCodecs,
  ...procCodecs,
  ...fdCodecs,
  ...fileCodecs,
  ...viewCodecs,
  ...scanCodecs,
} as const

export type Kind = keyof typeof bodyCodecs
/** Binary kind codes: the position in this list. Append only; reordering changes the format. */
export const KINDS: readonly Kind[] = [
  'snapshot', 'proc.spawn', 'proc.exec', 'proc.exit', 'proc.chdir',
  'fd.open', 'fd.dup', 'fd.close', 'fd.closeRange', 'fd.cloexec', 'fd.seek', 'fd.read',
  'file.write', 'file.truncate', 'file.allocate', 'file.rename', 'file.unlink', 'file.link',
  'file.symlink', 'file.mkdir', 'file.rmdir', 'file.flush', 'file.observe', 'file.quarantine',
  'view.map', 'view.unmap', 'view.remap', 'view.protect', 'view.sync',
  'scan.verdict', 'access.denied',
  'proc.ioUring', 'file.sync', 'view.remove', 'proc.reparent', 'file.clone', 'fd.setfl',
  'file.mknod', 'file.chmod', 'file.chown',
]
export const kindCode: ReadonlyMap<string, number> = new Map(KINDS.map((k, i) => [k, i]))

type Bodies = { [K in Kind]: t.TypeOf<(typeof bodyCodecs)[K]> }
export type Body = Bodies[Kind]
export type BodyOf<K extends Kind> = Bodies[K]

/** Kinds whose bytes live in the payload store (their body has len/known). */
export const PAYLOAD_KINDS: ReadonlySet<Kind> = new Set<Kind>(['file.write', 'file.observe', 'view.sync', 'file.sync'])
export type PayloadBody = Extract<Body, { known: number }>
export const hasPayload = (b: Body): b is PayloadBody => PAYLOAD_KINDS.has(b.kind)

export const Envelope = t.type({ guest: t.string, seq: Nat, ts: Nanos, pid: Nat, tid: Nat })
export type Envelope = t.TypeOf<typeof Envelope>

export type Event = Envelope & Body
export type EventOf<K extends Kind> = Envelope & BodyOf<K>

/** A body in its envelope (whose fields win over any the body has). Object.assign, not a spread: V8
 *  spreads objects of many shapes on a slow path, ~3 µs an event where a recording folds each one
 *  (the recorder's costliest function), a quarter of a microsecond this way. */
export const withEnvelope = (body: Body, envelope: Envelope): Event => Object.assign({}, body, envelope)

/** What a source hands the journal: no guest/seq yet (the journal assigns them), and the bytes of a
 *  payload kind, whose `known` must equal data.length. */
export type Draft = { readonly ts: bigint; readonly pid: number; readonly tid: number; readonly body: Body; readonly data?: Uint8Array }

/** A decoding failure as a value: which field, why. `where` is filled by the boundary (file:line, guest/seq). */
export interface DecodeError { readonly where: string; readonly message: string }

/** One readable line for an io-ts failure: the dotted path of the first bad field and what it held. */
export const formatErrors = (errors: t.Errors): string => {
  const first = errors[0]
  if (first === undefined) return 'invalid value'
  // Union and intersection members add their index as a key; they are not part of the field path.
  const member = (i: number) => i > 0 && (first.context[i - 1].type instanceof t.UnionType || first.context[i - 1].type instanceof t.IntersectionType)
  const field = first.context
    .filter((c, i) => c.key !== '' && !member(i))
    .map((c) => c.key)
    .join('.')
  const shown = first.value === undefined ? 'missing' : JSON.stringify(first.value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
  const expected = first.context[first.context.length - 1]?.type.name ?? 'value'
  return first.message ?? `field ${field || '(root)'}: expected ${expected}, got ${shown}`
}

/** Decode an untrusted body: unknown kinds are rejected by name, then the kind's codec checks fields. */
export const decodeBody = (u: unknown): E.Either<string, Body> => {
  if (typeof u !== 'object' || u === null) return E.left('expected an object')
  const kind = (u as { kind?: unknown }).kind
  if (typeof kind !== 'string') return E.left('field kind: missing')
  if (!kindCode.has(kind)) return E.left(`unknown event kind ${JSON.stringify(kind)}`)
  const codec: t.Decoder<unknown, Body> = bodyCodecs[kind as Kind]
  return pipe(codec.decode(u), E.mapLeft((errs) => formatErrors(errs)))
}

/** Decode an untrusted full event (envelope + body). */
export const decodeEvent = (u: unknown): E.Either<string, Event> =>
  pipe(
    Envelope.decode(u),
    E.mapLeft(formatErrors),
    E.chain((env) => pipe(decodeBody(u), E.map((body) => withEnvelope(body, { guest: env.guest, seq: env.seq, ts: env.ts, pid: env.pid, tid: env.tid })))),
  )

