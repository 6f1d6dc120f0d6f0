// The kept connections' framing and replies, without clamd (cache.test.ts speaks to a real one).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { verdictOfReply } from '../../src/scanner/client.js'
import { CHUNK, instreamFrames } from '../../src/scanner/session.js'

test('given bytes over one chunk, when framed for INSTREAM, then the command, each chunk after its big-endian length, and an empty chunk follow in order', () => {
  const bytes = Buffer.alloc(CHUNK + 5, 0x61)
  const frames = instreamFrames(bytes)
  assert.equal(frames[0].toString('latin1'), 'zINSTREAM\0')
  assert.deepEqual(frames.slice(1).map((f) => f.length), [4, CHUNK, 4, 5, 4])
  assert.equal(frames[1].readUInt32BE(0), CHUNK)
  assert.equal(frames[3].readUInt32BE(0), 5)
  assert.equal(frames[5].readUInt32BE(0), 0)
  assert.deepEqual(Buffer.concat(frames.filter((_, i) => i === 2 || i === 4)), bytes)
})

test('given clamd\'s replies to INSTREAM, then OK is clean, FOUND names the signature, and anything else is an error quoting it', () => {
  assert.deepEqual(verdictOfReply('stream: OK'), { kind: 'clean' })
  assert.deepEqual(verdictOfReply('stream: Eyrie.Test.EICAR.UNOFFICIAL FOUND'), { kind: 'infected', signature: 'Eyrie.Test.EICAR.UNOFFICIAL' })
  const limit = verdictOfReply('INSTREAM size limit exceeded. ERROR')
  assert.equal(limit.kind, 'error')
  assert.match(limit.kind === 'error' ? limit.reason : '', /^clamd: INSTREAM size limit exceeded\. ERROR$/)
  const odd = verdictOfReply('PONG')
  assert.match(odd.kind === 'error' ? odd.reason : '', /no verdict: PONG/)
})
