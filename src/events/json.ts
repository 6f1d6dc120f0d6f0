// The JSON form (JSON lines): one event per line, ts as a decimal string, payload bytes base64 in "data".
import * as E from 'fp-ts/lib/Either.js'
import { decodeBody, formatErrors, hasPayload, type Draft, type Event } from './event.js'
import * as t from 'io-ts'
import { Nanos, Nat } from './codecs.js'
import { isCanonicalName } from './names.js'

/** pid and tid are u32 in the journal's records. */
const U32 = t.refinement(Nat, (n) => n < 0x1_0000_0000, 'u32')
const DraftEnvelope = t.type({ ts: Nanos, pid: U32, tid: U32 })
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** A UTF-16 surrogate without its partner: JSON can spell one ("\\ud800"), UTF-8 cannot, and the
 *  journal stores strings as UTF-8, so such a path would come back as another name. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** No body nests deeper than a few levels (a snapshot's processes' fds); a line that does is hostile,
 *  and its extra fields would pass the codecs and overflow the stack of whatever walks them next. */
const MAX_DEPTH = 32

/** Why the parsed line cannot be stored: the first field (dotted path) with a string that is not
 *  well-formed Unicode or not the one spelling of some bytes (names.ts: bytes that are not UTF-8 are
 *  U+EF80..U+EFFF, and only where those bytes are not UTF-8; another spelling would be a second name
 *  for one file), or nested too deep. A loop, not recursion, for that same reason. */
const unstorable = (root: unknown): string | undefined => {
  const todo: Array<[unknown, string, number]> = [[root, '', 0]]
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [u, at, depth] = next
    if (typeof u === 'string') {
      if (LONE_SURROGATE.test(u)) return `field ${at}: not valid Unicode (a lone surrogate), which UTF-8 cannot store`
      if (!isCanonicalName(u)) return `field ${at}: U+EF80..U+EFFF stand for bytes that are not UTF-8 (docs/security.md), and these spell bytes that are: write the characters`
    } else if (typeof u === 'object' && u !== null) {
      if (depth >= MAX_DEPTH) return `field ${at}: nested deeper than ${MAX_DEPTH} levels`
      for (const [k, v] of Object.entries(u)) {
        const field = at === '' ? k : `${at}.${k}`
        if (LONE_SURROGATE.test(k)) return `field ${JSON.stringify(field)}: its name is not valid Unicode (a lone surrogate), which UTF-8 cannot store`
        todo.push([v, field, depth + 1])
      }
    }
  }
  return undefined
}

/** One JSONL line -> a draft. guest/seq on the line are ignored: the journal assigns them. */
export const parseJsonLine = (line: string): E.Either<string, Draft> => {
  let u: unknown
  try {
    u = JSON.parse(line)
  } catch (err) {
    // V8 quotes the text around the error, newlines included: keep the reason one line
    return E.left(`not JSON: ${(err as Error).message.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`)
  }
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left('expected a JSON object')
  const bad = unstorable(u)
  if (bad !== undefined) return E.left(bad)
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

