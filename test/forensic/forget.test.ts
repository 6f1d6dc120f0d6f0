// Journal.forget (live-mode retention) on the LMDB back end: payloads go, records say so, checkpoints
// are replaced in the same transaction, and the journal reopens consistent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { Draft, Event } from '../../src/events/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { JournalError } from '../../src/journal/errors.js'
import { tempDir } from '../support/e2e.js'

const write = (ts: bigint, text: string): Draft => ({
  ts, pid: 7, tid: 7, body: { kind: 'file.write', fd: 3, offset: 0, len: text.length, known: text.length }, data: Buffer.from(text),
})

const all = async (j: Awaited<ReturnType<typeof openLmdbJournal>>, guest: string): Promise<Event[]> => {
  const out: Event[] = []
  for await (const b of j.read(guest, 1, Number.MAX_SAFE_INTEGER)) out.push(...b)
  return out
}

test('given three writes and a checkpoint, when seq 1 and 2 are forgotten, then their records read known 0, their payloads are empty, the checkpoint is replaced and the guest counts fewer bytes', async () => {
  const dir = await tempDir('forget')
  try {
    const j = await openLmdbJournal(dir, { noSync: true })
    await j.append('g', [write(1n, 'aaaa'), write(2n, 'bbbbbb'), write(3n, 'cc')]).committed
    await j.putCheckpoint('g', 2, Buffer.from('old'))
    assert.ok(j.forget !== undefined)
    const freed = await j.forget('g', { payloads: [1, 2], checkpoints: [{ seq: 2, state: Buffer.from('new') }] })
    assert.deepEqual(freed, { events: 2, bytes: 10 })
    const events = await all(j, 'g')
    assert.deepEqual(events.map((e) => (e.kind === 'file.write' ? [e.len, e.known] : [])), [[4, 0], [6, 0], [2, 2]])
    assert.equal((await j.payload('g', 1)).length, 0)
    assert.equal(Buffer.from(await j.payload('g', 3)).toString(), 'cc')
    assert.equal(Buffer.from((await j.checkpointAtOrBefore('g', 3))?.state ?? []).toString(), 'new')
    assert.equal((await j.guests())[0].payloadBytes, 2)
    // forgetting again frees nothing: the record already says known 0
    assert.deepEqual(await j.forget('g', { payloads: [1], checkpoints: [] }), { events: 0, bytes: 0 })
    await j.close()
    const again = await openLmdbJournal(dir, { noSync: true })
    assert.equal((await all(again, 'g')).length, 3)
    await again.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given a seq that is not a payload event or not there, forget refuses before changing anything', async () => {
  const dir = await tempDir('forget')
  try {
    const j = await openLmdbJournal(dir, { noSync: true })
    await j.append('g', [write(1n, 'aaaa'), { ts: 2n, pid: 7, tid: 7, body: { kind: 'fd.close', fd: 3 } }]).committed
    await assert.rejects(j.forget?.('g', { payloads: [1, 2], checkpoints: [] }) ?? Promise.resolve(), (e: unknown) => e instanceof JournalError && e.code === 'USAGE' && /seq=2: fd.close carries no payload/.test(e.message))
    await assert.rejects(j.forget?.('g', { payloads: [9], checkpoints: [] }) ?? Promise.resolve(), /seq=9: no committed event/)
    assert.equal(Buffer.from(await j.payload('g', 1)).toString(), 'aaaa')
    await j.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
