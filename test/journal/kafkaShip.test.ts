// `eyrie ship`: an embedded journal to Kafka and back gives the same answers; shipping again sends only
// what is new; a destination that diverged is refused.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { JournalError } from '../../src/journal/errors.js'
import { openKafkaJournal } from '../../src/journal/kafka/index.js'
import { ship } from '../../src/journal/kafka/ship.js'
import { clusterKinds, type TestCluster } from '../support/kafka.js'
import { lmdbJournal, tempDir } from './lmdbSupport.js'
import { answers, workload } from './kafkaWorkload.js'
import { quietLog, target } from './kafkaSupport.js'

const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))
const eyrie = (args: readonly string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { maxBuffer: 1 << 26 })
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}

for (const kind of clusterKinds()) {
  describe(`${kind.name}: ship`, () => {
    let cluster: TestCluster
    before(async () => { cluster = await kind.start() })
    after(() => cluster.stop())

    test('given an embedded journal, when shipped to Kafka, shipped again after more events, and shipped back, then the copy answers as the original and each ship sends only what is new', async () => {
      const src = await lmdbJournal({ noSync: true })
      const back = tempDir()
      try {
        const url = await cluster.topic(3)
        for (let g = 0; g < 3; g++) src.journal.append(`g${g}`, workload(g, 0, 200, 40))
        await src.journal.setMeta('g1', { host: 'h1' })
        await src.journal.close()
        const first = eyrie(['ship', '--from', src.dir, '--to', url])
        assert.equal(first.status, 0, first.stderr)
        assert.match(first.stderr, /guest g1: seqs 1\.\.200, \d+ payload bytes/)

        const more = await src.reopen()
        await more.append('g1', workload(1, 200, 50, 40)).committed
        await more.close()
        const kafkaDst = await openKafkaJournal(target(url), { mirrorOwnWrites: false, log: quietLog().log })
        const lmdbSrc = await src.reopen()
        try {
          const shipped = await ship(lmdbSrc, kafkaDst)
          assert.deepEqual(shipped.map((s) => [s.guest, s.from, s.to]), [['g0', 201, 200], ['g1', 201, 250], ['g2', 201, 200]])
        } finally {
          await kafkaDst.close()
        }

        const home = eyrie(['ship', '--from', url, '--to', back])
        assert.equal(home.status, 0, home.stderr)
        const copy = await lmdbJournal({ readOnly: true }, back)
        try {
          for (let g = 0; g < 3; g++) {
            const end = g === 1 ? 250 : 200
            assert.deepEqual(await answers(copy.journal, `g${g}`, end), await answers(lmdbSrc, `g${g}`, end), `g${g}`)
          }
          assert.deepEqual((await copy.journal.guests()).map((i) => [i.guest, i.events, i.payloadBytes, i.meta]), (await lmdbSrc.guests()).map((i) => [i.guest, i.events, i.payloadBytes, i.meta]))
        } finally {
          await copy.cleanup()
        }
      } finally {
        await src.cleanup()
      }
    })

    test('given a destination whose events differ from the source\'s, when shipped, then it is refused as diverged', async () => {
      const a = await lmdbJournal({ noSync: true })
      const url = await cluster.topic(1)
      const dst = await openKafkaJournal(target(url), { log: quietLog().log })
      try {
        await a.journal.append('g', workload(1, 0, 20)).committed
        await dst.append('g', workload(2, 0, 10)).committed
        await assert.rejects(ship(a.journal, dst), (e: unknown) => e instanceof JournalError && /ship guest=g: the destination's seq 10 differs from the source's: they diverged/.test(e.message))
        await dst.append('g', workload(2, 10, 20)).committed
        await assert.rejects(ship(a.journal, dst), (e: unknown) => e instanceof JournalError && /the destination has 30 events, the source 20/.test(e.message))
      } finally {
        await dst.close()
        await a.cleanup()
      }
    })
  })
}

test('given a malformed kafka URL or two directories, when the CLI is run, then it says why and exits 2', () => {
  const bad = eyrie(['--journal', 'kafka://localhost/t', 'guests'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /^eyrie: kafka:\/\/localhost\/t: broker "localhost": expected HOST:PORT/)
  const twoDirs = eyrie(['ship', '--from', '/tmp/a', '--to', '/tmp/b'])
  assert.equal(twoDirs.status, 2)
  assert.match(twoDirs.stderr, /one of --from\/--to must be each/)
})
