// kill -9 of `eyrie record` at 20 random instants of a write-heavy workload (bench/torture.ts runs 100).
// EYRIE_RELIABILITY_SEED replays a run; EYRIE_CRASH_INSTANTS changes the count.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { crashRun } from './crash.js'
import { eyrie } from '../support/cli.js'
import { rng } from './support.js'

const seed = Number(process.env.EYRIE_RELIABILITY_SEED ?? Date.now() % 1_000_000)
const instants = Number(process.env.EYRIE_CRASH_INSTANTS ?? 20)

test(`given a write-heavy recording SIGKILLed at ${instants} random instants (seed ${seed}), then no tracee survives, nothing committed is lost, no batch is half visible, every guest verifies, and recording resumes into a new guest`, async () => {
  const run = await crashRun({ instants, random: rng(seed), lanes: 2, maxDelayMs: 1000, checkpointEvery: 300 })
  try {
    assert.equal(run.instants.length, instants)
    const failed = run.instants.filter((i) => i.problems.length > 0)
    assert.deepEqual(failed.map((i) => `${i.guest}: ${i.problems.join(' | ')}`), [], `seed ${seed}`)
    for (const i of run.instants) {
      assert.ok(i.last >= i.seenCommitted && i.seenCommitted > 0, `${i.guest}: kept ${i.last}, seen ${i.seenCommitted}`)
      assert.equal(i.partialPolls, 0)
    }
    assert.ok(run.instants.some((i) => i.checkpoints > 0), 'some kills came after a checkpoint, so checkpoints were checked against the fold')

    // each journal now holds one killed guest per instant: a complete recording goes on after them
    for (const journal of run.journals) {
      const done = eyrie(['record', '--guest', 'after-crashes', '--', 'sh', '-c', 'echo resumed > /dev/null; true'], { journal })
      assert.equal(done.status, 0, done.stderr)
      const v = eyrie(['verify'], { journal })
      assert.equal(v.status, 0, v.stdout + v.stderr)
      const guests = eyrie(['guests', '--json'], { journal })
      assert.equal(guests.status, 0, guests.stderr)
      assert.match(guests.stdout, /after-crashes/)
    }
  } finally {
    await run.cleanup()
  }
})

