// Random byte flips in stored values: 200 trials here (EYRIE_CORRUPTION_TRIALS), 1,000 in the torture run.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { open, type Key } from 'lmdb'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { worldAt } from '../../src/engine/replay.js'
import { contentPlan } from '../../src/projections/index.js'
import { eyrie } from '../support/cli.js'
import { buildFixture, corruptionRun, GUEST, type Fixture } from './corruption.js'
import { rng } from './support.js'

const seed = Number(process.env.EYRIE_RELIABILITY_SEED ?? Date.now() % 1_000_000)
const trials = Number(process.env.EYRIE_CORRUPTION_TRIALS ?? 200)
let fx: Fixture

before(async () => {
  fx = await buildFixture({ every: 30, points: 6 })
})
after(async () => {
  await fx?.cleanup()
})

test(`given ${trials} random byte flips in events, payloads (in LMDB and in blob segments), blob references, checkpoints, their compacted bytes and sources, and guest records (seed ${seed}), then verify names every one, no answer is ever different bytes, and a damaged checkpoint changes no answer`, async () => {
  assert.ok(fx.checkpoints >= 10 && fx.queries.length >= 20, `a fixture worth damaging: ${fx.events} events, ${fx.checkpoints} checkpoints, ${fx.queries.length} queries`)
  const s = await corruptionRun(fx, trials, rng(seed))
  assert.equal(s.detected, s.trials, `detected ${s.detected}/${s.trials}: ${JSON.stringify(s.byTarget)}`)
  assert.equal(s.answers.wrong, 0, 'a damaged journal answered with other bytes')
  assert.deepEqual(s.unnamed.slice(0, 5), [], 'every failed answer is CORRUPT/DECODE naming guest and seq')
  assert.equal(s.checkpointFallbackFailures, 0, 'a damaged checkpoint is skipped for the previous one, with the same answers')
  for (const t of ['events', 'payloads', 'blobs', 'segments', 'checkpoints', 'compacted'] as const) assert.ok(s.byTarget[t].trials > 0, `some trials hit ${t}`)
  assert.ok(s.answers.failed > 0 && s.answers.same > 0, 'some answers read damaged values, most did not')
})

const flipOne = async (db: string, key: Key): Promise<() => Promise<void>> => {
  const root = open(fx.journal, { noSubdir: false, maxDbs: 8 })
  const d = root.openDB<Buffer, Key>(db, { encoding: 'binary', keyEncoding: 'ordered-binary' })
  const original = d.get(key)
  assert.ok(original !== undefined, `a value under ${JSON.stringify(key)} in ${db}`)
  const copy = Buffer.from(original)
  copy[copy.length >> 1] ^= 0x10
  d.putSync(key, copy)
  await root.close()
  return async () => {
    const r = open(fx.journal, { noSubdir: false, maxDbs: 8 })
    r.openDB<Buffer, Key>(db, { encoding: 'binary', keyEncoding: 'ordered-binary' }).putSync(key, Buffer.from(original))
    await r.close()
  }
}

test('given a flipped payload that a file\'s content reads, when `eyrie at T cat` asks for it, then exit 1 naming guest and seq; given a flipped checkpoint instead, the same bytes as before', async () => {
  // a file whose content reads a payload kept in LMDB (not a blob, not a checkpoint's compacted bytes)
  const inline = new Set<number>()
  const raw = open(fx.journal, { noSubdir: false, maxDbs: 8 })
  for (const key of raw.openDB<Buffer, Key>('payloads', { encoding: 'binary', keyEncoding: 'ordered-binary' }).getKeys({})) inline.add((key as [string, number])[1])
  await raw.close()
  const j = await openLmdbJournal(fx.journal, { readOnly: true })
  let q = fx.queries[fx.queries.length - 1]
  let payloadSeq = 0
  let checkpointSeq: number
  try {
    for (const candidate of [...fx.queries].reverse()) {
      const plan = contentPlan(await worldAt(j, GUEST, candidate.seq), candidate.path)
      assert.ok(plan.ok)
      const read = plan.pieces.flatMap((p) => ('unknown' in p || !inline.has(p.seq) ? [] : [p.seq]))
      if (read.length === 0) continue
      q = candidate
      payloadSeq = read[read.length - 1]
      break
    }
    assert.ok(payloadSeq > 0, 'some file reads a payload kept in LMDB')
    const cp = await j.checkpointAtOrBefore(GUEST, q.seq)
    assert.ok(cp !== undefined && cp.seq > 0)
    checkpointSeq = cp.seq
  } finally {
    await j.close()
  }
  const at = ['--guest', GUEST, 'at', `#${q.seq}`, 'cat', q.path]
  const good = eyrie(at, { journal: fx.journal })
  assert.equal(good.status, 0, good.stderr)
  assert.equal(createHash('sha256').update(good.raw).digest('hex'), fx.baseline.get(`${q.seq}\0${q.path}`), 'the CLI answers as the API does')

  const restorePayload = await flipOne('payloads', [GUEST, payloadSeq])
  try {
    const bad = eyrie(at, { journal: fx.journal })
    assert.equal(bad.status, 1)
    assert.equal(bad.stdout, '')
    assert.match(bad.stderr, new RegExp(`^eyrie: journal payload guest=${GUEST} seq=${payloadSeq}: checksum mismatch\\n$`))
  } finally {
    await restorePayload()
  }

  const restoreCheckpoint = await flipOne('checkpoints', [GUEST, checkpointSeq])
  try {
    const fallback = eyrie(at, { journal: fx.journal })
    assert.equal(fallback.status, 0, fallback.stderr)
    assert.equal(createHash('sha256').update(fallback.raw).digest('hex'), fx.baseline.get(`${q.seq}\0${q.path}`))
    assert.match(fallback.stderr, new RegExp(`checkpoint guest=${GUEST} seq=${checkpointSeq}: checksum mismatch`), 'the skipped checkpoint is reported')
  } finally {
    await restoreCheckpoint()
  }
})
