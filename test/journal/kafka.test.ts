// The Kafka journal: the shared conformance suite on the mock cluster (and on $KAFKA_BROKERS when set).
import { after, before, describe } from 'node:test'
import { testJournal } from './conformance.js'
import { kafkaJournal } from './kafkaSupport.js'
import { clusterKinds, type TestCluster } from '../support/kafka.js'

for (const kind of clusterKinds()) {
  describe(kind.name, () => {
    let cluster: TestCluster
    before(async () => { cluster = await kind.start() })
    after(() => cluster.stop())
    testJournal(kind.name, () => kafkaJournal(cluster))
    testJournal(`${kind.name}, one partition, 16 KiB messages`, async () => kafkaJournal(cluster, { partitions: 1, url: `${await cluster.topic(1)}?max-message=16384` }))
  })
}
