// Live-mode retention on a real long-running writer that fsyncs: a state file overwritten in place and
// a log appended to, each step flushed. Recorded once under strace (the forensic journal keeps every
// version), then replayed into a live-mode journal the way a recorder would run it: Ingest with
// checkpoints, Retention.collect() after each batch. The journal's payload stays bounded, answers at
// the end are the same as forensic mode's, and older answers are the same bytes or unknown, never other
// bytes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { Draft } from '../../src/events/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { foldedWorldAt, Ingest, worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan } from '../../src/projections/index.js'
import { Retention } from '../../src/forensic/retention.js'
import { verify } from '../../src/forensic/verify.js'
import { diskUsage } from '../../src/forensic/info.js'
import { timeline } from '../../src/forensic/timeline.js'
import { diskFiles, recordWithStrace, tempDir, type Recorded } from '../support/e2e.js'

const STEPS = Number(process.env.EYRIE_GC_STEPS ?? 400)
const BLOCK = 8 * 1024
/** events per recorder batch; collect() runs after each */
const BATCH = 25
const WRITER = `
import os, sys
n = int(sys.argv[1]); block = int(sys.argv[2])
state = os.open('state.bin', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
log = os.open('log.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
for i in range(n):
    os.pwrite(state, bytes([i % 251]) * block, 0)
    os.fsync(state)
    os.write(log, b'step %d\\n' % i)
    os.fsync(log)
# never flushed: these bytes never reached the disk for sure, so live mode keeps them
os.pwrite(state, b'A' * 100, 0)
os.pwrite(state, b'B' * 100, 0)
os.close(state); os.close(log)
`

let r: Recorded
let live: Journal
let liveDir: string
let drafts: Draft[]
const payloadHistory: number[] = []
const sizeHistory: number[] = []

const payloadBytes = async (j: Journal, guest: string) => (await j.guests()).find((g) => g.guest === guest)?.payloadBytes ?? 0

before(async () => {
  r = await recordWithStrace(['python3', '-c', WRITER, String(STEPS), String(BLOCK)], { every: 500 })
  drafts = []
  for (const e of r.events) {
    const { guest: _g, seq, ts, pid, tid, ...body } = e
    const data = 'known' in body && body.known > 0 ? await r.journal.payload(r.guest, seq) : undefined
    drafts.push(data === undefined ? { ts, pid, tid, body } : { ts, pid, tid, body, data })
  }
  liveDir = await tempDir('live')
  live = await openLmdbJournal(liveDir, { noSync: true })
  await live.setMeta('live', { retention: 'live' })
  const ingest = await Ingest.open(live, 'live', 100)
  const retention = new Retention(live, 'live')
  for (let i = 0; i < drafts.length; i += BATCH) {
    await ingest.push(drafts.slice(i, i + BATCH))
    await ingest.finish() // the checkpoint of this batch is committed: collect() works up to it
    await retention.collect()
    payloadHistory.push(await payloadBytes(live, 'live'))
    sizeHistory.push((await diskUsage(liveDir)).bytes)
  }
  // as `eyrie gc --live` finishes: up to the end, with a checkpoint there
  await retention.collect({ upTo: drafts.length, checkpoint: true })
})

after(async () => {
  await live?.close()
  await rm(liveDir, { recursive: true, force: true })
  await r?.cleanup()
})

test('given a long fsyncing writer, forensic mode keeps every version while live mode keeps the journal\'s payload bounded by what the files hold now', async () => {
  const forensic = await payloadBytes(r.journal, r.guest)
  assert.ok(forensic >= STEPS * BLOCK, `forensic keeps all ${STEPS} versions (${forensic} bytes)`)
  const disk = await diskFiles(r.dir)
  const held = [...disk.values()].reduce((n, b) => n + b.length, 0)
  const end = await payloadBytes(live, 'live')
  // what the files hold, plus the two unflushed writes that are kept on purpose
  assert.ok(end <= held + 200, `live payload at the end ${end} <= files ${held} + 200`)
  // while running, the writes since the latest checkpoint wait for it: bounded, and far below forensic
  const peak = Math.max(...payloadHistory)
  assert.ok(peak < 40 * BLOCK + held, `live peak ${peak} stays below 40 blocks + ${held}`)
  assert.ok(peak * 8 < forensic, `live peak ${peak} is far below forensic ${forensic}`)
  // the LMDB file reuses freed pages: over the writer's loop it grows by far less than was written
  const loopStart = payloadHistory.findIndex((n) => n > 0) - 1
  const growth = (sizeHistory.at(-1) ?? 0) - sizeHistory[Math.max(0, loopStart)]
  assert.ok(growth * 3 < forensic, `journal file grew ${growth} over the loop, for ${forensic} bytes written`)
})

test('given live-mode gc, every answer at the end is the forensic answer: the same world and the disk\'s bytes', async () => {
  const end = drafts.length
  // the fold's own worlds: each journal's checkpoints compacted files at their own moments
  const wf = await foldedWorldAt(r.journal, r.guest, end)
  const wl = await foldedWorldAt(live, 'live', end)
  assert.deepStrictEqual(wl, wf)
  for (const [path, bytes] of await diskFiles(r.dir)) {
    const plan = contentPlan(wl, path)
    assert.ok(plan.ok && plan.size === bytes.length, `${path} has a known size`)
    const got = await materialize(live, 'live', plan.pieces)
    assert.deepEqual(got.unknown, [], path)
    assert.deepEqual(got.bytes, bytes, path)
  }
  const report = await verify(live)
  assert.deepEqual(report.problems, [])
})

test('given live-mode gc, older answers are the forensic bytes or unknown, never other bytes, and the unflushed overwritten write is kept', async () => {
  const path = `${r.dir}/state.bin`
  let unknownSeen = 0
  for (let k = 1; k <= 12; k++) {
    const seq = Math.floor((drafts.length * k) / 13)
    const f = contentPlan(await worldAt(r.journal, r.guest, seq), path)
    const l = contentPlan(await worldAt(live, 'live', seq), path)
    if (!f.ok) {
      assert.ok(!l.ok)
      continue
    }
    assert.ok(l.ok && l.size === f.size)
    const fb = await materialize(r.journal, r.guest, f.pieces)
    const lb = await materialize(live, 'live', l.pieces)
    for (const u of lb.unknown) lb.bytes.fill(0, u.start, u.end), fb.bytes.fill(0, u.start, u.end)
    assert.deepEqual(lb.bytes, fb.bytes, `known bytes of state.bin at #${seq}`)
    if (lb.unknown.length > 0) unknownSeen++
  }
  assert.ok(unknownSeen > 0, 'some older version of state.bin became unknown')
  const versions = await timeline(live, 'live', path)
  assert.ok(versions.filter((v) => v.sha256 === null).length >= STEPS / 2, 'older versions hash as unknown')
  const forensicVersions = await timeline(r.journal, r.guest, path)
  assert.ok(forensicVersions.filter((v) => v.kind === 'file.write' && v.sha256 !== null).length >= STEPS, 'forensic mode: every version has its digest')
  // the 'A' write: overwritten by 'B' before any flush, never confirmed on disk: its bytes stay
  const aWrite = r.events.filter((e) => e.kind === 'file.write' && e.known === 100).at(-2)
  assert.ok(aWrite !== undefined)
  assert.equal(Buffer.from(await live.payload('live', aWrite.seq)).toString(), 'A'.repeat(100))
})
