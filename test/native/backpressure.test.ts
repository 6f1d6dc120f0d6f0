// Nothing is dropped when JavaScript is slow: the tracer waits, and the tracees with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { traceCommand } from '../../src/native/index.js'
import { record, tempDir, text } from './support.js'

const SCRIPT = 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line$i >> f; done'

/** What a draft says, without who/when/where (pids, times, inodes and addresses differ between runs). */
const shape = (d: Draft, dir: string): string =>
  JSON.stringify({ ...d.body, inode: undefined, addr: undefined, newAddr: undefined, data: d.data === undefined ? undefined : text(d) }).replaceAll(dir, '<dir>')

/** The script recorded twice, per-write records (writes: 'stop', so each of the 300 appends is a
 *  draft of its own): at full speed, and through `onBatch` with a 2 KiB buffer. Asserts the streams
 *  are identical (nothing lost, reordered or duplicated) and returns how long the slow run's stops
 *  were spread over, ms. */
const slowedDown = async (onBatch: NonNullable<Parameters<typeof record>[2]>['onBatch'], opts: Parameters<typeof record>[2] = {}): Promise<number> => {
  const fast = await tempDir()
  const slow = await tempDir()
  try {
    const reference = await record(['sh', '-c', SCRIPT], fast.dir, { writes: 'stop' })
    const seen = await record(['sh', '-c', SCRIPT], slow.dir, { bufferBytes: 2048, writes: 'stop', ...opts, ...(onBatch === undefined ? {} : { onBatch }) })
    assert.equal(seen.result.status, 0)
    assert.deepEqual(seen.drafts.slice(1).map((d) => shape(d, slow.dir)), reference.drafts.slice(1).map((d) => shape(d, fast.dir)))
    const lines = seen.drafts.filter((d) => d.body.kind === 'file.write').map(text)
    assert.deepEqual(lines, Array.from({ length: 300 }, (_, i) => `line${i + 1}\n`))
    return Number(seen.drafts[seen.drafts.length - 1].ts - seen.drafts[1].ts) / 1e6
  } finally {
    await fast.cleanup()
    await slow.cleanup()
  }
}

test('given an onBatch slower than the program and a 2 KiB buffer, then every draft arrives once and in order, and the program waited for the consumer', async () => {
  const delay = 10
  let calls = 0
  let inFlight = 0
  const span = await slowedDown(async () => {
    calls++
    assert.equal(++inFlight, 1, 'onBatch calls do not overlap')
    await sleep(delay)
    inFlight--
  })
  // the buffer held few batches: the tracer (and the shell) waited for onBatch, so the stops of the
  // run are spread over about as long as the consumer took
  assert.ok(calls > 40, `${calls} batches`)
  assert.ok(span >= (calls - 4) * delay, `stops spread over ${span.toFixed(0)} ms for ${calls} batches of ${delay} ms`)
})

test('given an onBatch that has each batch in order at once but durable only 10 ms later ({ durable }), then every draft still arrives once and in order, batches overlap their durability, and the program waited for the disk all the same', async () => {
  const delay = 10
  let calls = 0
  let pending = 0
  let maxPending = 0
  const span = await slowedDown(async () => {
    calls++
    maxPending = Math.max(maxPending, ++pending)
    return { durable: sleep(delay).then(() => void pending--) }
    // a batch goes out 2 ms after its first draft, not 50: one comes while the last is pending
    // however slowly a loaded machine runs the shell (with 50 ms, a CI run of 2026-12-07 had none)
  }, { batchMs: 2 })
  assert.ok(maxPending > 1, 'the next batch came before the last was durable')
  // the room in the buffer came back only with durability: never more than the buffer ahead
  assert.ok(span >= (calls / maxPending - 4) * delay, `stops spread over ${span.toFixed(0)} ms for ${calls} batches, ${maxPending} at most pending`)
})

test('given a batch whose durability fails, then the trace fails with that error and the command is killed, as when onBatch itself fails', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    let n = 0
    await assert.rejects(
      traceCommand(['sh', '-c', 'while :; do echo x >> f; sleep 0.01; done'], {
        cwd: dir,
        onBatch: async () => ({ durable: ++n === 3 ? Promise.reject(new Error('disk gone')) : Promise.resolve() }),
      }),
      /disk gone/,
    )
  } finally {
    await cleanup()
  }
})

test('given batchMs, when the program makes a call and then sleeps, then the call reaches onBatch after about batchMs, not at the end', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const delays = new Map<number, number>()
    for (const batchMs of [20, 400]) {
      await record(['sh', '-c', `mkdir d${batchMs}; sleep 1.5`], dir, {
        batchMs,
        onBatch: async (batch) => {
          const made = batch.find((d) => d.body.kind === 'file.mkdir')
          if (made !== undefined) delays.set(batchMs, Date.now() - Number(made.ts / 1_000_000n))
        },
      })
    }
    const quick = delays.get(20)
    const slow = delays.get(400)
    assert.ok(quick !== undefined && slow !== undefined, 'both mkdirs journaled')
    // the open batch is sealed by its timer alone here: no question, no end, far from half the buffer
    assert.ok(quick < 1000, `with 20 ms the mkdir came ${quick} ms after it was made, not at the end (1.5 s)`)
    assert.ok(slow >= 300 && slow < 1400, `with 400 ms it came ${slow} ms after it was made`)
  } finally {
    await cleanup()
  }
})

test('given a 40 MiB file read back whole at its close, then it reaches onBatch in batches of about 4 MiB, every byte once and in order', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const sizes: number[] = []
    // one write, no call between: the whole file is read back at the close, one burst of 40 MiB
    const py = "import os; d = bytes(range(256)) * 4096 * 40; f = os.open('big', os.O_WRONLY | os.O_CREAT, 0o644); os.write(f, d); os.close(f)"
    const { drafts, result } = await record(['python3', '-c', py], dir, {
      onBatch: async (batch) => void sizes.push(batch.reduce((n, d) => n + (d.data?.length ?? 0), 0)),
    })
    assert.equal(result.status, 0)
    const syncs = drafts.filter((d) => d.body.kind === 'file.sync' && d.body.path === `${dir}/big`)
    const bytes = Buffer.concat(syncs.map((d) => d.data ?? new Uint8Array()))
    assert.equal(bytes.length, 40 << 20)
    assert.ok(bytes.equals(Buffer.from(new Uint8Array(256 * 4096 * 40).map((_, i) => i % 256))), 'the bytes read back are the file')
    // a batch goes at 4 MiB, bar its last record (a read of at most 1 MiB): the burst is not one batch
    // (the pool's buffers would grow to it, and the journal would get nothing until it was whole)
    const largest = Math.max(...sizes)
    assert.ok(largest <= (5 << 20) + 4096, `largest batch ${largest} bytes`)
    assert.ok(sizes.filter((n) => n > 0).length >= 8, `${sizes.length} batches`)
  } finally {
    await cleanup()
  }
})
