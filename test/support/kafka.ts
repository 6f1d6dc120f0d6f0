// A Kafka cluster for tests and benchmarks: librdkafka's mock cluster (tools/kafka-mock/mock.c, built
// here on first use into the temp directory, keyed by the source's hash), or the real broker named by
// $KAFKA_BROKERS. Topics: the mock creates them on request over its stdin; a real broker through the
// kafkajs admin client (which the mock does not support).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'

const SOURCE = fileURLToPath(new URL('../../tools/kafka-mock/mock.c', import.meta.url))
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror']

/** The mock's binary, compiled if this source has not been compiled yet (safe to race). */
export const mockBinary = (): string => {
  const source = readFileSync(SOURCE)
  const hash = createHash('sha256').update(source).update(CFLAGS.join(' ')).digest('hex').slice(0, 16)
  const bin = join(tmpdir(), `eyrie-kafka-mock-${hash}`)
  if (existsSync(bin)) return bin
  const tmp = `${bin}.${process.pid}.${randomBytes(4).toString('hex')}`
  execFileSync('cc', [...CFLAGS, '-o', tmp, SOURCE, '-lrdkafka'], { stdio: ['ignore', 'ignore', 'inherit'] })
  renameSync(tmp, bin)
  return bin
}

export interface TestCluster {
  readonly brokers: string
  /** A new topic with a unique name; resolves to the journal URL `kafka://BROKERS/TOPIC`. */
  topic(partitions: number, prefix?: string): Promise<string>
  /** Broker `id` refuses connections until up() (mock only). */
  down(id: number): Promise<void>
  up(id: number): Promise<void>
  stop(): Promise<void>
}

let counter = 0
const uniqueTopic = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`

export const startMock = async (opts: { brokers?: number } = {}): Promise<TestCluster> => {
  const child: ChildProcessWithoutNullStreams = spawn(mockBinary(), ['--brokers', String(opts.brokers ?? 1)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const lines = createInterface({ input: child.stdout })
  const waiting: Array<(line: string) => void> = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  lines.on('line', (line) => waiting.shift()?.(line))
  const nextLine = () => new Promise<string>((resolve, reject) => {
    waiting.push(resolve)
    void exited.then(() => reject(new Error(`kafka-mock exited: ${stderr.trim()}`)))
  })
  const brokers = await nextLine()
  if (!/^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$/.test(brokers)) throw new Error(`kafka-mock said ${JSON.stringify(brokers)}`)
  let queue = Promise.resolve('')
  const command = (line: string): Promise<string> => {
    queue = queue.then(async () => {
      const answer = nextLine()
      child.stdin.write(`${line}\n`)
      const a = await answer
      if (!a.startsWith('ok')) throw new Error(`kafka-mock ${line}: ${a}`)
      return a
    })
    return queue
  }
  return {
    brokers,
    topic: async (partitions, prefix = 'eyrie') => {
      const name = uniqueTopic(prefix)
      await command(`${name}:${partitions}`)
      return `kafka://${brokers}/${name}`
    },
    down: async (id) => { await command(`down ${id}`) },
    up: async (id) => { await command(`up ${id}`) },
    stop: async () => {
      child.stdin.end()
      await exited
    },
  }
}

/** The broker in $KAFKA_BROKERS (a real Kafka): topics made with the admin client, deleted at stop. */
export const realCluster = async (brokers: string): Promise<TestCluster> => {
  const admin = new Kafka({ clientId: 'eyrie-test', brokers: brokers.split(','), logLevel: logLevel.ERROR }).admin()
  await admin.connect()
  const made: string[] = []
  const unsupported = async (): Promise<void> => { throw new Error('broker down/up needs the mock') }
  return {
    brokers,
    topic: async (partitions, prefix = 'eyrie') => {
      const name = uniqueTopic(prefix)
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true })
      made.push(name)
      return `kafka://${brokers}/${name}`
    },
    down: unsupported,
    up: unsupported,
    stop: async () => {
      if (made.length > 0) await admin.deleteTopics({ topics: made })
      await admin.disconnect()
    },
  }
}

export interface ClusterKind {
  readonly name: string
  readonly start: () => Promise<TestCluster>
  /** The mock creates any topic a client asks metadata for, whatever the client says. */
  readonly createsTopicsOnDemand: boolean
}

/** The clusters a Kafka test runs against: always the mock, plus $KAFKA_BROKERS when set. */
export const clusterKinds = (): ClusterKind[] => {
  const real = process.env.KAFKA_BROKERS
  return [
    { name: 'kafka (librdkafka mock)', start: () => startMock(), createsTopicsOnDemand: true },
    ...(real !== undefined && real !== '' ? [{ name: `kafka (${real})`, start: () => realCluster(real), createsTopicsOnDemand: false }] : []),
  ]
}
