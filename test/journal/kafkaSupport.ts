// Kafka journals for tests: a fresh topic per journal on the given cluster, its state store in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { openKafkaJournal, parseKafkaUrl, type KafkaJournal, type KafkaJournalOptions, type KafkaTarget } from '../../src/journal/kafka/index.js'
import type { JournalUnderTest } from './conformance.js'
import type { TestCluster } from '../support/kafka.js'

export const target = (url: string): KafkaTarget => {
  const t = parseKafkaUrl(url)
  if (E.isLeft(t)) throw new Error(t.left)
  return t.right
}

export const stateDir = (): string => mkdtempSync(join(tmpdir(), 'eyrie-kafka-test-'))

/** Lines kafkajs and the journal would print, kept for assertions instead. */
export const quietLog = (): { lines: string[]; log: (line: string) => void } => {
  const lines: string[] = []
  return { lines, log: (line) => { lines.push(line) } }
}

export const kafkaJournal = async (
  cluster: TestCluster,
  opts: KafkaJournalOptions & { partitions?: number; url?: string } = {},
): Promise<JournalUnderTest & { journal: KafkaJournal; url: string; dir: string; reopen(): Promise<KafkaJournal> }> => {
  const url = opts.url ?? await cluster.topic(opts.partitions ?? 4)
  const dir = opts.stateDir ?? stateDir()
  const options: KafkaJournalOptions = { log: quietLog().log, noSync: true, ...opts, stateDir: dir }
  const journal = await openKafkaJournal(target(url), options)
  const opened = [journal]
  return {
    url,
    dir,
    journal,
    reopen: async () => {
      const again = await openKafkaJournal(target(url), options)
      opened.push(again)
      return again
    },
    cleanup: async () => {
      for (const j of opened) await j.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
