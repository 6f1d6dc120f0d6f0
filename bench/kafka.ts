// Kafka journal benchmarks (npm run bench:kafka [-- --quick]): publish and consume rates on loopback with
// 1 and 8 guests, catch-up time for 1 M events (a fresh reader, and a fresh `serve` engine), and the
// latency from append() to state a serving engine can answer from. Runs on librdkafka's mock cluster,
// or on the broker in $KAFKA_BROKERS (topics are created and deleted there).
//
// The mock keeps at most 5 MiB and 100,000 produce batches per partition (librdkafka hard-codes it) and
// drops older records, so the 1 M-event topic is spread over 64 guests and 64 partitions. The mock does
// not answer a waiting fetch when records arrive (a real broker does): latency is measured with a
// short fetch wait, which is what it then costs.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import * as E from 'fp-ts/lib/Either.js'
import type { Body, Draft } from '../src/events/index.js'
import { openKafkaJournal, parseKafkaUrl, partitionOf, type KafkaTarget } from '../src/journal/kafka/index.js'
import { serveKafka } from '../src/journal/kafka/serve.js'
import type { Journal } from '../src/journal/journal.js'
import { realCluster, startMock } from '../test/support/kafka.js'

const quick = process.argv.includes('--quick')
const rows: Array<[string, string]> = []
const report = (what: string, value: string) => {
  rows.push([what, value])
  console.log(`${what}: ${value}`)
}
const quiet = (): void => {}
const temp = () => mkdtempSync(join(tmpdir(), 'eyrie-bench-kafka-'))

const targetOf = (url: string): KafkaTarget => {
  const t = parseKafkaUrl(url)
  if (E.isLeft(t)) throw new Error(t.left)
  return t.right
}

const metadataBody = (i: number): Body => {
  const fd = 3 + ((i >> 3) % 16)
  switch (i % 4) {
    case 0: return { kind: 'fd.seek', fd, pos: i % 4096 }
    case 1: return { kind: 'fd.read', fd, len: 512 }
    case 2: return { kind: 'fd.dup', fd, newFd: fd + 100, cloexec: false }
    default: return { kind: 'fd.close', fd: fd + 100 }
  }
}
const drafts = (from: number, n: number): Draft[] =>
  Array.from({ length: n }, (_, k) => ({ ts: BigInt(from + k), pid: 100, tid: 100, body: metadataBody(from + k) }))

/** `count` guest ids that land on distinct partitions (the mock keeps only 5 MiB per partition). */
const spread = (count: number, partitions: number): string[] => {
  const out: string[] = []
  for (let i = 0; out.length < count; i++) {
    const id = `guest-${i}`
    if (out.length >= partitions || !out.some((g) => partitionOf(g, partitions) === partitionOf(id, partitions))) out.push(id)
  }
  return out
}

/** Publishes `total` metadata events over `guests` guests (one per partition of `partitions`) in
 *  batches of `batch`; events/s. */
const publishWith = async (j: Journal, guests: number, partitions: number, total: number, batch: number): Promise<number> => {
  const per = Math.ceil(total / guests)
  const ids = spread(guests, partitions)
  const t0 = performance.now()
  for (let i = 0; i < per; i += batch) {
    for (const id of ids) j.append(id, drafts(i, Math.min(batch, per - i)))
    if ((i / batch) % 8 === 7) await j.flush() // bounded memory: at most 8 batches per guest queued
  }
  await j.flush()
  return (per * guests) / ((performance.now() - t0) / 1000)
}

const publish = async (url: string, guests: number, total: number, batch: number, mirror: boolean): Promise<number> => {
  const j = await openKafkaJournal(targetOf(url), { mirrorOwnWrites: mirror, log: quiet })
  try {
    return await publishWith(j, guests, 8, total, batch)
  } finally {
    await j.close()
  }
}

/** A fresh reader with an empty state store catches up on the whole topic; seconds. */
const catchUp = async (url: string): Promise<number> => {
  const dir = temp()
  try {
    const t0 = performance.now()
    const j = await openKafkaJournal(targetOf(url), { readOnly: true, stateDir: dir, noSync: true, log: quiet })
    const s = (performance.now() - t0) / 1000
    await j.close()
    return s
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`)

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

/** A serving engine catches up on a topic (from its first assignment, so the group join is not
 *  counted), then keeps up with single appends; latency append() -> applied and folded. */
const serveRun = async (url: string, j: Journal, total: number): Promise<void> => {
  const latencyGuests = spread(8, 64)
  const dir = temp()
  const appended = new Map<string, number>()
  const latencies: number[] = []
  let applied = 0
  let assignedAt = 0
  let caughtUp = 0
  const engine = await serveKafka(targetOf(url), {
    stateDir: dir, noSync: true, fetchWaitMs: 5, sessionTimeoutMs: 10_000, log: quiet,
    onAssigned: () => { assignedAt = performance.now() },
    onApplied: (guest, events) => {
      applied += events.length
      if (applied === total) caughtUp = performance.now()
      for (const e of events) {
        const t = appended.get(`${guest}#${e.seq}`)
        if (t !== undefined) latencies.push(performance.now() - t)
      }
    },
  })
  try {
    while (caughtUp === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    report(`serve: fresh engine catches up on ${total / 1e6} M events (64 guests; fold + checkpoints every 50k)`, `${((caughtUp - assignedAt) / 1000).toFixed(1)} s = ${rate(total / ((caughtUp - assignedAt) / 1000))}`)
    const n = quick ? 300 : 2000
    for (let i = 0; i < n; i++) {
      const guest = latencyGuests[i % latencyGuests.length]
      const t0 = performance.now()
      const r = j.append(guest, drafts(i, 1))
      appended.set(`${guest}#${r.first}`, t0)
      await r.committed
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const deadline = Date.now() + 10_000
    while (latencies.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    report(`serve: append() -> applied in the engine's store and R(now), ${latencies.length} single events (fetch wait 5 ms)`, `p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`)
  } finally {
    await engine.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** append() -> committed on a journal that mirrors its own records (readable from its store). */
const ownLatency = async (url: string): Promise<void> => {
  const j = await openKafkaJournal(targetOf(url), { log: quiet })
  try {
    const times: number[] = []
    for (let i = 0; i < (quick ? 300 : 2000); i++) {
      const t0 = performance.now()
      await j.append('lat', drafts(i, 1)).committed
      times.push(performance.now() - t0)
    }
    report('journal: append() -> committed (acked, in the writer\'s own store), single events', `p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms`)
  } finally {
    await j.close()
  }
}

/** 256 KiB writes from 8 guests, one per partition (the mock keeps 5 MiB per partition). */
const payloads = async (url: string): Promise<void> => {
  const size = 256 * 1024
  const per = quick ? 8 : 16
  const guests: string[] = []
  for (let i = 0; guests.length < 8; i++) if (!guests.some((g) => partitionOf(g, 8) === partitionOf(`big-${i}`, 8))) guests.push(`big-${i}`)
  const data = Buffer.alloc(size, 'payload ')
  const j = await openKafkaJournal(targetOf(url), { mirrorOwnWrites: false, log: quiet })
  const t0 = performance.now()
  try {
    for (let i = 0; i < per; i += 4) {
      for (const g of guests) j.append(g, Array.from({ length: 4 }, (_, k) => ({ ts: BigInt(i + k), pid: 1, tid: 1, body: { kind: 'file.write' as const, fd: 3, offset: null, len: size, known: size }, data })))
      await j.flush()
    }
  } finally {
    await j.close()
  }
  const bytes = per * guests.length * size
  const s = (performance.now() - t0) / 1000
  report(`publish 256 KiB writes, 8 guests (${(bytes / 2 ** 20).toFixed(0)} MiB)`, `${(bytes / s / 2 ** 20).toFixed(0)} MiB/s`)
  const c = await catchUp(url)
  report('consume them into a fresh state store', `${(bytes / c / 2 ** 20).toFixed(0)} MiB/s`)
}

const real = process.env.KAFKA_BROKERS
const cluster = real !== undefined && real !== '' ? await realCluster(real) : await startMock()
try {
  // ~45 bytes an event: 75k events stay under the mock's 5 MiB per partition
  const per = quick ? 40_000 : 75_000
  for (const guests of [1, 8]) {
    const url = await cluster.topic(8, 'bench')
    const n = per * guests
    report(`publish ${n / 1000}k metadata events, ${guests} guest(s), batches of 1000, acks=all`, rate(await publish(url, guests, n, 1000, false)))
    report('consume them: fresh reader -> state store (verify, decode, LMDB)', rate(n / (await catchUp(url))))
  }
  report(`publish ${(per * 8) / 1000}k, 8 guests, writer mirroring its own records (default)`, rate(await publish(await cluster.topic(8, 'bench'), 8, per * 8, 1000, true)))
  await payloads(await cluster.topic(8, 'bench'))
  await ownLatency(await cluster.topic(1, 'bench'))

  const million = quick ? 200_000 : 1_000_000
  const big = await cluster.topic(64, 'bench')
  const j = await openKafkaJournal(targetOf(big), { mirrorOwnWrites: false, log: quiet })
  try {
    const t0 = performance.now()
    await publishWith(j, 64, 64, million, 1000)
    report(`publish ${million / 1e6} M events (64 guests, 64 partitions)`, `${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const s = await catchUp(big)
    report(`catch-up: fresh reader on ${million / 1e6} M events`, `${s.toFixed(1)} s = ${rate(million / s)}`)
    await serveRun(big, j, million)
  } finally {
    await j.close()
  }
} finally {
  await cluster.stop()
}
console.log(`\n| measure (${real !== undefined && real !== '' ? `Kafka at ${real}` : 'librdkafka mock, loopback'}) | value |\n|---|---|`)
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
