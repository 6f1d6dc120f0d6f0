// kafkajs clients for a journal topic: the Kafka handle (brokers, TLS, SASL, logging), the producer
// (idempotent where the broker allows it), and errors turned into JournalErrors that say where.
import { readFileSync } from 'node:fs'
import { Kafka, logLevel, Partitioners, type KafkaConfig, type LogEntry, type Producer, type SASLOptions } from 'kafkajs'
import { JournalError } from '../errors.js'
import { showTarget, type KafkaTarget } from './url.js'

/** Where kafkajs's own log lines and eyrie's notices about the broker go. */
export type KafkaLog = (line: string) => void

export const stderrLog: KafkaLog = (line) => {
  process.stderr.write(`eyrie: kafka: ${line}\n`)
}

export const PASSWORD_ENV = 'EYRIE_KAFKA_PASSWORD'

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export const kafkaError = (target: KafkaTarget, what: string, err: unknown): JournalError =>
  err instanceof JournalError ? err : new JournalError('IO', `${showTarget(target)}: ${what}: ${message(err)}`, {}, { cause: err })

const sasl = (target: KafkaTarget, env: NodeJS.ProcessEnv): SASLOptions | undefined => {
  if (target.sasl === undefined) return undefined
  const password = env[PASSWORD_ENV]
  if (password === undefined) throw new JournalError('USAGE', `${showTarget(target)}: sasl=${target.sasl.mechanism} needs the password in $${PASSWORD_ENV}`)
  const { mechanism, username } = target.sasl
  return mechanism === 'plain' ? { mechanism, username, password } : mechanism === 'scram-sha-256' ? { mechanism, username, password } : { mechanism, username, password }
}

const pem = (target: KafkaTarget, name: string, file: string | undefined): Buffer | undefined => {
  if (file === undefined) return undefined
  try {
    return readFileSync(file)
  } catch (err) {
    throw new JournalError('USAGE', `${showTarget(target)}: cannot read ${name}=${file}: ${message(err)}`, {}, { cause: err })
  }
}

/** A kafkajs client whose log lines (errors only: kafkajs is chatty about retries) go to `log`. */
export const kafkaClient = (target: KafkaTarget, log: KafkaLog = stderrLog, env: NodeJS.ProcessEnv = process.env): Kafka => {
  const config: KafkaConfig = {
    clientId: target.clientId,
    brokers: [...target.brokers],
    logLevel: logLevel.ERROR,
    // Connection logs every error response (a rebalance in progress, a leader moving) before the layer
    // above retries it; what is not retried comes back as an error from the call that failed.
    logCreator: () => (entry: LogEntry) => {
      if (entry.namespace !== 'Connection') log(`${entry.namespace}: ${entry.log.message}`)
    },
    connectionTimeout: 3000,
  }
  if (target.tls !== undefined) {
    const ca = pem(target, 'ca', target.tls.ca)
    const cert = pem(target, 'cert', target.tls.cert)
    const key = pem(target, 'key', target.tls.key)
    config.ssl = ca === undefined && cert === undefined ? true : { ca, cert, key }
  }
  const auth = sasl(target, env)
  if (auth !== undefined) config.sasl = auth
  return new Kafka(config)
}

let toldIdempotence = false

/** The producer: idempotent where the broker grants a producer id, otherwise acks=all with one request
 *  in flight (no reordering), and consumers drop the duplicates a retry may leave by (guest, seq).
 *  The fall-back is told once per process. */
export const connectProducer = async (kafka: Kafka, target: KafkaTarget, log: KafkaLog): Promise<{ producer: Producer; idempotent: boolean }> => {
  const make = (idempotent: boolean) => kafka.producer({
    idempotent,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner, // unused: the journal names each record's partition
  })
  const idempotent = make(true)
  try {
    await idempotent.connect()
    return { producer: idempotent, idempotent: true }
  } catch (err) {
    await idempotent.disconnect().catch(() => {}) // it never connected; the plain producer's error is the one to report
    const plain = make(false)
    try {
      await plain.connect()
    } catch (again) {
      throw kafkaError(target, 'cannot connect the producer', again)
    }
    if (!toldIdempotence) {
      toldIdempotence = true
      log(`${showTarget(target)}: the broker refused the idempotent producer (${message(err)}); sending with acks=all and one request in flight, readers drop duplicates by (guest, seq)`)
    }
    return { producer: plain, idempotent: false }
  }
}
