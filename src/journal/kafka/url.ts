// `kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?OPTION=VALUE&...]`: where a Kafka journal lives and how to
// reach it. Options (all optional):
//   tls=1                      connect with TLS (system CAs unless ca= is given)
//   ca=FILE cert=FILE key=FILE PEM files for TLS (a client certificate when cert and key are given)
//   sasl=plain|scram-sha-256|scram-sha-512   with user=NAME; the password comes from $EYRIE_KAFKA_PASSWORD,
//                              never from the URL (a URL ends up in shell history and `ps`)
//   client=ID                  the Kafka client id (default eyrie)
//   state=DIR                  keep the local state store here instead of a temporary directory
//   max-message=BYTES          the broker's message size limit (message.max.bytes; default 1000000)
import * as E from 'fp-ts/lib/Either.js'

export const KAFKA_SCHEME = 'kafka://'
export const DEFAULT_MAX_MESSAGE = 1_000_000
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512'

export interface KafkaTarget {
  readonly brokers: readonly string[]
  readonly topic: string
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string }
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string }
  readonly clientId: string
  readonly state?: string
  readonly maxMessageBytes: number
}

export const isKafkaUrl = (s: string): boolean => s.startsWith(KAFKA_SCHEME)

/** Kafka's own rule for topic names. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/
const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512']

const broker = (s: string): E.Either<string, string> => {
  const colon = s.lastIndexOf(':')
  if (colon <= 0) return E.left(`broker ${JSON.stringify(s)}: expected HOST:PORT`)
  const host = s.slice(0, colon)
  const port = s.slice(colon + 1)
  if (!HOST.test(host)) return E.left(`broker ${JSON.stringify(s)}: bad host`)
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return E.left(`broker ${JSON.stringify(s)}: port must be 1..65535`)
  return E.right(s)
}

const flag = (name: string, v: string): E.Either<string, boolean> =>
  ['1', 'true', 'yes'].includes(v) ? E.right(true) : ['0', 'false', 'no'].includes(v) ? E.right(false) : E.left(`option ${name}=${v}: use 1 or 0`)

/** Parses a kafka:// URL; Left is one line saying what is wrong with it. */
export const parseKafkaUrl = (url: string): E.Either<string, KafkaTarget> => {
  const fail = (why: string) => E.left(`${url}: ${why} (expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[?tls=1&sasl=...&user=...])`)
  if (!isKafkaUrl(url)) return fail('not a kafka:// URL')
  const rest = url.slice(KAFKA_SCHEME.length)
  const q = rest.indexOf('?')
  const path = q < 0 ? rest : rest.slice(0, q)
  const slash = path.indexOf('/')
  if (slash < 0) return fail('no topic')
  const topic = path.slice(slash + 1)
  if (!TOPIC.test(topic)) return fail(`topic ${JSON.stringify(topic)}: 1..249 of A-Z a-z 0-9 . _ -`)
  const brokers: string[] = []
  for (const b of path.slice(0, slash).split(',')) {
    const parsed = broker(b)
    if (E.isLeft(parsed)) return fail(parsed.left)
    brokers.push(parsed.right)
  }
  let tls = false
  const files: { ca?: string; cert?: string; key?: string } = {}
  let mechanism: SaslMechanism | undefined
  let username: string | undefined
  let clientId = 'eyrie'
  let state: string | undefined
  let maxMessageBytes = DEFAULT_MAX_MESSAGE
  for (const [name, value] of new URLSearchParams(q < 0 ? '' : rest.slice(q + 1))) {
    switch (name) {
      case 'tls': {
        const on = flag(name, value)
        if (E.isLeft(on)) return fail(on.left)
        tls = on.right
        break
      }
      case 'ca': case 'cert': case 'key':
        if (value === '') return fail(`option ${name}: a file name`)
        files[name] = value
        break
      case 'sasl': {
        const m = MECHANISMS.find((x) => x === value.toLowerCase())
        if (m === undefined) return fail(`option sasl=${value}: use ${MECHANISMS.join(', ')}`)
        mechanism = m
        break
      }
      case 'user': username = value; break
      case 'client':
        if (!/^[A-Za-z0-9._-]{1,128}$/.test(value)) return fail(`option client=${value}: 1..128 of A-Z a-z 0-9 . _ -`)
        clientId = value
        break
      case 'state':
        if (value === '') return fail('option state: a directory')
        state = value
        break
      case 'max-message':
        if (!/^\d{4,10}$/.test(value)) return fail(`option max-message=${value}: bytes, at least 1000`)
        maxMessageBytes = Number(value)
        break
      default:
        return fail(`unknown option ${JSON.stringify(name)}`)
    }
  }
  if (mechanism !== undefined && (username === undefined || username === '')) return fail(`sasl=${mechanism} needs user=NAME`)
  if (mechanism === undefined && username !== undefined) return fail('user= needs sasl=')
  if (!tls && Object.keys(files).length > 0) return fail('ca/cert/key need tls=1')
  if ((files.cert === undefined) !== (files.key === undefined)) return fail('a client certificate needs both cert= and key=')
  return E.right({
    brokers,
    topic,
    clientId,
    maxMessageBytes,
    ...(tls ? { tls: files } : {}),
    ...(mechanism !== undefined && username !== undefined ? { sasl: { mechanism, username } } : {}),
    ...(state !== undefined ? { state } : {}),
  })
}

/** The URL without options: safe to print. */
export const showTarget = (t: KafkaTarget): string => `${KAFKA_SCHEME}${t.brokers.join(',')}/${t.topic}`
