// The Kafka back end: a Journal on a Kafka topic, its state store, and the serving engine.
export { openKafkaJournal, KafkaJournal, type KafkaJournalOptions } from './kafkaJournal.js'
export { isKafkaUrl, parseKafkaUrl, showTarget, type KafkaTarget } from './url.js'
export { StateStore, PARKED_META, type Applied, type StateStoreOptions } from './store.js'
export { readParked, PARKED_FILE, type ParkedRecord } from './parked.js'
export { partitionOf } from './partition.js'
export { stderrLog, type KafkaLog } from './client.js'
