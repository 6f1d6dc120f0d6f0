// Reading a topic's partitions without a consumer group. A query only needs "every record of these
// partitions from offset N", which Java clients do with assign(); kafkajs has no public equivalent, and a
// consumer group costs a join round of several seconds (group.initial.rebalance.delay.ms, 3 s on Kafka
// and on librdkafka's mock) before the first record. So this module uses the kafkajs Cluster that every
// kafkajs client builds for itself (ListOffsets and Fetch requests to each partition's leader).
//
// This is the one place that reaches past kafkajs's public API; kafkajs 2.2.4 is its last release.
// Everything it hands back is decoded here with io-ts, so a change in that shape is an error that says
// so, not a crash somewhere else. `eyrie serve` uses the public consumer-group API instead.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { Kafka } from 'kafkajs'
import { formatErrors } from '../../events/index.js'
import { JournalError } from '../errors.js'
import { kafkaError } from './client.js'
import type { Decoded } from './message.js'
import { showTarget, type KafkaTarget } from './url.js'

export interface FetchedRecord {
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** The value already decoded (a writer's own record, see message.ts ownRecord). */
  readonly decoded?: Decoded
}

export interface PartitionBatch {
  readonly partition: number
  /** Records at or after the asked offset, in offset order. */
  readonly records: readonly FetchedRecord[]
  readonly highWatermark: number
  /** The offset after the last record the broker sent, control records (transaction markers)
   *  included: where the next fetch starts even when every record was a marker. */
  readonly end: number
}

const OffsetString = new t.Type<number, string, unknown>(
  'Offset',
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'string' && /^-?\d{1,16}$/.test(u) && Number.isSafeInteger(Number(u)) ? t.success(Number(u)) : t.failure(u, c, 'expected an offset')),
  (n) => String(n),
)
const Bytes = new t.Type<Buffer, Buffer, unknown>('Buffer', (u): u is Buffer => Buffer.isBuffer(u), (u, c) => (Buffer.isBuffer(u) ? t.success(u) : t.failure(u, c)), (b) => b)
const Message = t.type({ offset: OffsetString, key: t.union([Bytes, t.null]), value: t.union([Bytes, t.null]), isControlRecord: t.union([t.boolean, t.undefined]) })
const FetchResponse = t.type({
  responses: t.array(t.type({
    topicName: t.string,
    partitions: t.array(t.type({ partition: t.number, errorCode: t.number, highWatermark: OffsetString, messages: t.array(Message) })),
  })),
})
const ListOffsetsResponse = t.array(t.type({ topic: t.string, partitions: t.array(t.type({ partition: t.number, offset: OffsetString })) }))
const PartitionMetadata = t.array(t.type({ partitionId: t.number, leader: t.number }))

interface Broker { fetch(request: unknown): Promise<unknown> }
interface Cluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  addTargetTopic(topic: string): Promise<void>
  refreshMetadata(): Promise<void>
  findTopicPartitionMetadata(topic: string): unknown
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>
  findBroker(q: { nodeId: string }): Promise<Broker>
  fetchTopicsOffset(topics: unknown): Promise<unknown>
}

const isCluster = (u: unknown): u is Cluster =>
  typeof u === 'object' && u !== null &&
  ['connect', 'disconnect', 'addTargetTopic', 'refreshMetadata', 'findTopicPartitionMetadata', 'findLeaderForPartitions', 'findBroker', 'fetchTopicsOffset']
    .every((m) => typeof Reflect.get(u, m) === 'function')

const decode = <A>(codec: t.Decoder<unknown, A>, u: unknown, what: string): A => {
  const r = codec.decode(u)
  if (E.isLeft(r)) throw new JournalError('IO', `kafkajs ${what} came back in a shape this eyrie does not know: ${formatErrors(r.left)}`)
  return r.right
}

const READ_COMMITTED = 1
const NO_REPLICA = -1

export class TopicReader {
  private constructor(private readonly target: KafkaTarget, private readonly cluster: Cluster, readonly partitions: number) {}

  static async open(kafka: Kafka, target: KafkaTarget): Promise<TopicReader> {
    const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster')
    const make: unknown = create === undefined ? undefined : Reflect.get(kafka, create)
    if (typeof make !== 'function') throw new JournalError('IO', 'this kafkajs has no cluster factory (eyrie reads topics through kafkajs 2.2.x internals)')
    const cluster: unknown = make.call(kafka, { allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED })
    if (!isCluster(cluster)) throw new JournalError('IO', 'this kafkajs builds a cluster without the methods eyrie uses (kafkajs 2.2.x expected)')
    try {
      await cluster.connect()
      await cluster.addTargetTopic(target.topic)
    } catch (err) {
      await cluster.disconnect().catch(() => {})
      if (err instanceof Error && /does not host this topic-partition|UNKNOWN_TOPIC/i.test(`${err.message} ${String(Reflect.get(err, 'type'))}`)) {
        throw new JournalError('NOT_FOUND', `${showTarget(target)}: no such topic (eyrie does not create topics: create it with as many partitions as engines you may run)`, {}, { cause: err })
      }
      throw kafkaError(target, 'cannot connect', err)
    }
    const meta = decode(PartitionMetadata, cluster.findTopicPartitionMetadata(target.topic), 'topic metadata')
    if (meta.length === 0) {
      await cluster.disconnect().catch(() => {})
      throw new JournalError('NOT_FOUND', `${showTarget(target)}: no such topic (eyrie does not create topics)`)
    }
    return new TopicReader(target, cluster, meta.length)
  }

  /** The next offset of every partition (the high watermark), in partition order. */
  async ends(): Promise<number[]> {
    const partitions = Array.from({ length: this.partitions }, (_, partition) => ({ partition }))
    const answer = await this.retrying('list offsets', () => this.cluster.fetchTopicsOffset([{ topic: this.target.topic, partitions, fromBeginning: false }]))
    const out = new Array<number>(this.partitions).fill(0)
    for (const topic of decode(ListOffsetsResponse, answer, 'ListOffsets response')) for (const p of topic.partitions) out[p.partition] = p.offset
    return out
  }

  /** One Fetch round for the given partitions from the given offsets; waits at most maxWaitMs for data. */
  async fetch(from: ReadonlyMap<number, number>, maxWaitMs: number, maxBytes: number): Promise<PartitionBatch[]> {
    const wanted = [...from.keys()]
    if (wanted.length === 0) return []
    return this.retrying('fetch', async () => {
      const byLeader = this.cluster.findLeaderForPartitions(this.target.topic, wanted)
      const rounds = Object.entries(byLeader).map(async ([nodeId, partitions]) => {
        const broker = await this.cluster.findBroker({ nodeId })
        const answer = await broker.fetch({
          replicaId: NO_REPLICA,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: maxWaitMs,
          minBytes: 1,
          maxBytes: maxBytes * partitions.length,
          topics: [{ topic: this.target.topic, partitions: partitions.map((partition) => ({ partition, fetchOffset: String(from.get(partition) ?? 0), maxBytes })) }],
        })
        return decode(FetchResponse, answer, 'Fetch response').responses.flatMap((r) => r.partitions)
      })
      const gone = (err: unknown): JournalError | undefined => {
        if (!(err instanceof Error) || Reflect.get(err, 'type') !== 'OFFSET_OUT_OF_RANGE') return undefined
        const p: unknown = Reflect.get(err, 'partition')
        const at = typeof p === 'number' ? ` partition ${p} no longer has offset ${from.get(p) ?? 0}` : ' a partition no longer has the offset asked for'
        return new JournalError('CORRUPT', `${showTarget(this.target)}:${at}: records were deleted (a journal topic needs retention.ms=-1 and retention.bytes=-1)`, {}, { cause: err })
      }
      const out: PartitionBatch[] = []
      const answers = await Promise.all(rounds).catch((err: unknown) => { throw gone(err) ?? err })
      for (const p of answers.flat()) {
        if (p.errorCode !== 0) throw new JournalError('IO', `${showTarget(this.target)}: fetch partition ${p.partition}: Kafka error code ${p.errorCode}`)
        const start = from.get(p.partition) ?? 0
        // A fetch answers with whole record batches: records before the asked offset come along.
        const records = p.messages.filter((m) => m.offset >= start && m.isControlRecord !== true).map((m) => ({ offset: m.offset, key: m.key, value: m.value }))
        const end = p.messages.reduce((e, m) => Math.max(e, m.offset + 1), start)
        out.push({ partition: p.partition, records, highWatermark: p.highWatermark, end })
      }
      return out
    })
  }

  async close(): Promise<void> {
    await this.cluster.disconnect()
  }

  /** Leadership moves and stale metadata are retried after a metadata refresh; the rest is an error. */
  private async retrying<T>(what: string, f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await f()
      } catch (err) {
        const retriable = err instanceof Error && Reflect.get(err, 'retriable') === true
        if (!retriable || attempt >= 5) throw kafkaError(this.target, what, err)
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
        await this.cluster.refreshMetadata().catch(() => {})
      }
    }
  }
}
