// The JSON form (JSON lines): one event per line, ts as a decimal string, payload bytes base64 in "data".
import * as E from 'fp-ts/lib/Either.js'
import { decodeBody, formatErrors, hasPayload, type Draft, type Event } from './event.js'
import * as t from 'io-ts'
import { Nanos, Nat } from './codecs.js'

const DraftEnvelope = t.type({ ts: Nanos, pid: Nat, tid: Nat })
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** One JSONL line -> a draft. guest/seq on the line are ignored: the journal assigns them. */
export const parseJsonLine = (line: string): E.Either<string, Draft> => {
  let u: unknown
  try {
    u = JSON.parse(line)
  } catch (err) {
    return E.left(`not JSON: ${(err as Error).message}`)
  }
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left('expected a JSON object')
  const env = DraftEnvelope.decode(u)
  if (E.isLeft(env)) return E.left(formatErrors(env.left))
  const { data: rawData, guest: _g, seq: _s, ts: _t, pid: _p, tid: _i, ...rest } = u as Record<string, unknown>
  const body = decodeBody(rest)
  if (E.isLeft(body)) return body
  if (!hasPayload(body.right)) {
    if (rawData !== undefined) return E.left(`field data: kind ${body.right.kind} carries no bytes`)
    return E.right({ ...env.right, body: body.right })
  }
  const b = body.right
  const data = rawData === undefined ? new Uint8Array(0) : typeof rawData === 'string' && BASE64.test(rawData) ? Buffer.from(rawData, 'base64') : undefined
  if (data === undefined) return E.left('field data: expected base64')
  if (data.length !== b.known) return E.left(`field data: ${data.length} bytes but known is ${b.known}`)
  if (b.known > b.len) return E.left(`field known: ${b.known} exceeds len ${b.len}`)
  return E.right({ ...env.right, body: b, data })
}

/** An event (and its payload bytes, if any) -> one JSONL line. */
export const formatJsonLine = (e: Event, data?: Uint8Array): string =>
  JSON.stringify({ ...e, ts: e.ts.toString(), ...(data !== undefined ? { data: Buffer.from(data).toString('base64') } : {}) })

