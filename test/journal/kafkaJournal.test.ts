// The Kafka journal against a real Kafka-protocol server (the mock; $KAFKA_BROKERS too when set): a new
// reader rebuilds everything from the topic alone, redelivered records change nothing, malformed
// records are parked with topic/partition/offset while other guests are served.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs'
import { JournalError } from '../../src/journal/errors.js'
import { encodeEvents, encodeMeta } from '../../src/journal/kafka/message.js'
import { openKafkaJournal, parseKafkaUrl, partitionOf, PARKED_META } from '../../src/journal/kafka/index.js'
import { clusterKinds, type TestCluster } from '../support/kafka.js'
import { lmdbJournal } from './lmdbSupport.js'
import { answers, workload } from './kafkaWorkload.js'
import { kafkaJournal, quietLog, stateDir, target } from './kafkaSupport.js'

const isJournalError = (code: JournalError['code'], message: RegExp) => (e: unknown): boolean =>
  e instanceof JournalError && e.code === code && message.test(e.message)

/** A plain kafkajs producer: what another (or a broken) writer puts in the topic. */
const rawProducer = async (cluster: TestCluster): Promise<Producer> => {
  const p = new Kafka({ clientId: 'raw', brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await p.connect()
  return p
}

for (const kind of clusterKinds()) {
  describe(`${kind.name}: Kafka journal`, () => {
    let cluster: TestCluster
    before(async () => { cluster = await kind.start() })
    after(() => cluster.stop())

    test('given guests appended through one journal, when a new reader with an empty state store opens the topic, then events, payloads (chunked ones too), meta and the next seq come from Kafka alone', async () => {
      const writer = await kafkaJournal(cluster, { url: `${await cluster.topic(3)}?max-message=20000` })
      const reader = await kafkaJournal(cluster, { url: writer.url, readOnly: true })
      try {
        for (let g = 0; g < 3; g++) {
          await writer.journal.setMeta(`guest-${g}`, { host: `h${g}` })
          await writer.journal.append(`guest-${g}`, workload(g, 0, 300, 50)).committed
        }
        await writer.journal.close()
        const fresh = await writer.reopen() // the writer's store, reopened: continues the seqs
        const r = fresh.append('guest-1', workload(1, 300, 10))
        assert.equal(r.first, 301)
        await r.committed
        const again = await openKafkaJournal(target(writer.url), { readOnly: true, log: quietLog().log })
        try {
          const lmdb = await lmdbJournal({ noSync: true })
          try {
            for (let g = 0; g < 3; g++) lmdb.journal.append(`guest-${g}`, workload(g, 0, g === 1 ? 310 : 300, 50))
            await lmdb.journal.flush()
            for (let g = 0; g < 3; g++) {
              const guest = `guest-${g}`
              const end = g === 1 ? 310 : 300
              assert.deepEqual(await answers(again, guest, end), await answers(lmdb.journal, guest, end), `${guest} at end`)
              assert.deepEqual(await answers(again, guest, 123), await answers(lmdb.journal, guest, 123), `${guest} at #123`)
            }
            assert.deepEqual((await again.guests()).map((i) => [i.guest, i.events, i.meta]).sort(), [['guest-0', 300, { host: 'h0' }], ['guest-1', 310, { host: 'h1' }], ['guest-2', 300, { host: 'h2' }]])
          } finally {
            await lmdb.cleanup()
          }
          assert.throws(() => again.append('guest-0', []), isJournalError('USAGE', /read-only/))
        } finally {
          await again.close()
        }
        // a reader opened before those appends sees the topic as it was when opened
        assert.deepEqual(await reader.journal.guests(), [])
      } finally {
        await writer.cleanup()
        await reader.cleanup()
      }
    })

    test('given records delivered twice, re-sent in bulk and replayed, when read, then the state is the one of a single delivery', async () => {
      const url = await cluster.topic(2)
      const t = target(url)
      const producer = await rawProducer(cluster)
      const lmdb = await lmdbJournal({ noSync: true })
      const dir = stateDir()
      try {
        const records = [0, 1].map((g) => encodeEvents(`guest-${g}`, 1, workload(g, 0, 400, 60), 8000))
        const send = (g: number, from: number, to: number) => producer.send({
          topic: t.topic, acks: -1,
          messages: records[g].slice(from, to).map((value) => ({ key: `guest-${g}`, value, partition: partitionOf(`guest-${g}`, 2) })),
        })
        const n0 = records[0].length
        const n1 = records[1].length
        await send(0, 0, n0 >> 1)
        await send(0, 0, n0 >> 1) // a producer's whole batch again (a retry after a lost ack)
        await send(1, 0, n1)
        await send(0, (n0 >> 1) - 3, n0) // overlapping re-send
        for (let i = 0; i < n1; i += 7) await send(1, i, i + 1) // single records again, scattered
        await producer.send({ topic: t.topic, messages: [{ key: 'guest-0', value: encodeMeta('guest-0', { via: 'raw' }), partition: partitionOf('guest-0', 2) }] })
        for (let g = 0; g < 2; g++) lmdb.journal.append(`guest-${g}`, workload(g, 0, 400, 60))
        await lmdb.journal.setMeta('guest-0', { via: 'raw' })
        const j = await openKafkaJournal(t, { stateDir: dir, noSync: true, readOnly: true, log: quietLog().log })
        try {
          for (let g = 0; g < 2; g++) assert.deepEqual(await answers(j, `guest-${g}`, 400), await answers(lmdb.journal, `guest-${g}`, 400))
          assert.deepEqual((await j.guests()).map((i) => [i.guest, i.events, i.payloadBytes, i.meta]), (await lmdb.journal.guests()).map((i) => [i.guest, i.events, i.payloadBytes, i.meta]))
          assert.deepEqual(j.parked(), [])
        } finally {
          await j.close()
        }
      } finally {
        await producer.disconnect()
        await lmdb.cleanup()
        rmSync(dir, { recursive: true, force: true })
      }
    })

    test('given a record with a flipped byte and one that is not eyrie\'s, when the topic is read, then both are parked naming topic/partition/offset, the guest stops at its last good seq and the other guest is served', async () => {
      const url = await cluster.topic(1)
      const t = target(url)
      const producer = await rawProducer(cluster)
      const { lines, log } = quietLog()
      const writer = await kafkaJournal(cluster, { url })
      try {
        await writer.journal.append('good', workload(1, 0, 50)).committed
        await writer.journal.append('bad', workload(2, 0, 20)).committed
        const [next] = encodeEvents('bad', 21, workload(2, 20, 5), 100_000)
        const flipped = Buffer.from(next)
        flipped[40] ^= 0x04
        await producer.send({ topic: t.topic, acks: -1, messages: [{ key: 'bad', value: flipped, partition: 0 }, { key: 'bad', value: Buffer.from('{"not":"eyrie"}'), partition: 0 }] })
        await writer.journal.append('good', workload(1, 50, 50)).committed
        const reader = await openKafkaJournal(t, { readOnly: true, log })
        try {
          assert.equal(await reader.lastSeq('good'), 100)
          assert.equal(await reader.lastSeq('bad'), 20)
          const parked = reader.parked()
          assert.equal(parked.length, 2)
          assert.match(parked[0].error, new RegExp(`^kafka topic=${t.topic} partition=0 offset=2 guest=bad: event seq=21: checksum mismatch$`))
          assert.match(parked[1].error, new RegExp(`^kafka topic=${t.topic} partition=0 offset=3 guest=bad: unsupported record format 123`))
          assert.deepEqual(lines, parked.map((p) => p.error), 'each one reported as it is parked')
          assert.equal((await reader.guests()).find((g) => g.guest === 'bad')?.meta[PARKED_META], parked[0].error)
          const lmdb = await lmdbJournal({ noSync: true })
          try {
            await lmdb.journal.append('good', workload(1, 0, 100)).committed
            assert.deepEqual(await answers(reader, 'good', 100), await answers(lmdb.journal, 'good', 100))
          } finally {
            await lmdb.cleanup()
          }
        } finally {
          await reader.close()
        }
        // the writer's own store saw the same records: it refuses to guess the bad guest's next seq
        await writer.journal.close()
        const again = await writer.reopen()
        assert.throws(() => again.append('bad', workload(2, 20, 1)), isJournalError('USAGE', /guest bad is stuck behind a parked record/))
        await again.append('good', workload(1, 100, 1)).committed
      } finally {
        await producer.disconnect()
        await writer.cleanup()
      }
    })

    // (the mock makes any topic a client asks about, so this runs against real brokers only)
    if (!kind.createsTopicsOnDemand) {
      test('given a topic that does not exist, when opened, then NOT_FOUND names it', async () => {
        await assert.rejects(openKafkaJournal(target(`kafka://${cluster.brokers}/no-such-topic-${process.pid}`), { log: quietLog().log }), isJournalError('NOT_FOUND', /no-such-topic.*no such topic/))
      })
    }
  })
}

test('given kafka URLs, when parsed, then brokers, topic and options come out, and mistakes are named', () => {
  const ok = parseKafkaUrl('kafka://a.example:9092,10.0.0.2:9093/eyrie.journal?tls=1&ca=/etc/ca.pem&sasl=scram-sha-512&user=rec&max-message=2000000&state=/var/lib/eyrie/state')
  assert.deepEqual(ok, E.right({
    brokers: ['a.example:9092', '10.0.0.2:9093'], topic: 'eyrie.journal', clientId: 'eyrie', maxMessageBytes: 2_000_000,
    tls: { ca: '/etc/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'rec' }, state: '/var/lib/eyrie/state',
  }))
  const bad: Array<[string, RegExp]> = [
    ['kafka://h:9092', /no topic/],
    ['kafka://h:9092/', /topic ""/],
    ['kafka://h/t', /expected HOST:PORT/],
    ['kafka://h:99999/t', /port must be/],
    ['kafka://h:1/t?sasl=plain', /needs user=NAME/],
    ['kafka://h:1/t?sasl=gssapi&user=x', /use plain, scram-sha-256, scram-sha-512/],
    ['kafka://h:1/t?ca=/x', /need tls=1/],
    ['kafka://h:1/t?password=x', /unknown option "password"/],
    ['kafka://h:1/a b', /topic "a b"/],
  ]
  for (const [url, why] of bad) {
    const r = parseKafkaUrl(url)
    assert.ok(E.isLeft(r) && why.test(r.left), `${url}: ${JSON.stringify(r)}`)
  }
})
