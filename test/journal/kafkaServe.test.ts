// `eyrie serve` as a user runs it: two engine processes in one consumer group on the mock cluster. One
// is killed (SIGKILL) mid-stream; the other takes over its partitions and answers every query as the
// embedded journal does; the killed one comes back, resumes from its own store and checkpoints, and
// answers identically for the partitions it gets. A record no eyrie wrote is parked, nothing else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { worldAt } from '../../src/engine/replay.js'
import { ls } from '../../src/projections/index.js'
import type { Journal } from '../../src/journal/journal.js'
import { openKafkaJournal, partitionOf } from '../../src/journal/kafka/index.js'
import { ASSIGNMENT_FILE, serveKafka } from '../../src/journal/kafka/serve.js'
import { PARKED_FILE, readParked } from '../../src/journal/kafka/parked.js'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { startMock } from '../support/kafka.js'
import { lmdbJournal } from './lmdbSupport.js'
import { answers, workload } from './kafkaWorkload.js'
import { quietLog, stateDir, target } from './kafkaSupport.js'

const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))
const GUESTS = 8
const PARTITIONS = 4
const ROUNDS = 12
const PER_ROUND = 120
const guestName = (g: number) => `guest-${g}`

interface Engine {
  readonly child: ChildProcess
  /** The partitions of the engine's latest assignment. */
  held: number[]
  readonly stderr: string[]
  readonly exited: Promise<number | null>
}

const startEngine = (url: string, dir: string): Engine => {
  const child = spawn(process.execPath, [BIN, 'serve', '--from', url, '--state', dir, '--session-timeout', '3000', '--fetch-wait', '100', '--checkpoint-every', '400'], { stdio: ['ignore', 'ignore', 'pipe'] })
  const engine: Engine = { child, held: [], stderr: [], exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) }
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      engine.stderr.push(line)
      const m = /partitions \[([\d,]*)\]/.exec(line)
      if (m !== null) engine.held = m[1] === '' ? [] : m[1].split(',').map(Number)
    })
  }
  return engine
}

const engines: Engine[] = []

const until = async (what: string | (() => Promise<string>), ready: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${typeof what === 'string' ? what : await what()}; the engines said:\n${engines.map((e, i) => `#${i}: ${e.stderr.join('\n    ')}`).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** A serving engine's store, read by another process as `eyrie at --journal STATE_DIR` does. */
const withStore = async <T>(dir: string, f: (j: Journal) => Promise<T>): Promise<T> => {
  const j = await openLmdbJournal(dir, { readOnly: true })
  try {
    return await f(j)
  } finally {
    await j.close()
  }
}

const counts = (dir: string): Promise<Map<string, number>> =>
  withStore(dir, async (j) => new Map((await j.guests()).map((g) => [g.guest, g.events])))

const eyrieJson = (args: readonly string[]): unknown => {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { maxBuffer: 1 << 26 })
  assert.equal(r.status, 0, r.stderr.toString())
  return JSON.parse(r.stdout.toString())
}

// bounded: an engine that does not stop must fail this test, not hang the suite
test('given two engines in a group, when one is killed mid-stream, then the other takes over its partitions and answers as the embedded journal does; the killed one resumes from its store', { timeout: 300_000 }, async () => {
  const cluster = await startMock()
  const dirs = { a: stateDir(), b: stateDir() }
  const ref = await lmdbJournal({ noSync: true })
  try {
    const url = await cluster.topic(PARTITIONS)
    const publisher = await openKafkaJournal(target(url), { mirrorOwnWrites: false, log: quietLog().log })
    const intruder = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await intruder.connect()
    try {
      const a = startEngine(url, dirs.a)
      const b = startEngine(url, dirs.b)
      engines.push(a, b)
      await until('the two engines share the partitions', () => a.held.length > 0 && b.held.length > 0 && a.held.length + b.held.length === PARTITIONS)

      for (let round = 0; round < ROUNDS; round++) {
        for (let g = 0; g < GUESTS; g++) {
          const drafts = workload(g, round * PER_ROUND, PER_ROUND, 97)
          publisher.append(guestName(g), drafts)
          ref.journal.append(guestName(g), drafts)
        }
        await publisher.flush()
        if (round === 2) {
          // a record no eyrie wrote, under a guest of its own: parked by whoever reads it, nobody else affected
          await intruder.send({ topic: target(url).topic, acks: -1, messages: [{ key: 'intruder', value: 'not an eyrie record', partition: partitionOf('intruder', PARTITIONS) }] })
        }
        if (round === ROUNDS / 2) {
          // mid-stream: A has applied part of its partitions; kill it without a chance to leave the group
          await until('A has applied something', async () => [...(await counts(dirs.a)).values()].some((n) => n > 0))
          a.child.kill('SIGKILL')
          await a.exited
        }
        await new Promise((resolve) => setTimeout(resolve, 30))
      }
      await ref.journal.flush()
      const total = ROUNDS * PER_ROUND

      await until(async () => `B holds every partition and has every event (it has ${JSON.stringify([...(await counts(dirs.b))])})`, async () => {
        const n = await counts(dirs.b)
        return b.held.length === PARTITIONS && [...Array(GUESTS).keys()].every((g) => n.get(guestName(g)) === total)
      })
      assert.deepEqual(JSON.parse(readFileSync(join(dirs.b, ASSIGNMENT_FILE), 'utf8')).held, [0, 1, 2, 3], 'the store says which partitions are current')
      await withStore(dirs.b, async (j) => {
        for (let g = 0; g < GUESTS; g++) {
          for (const seq of [total, 777]) assert.deepEqual(await answers(j, guestName(g), seq), await answers(ref.journal, guestName(g), seq), `B: guest ${g} at #${seq}`)
        }
      })
      // the same answers through the CLI: the serving engine's store, and the topic itself
      const expected = JSON.parse(JSON.stringify({ guest: 'guest-3', seq: 1000, files: ls(await worldAt(ref.journal, 'guest-3', 1000), '/data'), note: null }))
      for (const journal of [dirs.b, url]) assert.deepEqual(eyrieJson(['--journal', journal, '--guest', 'guest-3', 'at', '#1000', 'ls', '/data']), expected, journal)

      // A comes back with its store: it resumes from its own offsets and checkpoints
      const again = startEngine(url, dirs.a)
      engines.push(again)
      await until('A is given partitions again', () => again.held.length > 0 && b.held.length > 0 && again.held.length + b.held.length === PARTITIONS)
      const mine = [...Array(GUESTS).keys()].filter((g) => again.held.includes(partitionOf(guestName(g), PARTITIONS)))
      await until('A has caught up on its partitions', async () => {
        const n = await counts(dirs.a)
        return mine.every((g) => n.get(guestName(g)) === total)
      })
      await withStore(dirs.a, async (j) => {
        for (const g of mine) {
          assert.ok(((await j.checkpointAtOrBefore(guestName(g), total))?.seq ?? 0) >= 400, `A keeps checkpoints for guest ${g}`)
          assert.deepEqual(await answers(j, guestName(g), total), await answers(ref.journal, guestName(g), total), `A: guest ${g}`)
        }
      })

      for (const e of [again, b]) e.child.kill('SIGTERM')
      assert.deepEqual(await Promise.all([again.exited, b.exited]), [0, 0], 'SIGTERM stops an engine cleanly')
      const parkedLines = b.stderr.filter((l) => /kafka topic=/.test(l))
      assert.ok(parkedLines.length > 0 && parkedLines.every((l) => /partition=\d offset=\d+ guest=intruder: unsupported record format 110/.test(l)), `only the intruder is parked:\n${b.stderr.join('\n')}`)
      assert.deepEqual(readParked(join(dirs.b, PARKED_FILE)).map((r) => [r.guest, Buffer.from(r.value ?? '', 'base64').toString()]), [['intruder', 'not an eyrie record']])
    } finally {
      await intruder.disconnect()
      await publisher.close()
    }
  } finally {
    for (const e of engines) e.child.kill('SIGKILL')
    await Promise.all(engines.map((e) => e.exited))
    await ref.cleanup()
    await cluster.stop()
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true })
  }
})

test('given an engine whose consumer does not leave the group in time, stop() still ends: it says so once, closes its store, and a reader opens it', { timeout: 120_000 }, async () => {
  // kafkajs's disconnect has waited forever for its fetch loop (an engine ignored SIGTERM in this
  // suite once); leaveMs 1 takes that path with any real consumer, whose leaving takes longer
  const cluster = await startMock()
  const dir = stateDir()
  try {
    const url = await cluster.topic(PARTITIONS)
    const { lines, log } = quietLog()
    let assigned = false
    const engine = await serveKafka(target(url), { stateDir: dir, leaveMs: 1, sessionTimeoutMs: 3000, fetchWaitMs: 100, noSync: true, log, onAssigned: () => { assigned = true } })
    const deadline = Date.now() + 60_000
    while (!assigned && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(assigned, 'the engine joined the group')
    await engine.stop()
    await engine.done
    assert.equal(lines.filter((l) => /did not leave the group within 1 ms; stopping without it/.test(l)).length, 1, lines.join('\n'))
    assert.deepEqual(await withStore(dir, async (j) => j.guests()), [])
  } finally {
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
