// Forensic scanning from the journal alone: content that no longer exists anywhere on disk is still
// judged as the guest saw it, and --history finds the first seq at which a file became infected.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as E from 'fp-ts/lib/Either.js'
import { join } from 'node:path'
import { Ingest } from '../../src/engine/replay.js'
import { parseJsonLine } from '../../src/events/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Clamd } from '../../src/scanner/clamd.js'
import { scanContent, scanHistory } from '../../src/scanner/forensic.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { eyrie } from '../support/cli.js'
import { recordWithStrace } from '../support/e2e.js'
import { eicar, MARKER, MARKER_SIGNATURE, SIGNATURES, tmp, withPrivateClamd } from './support.js'

let clamd: Clamd
let socket: string

before(async () => {
  clamd = await withPrivateClamd()
  socket = 'socket' in clamd.endpoint ? clamd.endpoint.socket : ''
})
after(async () => {
  await clamd.stop()
})

let clock = 1_700_000_000_000_000_000n
const line = (o: Record<string, unknown>) => JSON.stringify({ ts: (clock += 1_000_000n).toString(), pid: 10, tid: 10, ...o })
const write = (fd: number, bytes: Buffer, offset: number | null = null) =>
  line({ kind: 'file.write', fd, offset, len: bytes.length, known: bytes.length, data: bytes.toString('base64') })

/** Imports JSONL lines into a new journal as guest g (in process: the CLI's import has its own tests). */
const imported = async (lines: readonly string[]) => {
  const journal = join(await tmp('forensic'), 'journal')
  const j = await openLmdbJournal(journal)
  const ingest = await Ingest.open(j, 'g')
  await ingest.push(lines.map((l, i) => {
    const d = parseJsonLine(l)
    if (E.isLeft(d)) throw new Error(`line ${i + 1}: ${d.left}`)
    return d.right
  }))
  await ingest.finish()
  await j.close()
  return journal
}

test('given a file written infected and then deleted (imported JSONL), scan --at before the delete finds it, at the end nothing is left; exit 3 then 0', async () => {
  const journal = await imported([
    line({ kind: 'fd.open', fd: 3, path: '/w/readme.txt', flags: 0o1101, inode: null, created: true }),
    write(3, Buffer.from('nothing to see\n')),
    line({ kind: 'fd.close', fd: 3 }),
    line({ kind: 'fd.open', fd: 3, path: '/w/dropper.bin', flags: 0o1101, inode: null, created: true }),
    write(3, eicar()),
    line({ kind: 'fd.close', fd: 3 }), // #6
    line({ kind: 'file.unlink', path: '/w/dropper.bin' }), // #7
  ])
  const before = eyrie(['scan', '--at', '#6', '--clamd', socket, '--json'], { journal })
  assert.equal(before.status, 3, before.stderr)
  const out = JSON.parse(before.stdout)
  assert.equal(out.seq, 6)
  assert.deepEqual(out.results.map((r: { path: string; verdict: string }) => [r.path, r.verdict]), [['/w/dropper.bin', 'infected'], ['/w/readme.txt', 'clean']])
  assert.match(out.results[0].signature, /^Eyrie\.Test\.EICAR/)
  assert.deepEqual(out.summary, { clean: 1, infected: 1, error: 0, skipped: 0 })

  const end = eyrie(['scan', '--clamd', socket], { journal })
  assert.equal(end.status, 0, end.stderr)
  assert.doesNotMatch(end.stdout, /dropper/)
  assert.match(end.stderr, /1 scanned: 1 clean, 0 infected/)

  const gone = eyrie(['scan', '--clamd', socket, '/w/dropper.bin'], { journal })
  assert.equal(gone.status, 1)
  assert.match(gone.stderr, /no file \/w\/dropper\.bin at #7/)
})

test('given a file that became infected by a later write and was cleaned again, --history reports every version and the first infected seq', async () => {
  const journal = await imported([
    line({ kind: 'fd.open', fd: 3, path: '/w/app.py', flags: 0o102, inode: null, created: true }), // #1
    write(3, Buffer.from('print("v1")\n')), // #2
    write(3, Buffer.from('print("v2")\n')), // #3 appended
    line({ kind: 'fd.seek', fd: 3, pos: 0 }), // #4
    write(3, Buffer.from('print("v1")\n'), 0), // #5 the same bytes again: no new version
    write(3, Buffer.from(`# ${MARKER}\n`), 24), // #6 infected from here
    line({ kind: 'file.truncate', path: null, fd: 3, size: 24 }), // #7 clean again
    line({ kind: 'fd.close', fd: 3 }),
  ])
  const r = eyrie(['scan', '--history', '/w/app.py', '--clamd', socket, '--json'], { journal })
  assert.equal(r.status, 3, r.stderr)
  const h = JSON.parse(r.stdout)
  assert.deepEqual(h.versions.map((v: { seq: number; verdict: string }) => [v.seq, v.verdict]), [[1, 'clean'], [2, 'clean'], [3, 'clean'], [6, 'infected'], [7, 'clean']])
  assert.equal(h.firstInfected.seq, 6)
  assert.match(h.firstInfected.signature, MARKER_SIGNATURE)

  const upTo = eyrie(['scan', '--history', '/w/app.py', '--at', '#5', '--clamd', socket], { journal })
  assert.equal(upTo.status, 0, upTo.stderr)
  assert.match(upTo.stderr, /3 version\(s\) up to #5, never infected/)
})

test('given a real program that wrote the marker into a file and removed it, the journal still holds it: content before the unlink and the first infected seq', async () => {
  const r = await recordWithStrace(['sh', '-c', 'echo "all good" > log.txt && printf "%s-%s-%s\\n" EYRIE-TEST MARKER 5e1f0c2a >> log.txt && rm log.txt'])
  try {
    const scanner = await Scanner.open(clamd)
    const log = join(r.dir, 'log.txt')
    const unlink = r.events.find((e) => e.kind === 'file.unlink' && e.path === log)
    assert.ok(unlink !== undefined, 'the unlink was recorded')
    const before = await scanContent(scanner, r.journal, r.guest, unlink.seq - 1, log)
    assert.match(before.result?.verdict.kind === 'infected' ? before.result.verdict.signature : 'not infected', MARKER_SIGNATURE)
    assert.equal((await scanContent(scanner, r.journal, r.guest, unlink.seq, log)).result, null)
    const h = await scanHistory(scanner, r.journal, r.guest, log)
    const writes = r.events.filter((e) => e.kind === 'file.write').map((e) => e.seq)
    assert.deepEqual(h.versions.map((v) => v.result.verdict.kind).slice(-2), ['clean', 'infected'])
    assert.equal(h.firstInfected?.seq, writes[writes.length - 1], 'the append that wrote the marker')
  } finally {
    await r.cleanup()
  }
})

test('given --signatures, eyrie scan starts its own clamd for the command; given neither clamd option, it is a usage error', async () => {
  const journal = await imported([
    line({ kind: 'fd.open', fd: 3, path: '/w/x.sh', flags: 0o1101, inode: null, created: true }),
    write(3, Buffer.from(`#!/bin/sh\n# ${MARKER}\n`)),
  ])
  const own = eyrie(['scan', '--signatures', SIGNATURES, '/w/x.sh'], { journal })
  assert.equal(own.status, 3, own.stderr)
  assert.match(own.stdout, /INFECTED/)
  const usage = eyrie(['scan'], { journal })
  assert.equal(usage.status, 2)
  assert.match(usage.stderr, /--signatures DIR .* or --clamd/)
  const dead = eyrie(['scan', '--clamd', join(SIGNATURES, 'no.sock')], { journal })
  assert.equal(dead.status, 1)
  assert.match(dead.stderr, /^eyrie: no clamd at .*no\.sock/)
})
