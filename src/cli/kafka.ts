// `eyrie serve` (an engine instance on a Kafka journal) and `eyrie ship` (copy guests between an
// embedded journal and Kafka, either way).
import * as E from 'fp-ts/lib/Either.js'
import type { Journal } from '../journal/journal.js'
import { openLmdbJournal } from '../journal/lmdb.js'
import { isKafkaUrl, parseKafkaUrl, showTarget, type KafkaTarget } from '../journal/kafka/url.js'
import { ship } from '../journal/kafka/ship.js'
import type { GlobalOpts } from './context.js'
import { UsageError } from './errors.js'

export const kafkaTarget = (url: string): KafkaTarget => {
  const t = parseKafkaUrl(url)
  if (E.isLeft(t)) throw new UsageError(t.left)
  return t.right
}

const count = (name: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${name} must be a whole number >= ${min}, got ${JSON.stringify(v)}`)
  return Number(v)
}

export interface ServeOpts { from: string; state: string; group?: string; checkpointEvery?: string; sessionTimeout?: string; fetchWait?: string }

/** Runs until SIGINT/SIGTERM (exit 0) or until the engine fails (exit 1, the error on stderr). */
export const runServe = async (o: ServeOpts): Promise<void> => {
  if (!isKafkaUrl(o.from)) throw new UsageError(`serve --from takes a kafka:// URL, got ${JSON.stringify(o.from)}`)
  const target = kafkaTarget(o.from)
  const say = (line: string) => process.stderr.write(`eyrie: ${line}\n`)
  const { serveKafka } = await import('../journal/kafka/serve.js') // kafkajs loads when it is used (context.ts)
  const engine = await serveKafka(target, {
    stateDir: o.state,
    groupId: o.group,
    checkpointEvery: count('--checkpoint-every', o.checkpointEvery, 1),
    sessionTimeoutMs: count('--session-timeout', o.sessionTimeout, 1000),
    fetchWaitMs: count('--fetch-wait', o.fetchWait, 0),
    onAssigned: (partitions, from) => say(`serving ${showTarget(target)} partitions [${partitions.join(',')}] into ${o.state}${from.size === 0 ? '' : `, reading ${[...from].map(([p, offset]) => `${p} from offset ${offset}`).join(', ')}`}`),
  })
  const stop = () => { void engine.stop().catch(() => {}) } // a failure is reported through engine.done
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await engine.done
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    // the store is closed; a consumer that would not leave the group (serve.ts leaveMs) may still
    // hold sockets open: they must not keep the process from ending
    setTimeout(() => process.exit(), 2000).unref()
  }
}

const openEnd = async (spec: string, readOnly: boolean): Promise<Journal> => {
  if (!isKafkaUrl(spec)) return openLmdbJournal(spec, { readOnly })
  const { openKafkaJournal } = await import('../journal/kafka/kafkaJournal.js')
  // shipping reads nothing back: the destination's store need not mirror what it sends
  return openKafkaJournal(kafkaTarget(spec), { readOnly, mirrorOwnWrites: false })
}

export const runShip = async (o: GlobalOpts & { from: string; to: string }): Promise<void> => {
  if (isKafkaUrl(o.from) === isKafkaUrl(o.to)) throw new UsageError('ship copies between a journal directory and a kafka:// URL: one of --from/--to must be each')
  const src = await openEnd(o.from, true)
  try {
    const dst = await openEnd(o.to, false)
    try {
      const shipped = await ship(src, dst, {
        guests: o.guest === undefined ? undefined : [o.guest],
        onGuest: (s) => process.stderr.write(`eyrie: guest ${s.guest}: ${s.from > s.to ? 'up to date' : `seqs ${s.from}..${s.to}, ${s.payloadBytes} payload bytes`}\n`),
      })
      if (o.guest !== undefined && shipped.length === 0) throw new UsageError(`no guest ${JSON.stringify(o.guest)} in ${o.from}`)
    } finally {
      await dst.close()
    }
  } finally {
    await src.close()
  }
}
