// Close-after-write judgments in the background, with a real clamd: small files judged together in
// one tar stream (an infected tar is attributed member by member), the queue's bound and drain with
// real verdicts, and `eyrie record --scan` end to end: a program writes many files, one of them
// infected, and runs or reads it.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import type { Clamd } from '../../src/scanner/clamd.js'
import { closedForWriting, closeJudge, withNodes } from '../../src/scanner/closes.js'
import { Gate } from '../../src/scanner/gate.js'
import { Judgments, SerialAppends } from '../../src/scanner/judgments.js'
import { liveSource } from '../../src/scanner/live.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { eyrie } from '../support/cli.js'
import { CountingProxy, CREATED, drafter, EICAR_SIGNATURE, MARKER, MARKER_SIGNATURE, SIGNATURES, eicar, tmp, withPrivateClamd } from './support.js'
import { eventsOf } from '../support/e2e.js'

let clamd: Clamd
let proxy: CountingProxy
let root: string
let journal: Journal

before(async () => {
  clamd = await withPrivateClamd()
  if (!('socket' in clamd.endpoint)) throw new Error('a private clamd listens on a socket')
  proxy = await CountingProxy.start(clamd.endpoint.socket)
  root = await tmp('background')
  journal = await openLmdbJournal(join(root, 'journal'))
})
after(async () => {
  await journal.close()
  await proxy.close()
  await clamd.stop()
})

/** A scanner that reaches the private clamd through the counting proxy. */
const viaProxy = (o: Parameters<typeof Scanner.open>[1] = {}) => Scanner.open({ ...clamd, endpoint: { socket: proxy.socket } }, o)

const texts = (n: number, tag: string): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`${tag} file ${i}: ${'lorem ipsum '.repeat(20 + i)}\n`))

test('given many small clean contents, scanMany sends them as one tar stream, and each verdict is cached: a later scan of one asks no clamd', async () => {
  const scanner = await viaProxy()
  const files = texts(40, 'clean')
  const before = proxy.instreams
  const results = await scanner.scanMany(files)
  assert.equal(proxy.instreams - before, 1, 'one INSTREAM for forty files')
  assert.deepEqual(results.map((r) => r.verdict.kind), files.map(() => 'clean'))
  assert.deepEqual([scanner.stats.packs, scanner.stats.packed, scanner.stats.unpacked], [1, 40, 0])
  const again = await scanner.scanBytes(files[17])
  assert.equal(again.source, 'cache')
  assert.equal(proxy.instreams - before, 1)
})

test('given a batch with one EICAR and one marker among clean files, the tar comes back infected and each member is judged alone: exactly those two are infected, with their own signatures', async () => {
  const scanner = await viaProxy()
  const files = texts(20, 'mixed')
  files[7] = eicar()
  files[13] = Buffer.from(`#!/bin/sh\necho ${MARKER}\n`)
  const before = proxy.instreams
  const results = await scanner.scanMany(files)
  const infected = results.flatMap((r, i) => (r.verdict.kind === 'infected' ? [[i, r.verdict.signature]] : []))
  assert.equal(infected.length, 2, JSON.stringify(infected))
  assert.equal(infected[0][0], 7)
  assert.match(String(infected[0][1]), EICAR_SIGNATURE)
  assert.equal(infected[1][0], 13)
  assert.match(String(infected[1][1]), MARKER_SIGNATURE)
  assert.equal(results.filter((r) => r.verdict.kind === 'clean').length, 18)
  assert.equal(proxy.instreams - before, 1 + 20, 'the tar, then each member alone')
  assert.equal(scanner.stats.unpacked, 20)
})

test('given large contents, duplicates and cached ones in one call, the large go alone, a duplicate is scanned once, the cached ask nothing; without packBytes nothing is packed', async () => {
  const scanner = await viaProxy()
  const big = Buffer.alloc(200 * 1024, 'a')
  const [a, b] = texts(2, 'dup')
  await scanner.scanBytes(b) // cached from here on
  const before = proxy.instreams
  const results = await scanner.scanMany([a, big, a, b, Buffer.alloc(0)])
  assert.deepEqual(results.map((r) => r.verdict.kind), ['clean', 'clean', 'clean', 'clean', 'clean'])
  assert.deepEqual(results.map((r) => r.source), ['scan', 'scan', 'joined', 'cache', 'scan'])
  assert.equal(proxy.instreams - before, 2, 'a (a pack of one member is sent as itself) and the large one')
  assert.equal(scanner.stats.packs, 0)
  const plain = await viaProxy({ packBytes: 0 })
  const before2 = proxy.instreams
  await plain.scanMany(texts(5, 'unpacked'))
  assert.equal(proxy.instreams - before2, 5)
})

const d = drafter(1_800_000_000_000_000_000n)
const created = CREATED

test('given clamd held and a bound of 2, enqueue keeps its caller waiting while more wait; released, every file is judged, one infected, and drain leaves every verdict journaled', async () => {
  const guest = 'bound'
  const ingest = await Ingest.open(journal, guest)
  const appends = new SerialAppends((drafts) => ingest.append(drafts))
  const append = (drafts: Draft[], lazy = false) => appends.push(drafts, lazy)
  const gate = new Gate({ scanner: await viaProxy({ connections: 1, timeoutMs: 20_000 }), source: liveSource({ journal, guest, world: () => ingest.now }), quarantineTo: join(root, 'journal'), filter: { scanAll: true } })
  const q = new Judgments({ judge: closeJudge(gate, () => ingest.now, { append }), workers: 1, bound: 2, batch: 4, lingerMs: 0 })
  const paths: string[] = []
  proxy.hold()
  let waited = false
  try {
    for (let i = 0; i < 12; i++) {
      const path = join(root, `out-${i}.txt`)
      const bytes = i === 9 ? eicar() : Buffer.from(`clean output ${i}\n`)
      await writeFile(path, bytes)
      paths.push(path)
      const batch = [
        d(5, { kind: 'fd.open', fd: 3, path, flags: created, inode: null, created: true }),
        d(5, { kind: 'file.write', fd: 3, offset: null, len: bytes.length, known: bytes.length }, bytes),
        d(5, { kind: 'fd.close', fd: 3 }),
      ]
      const closed = closedForWriting(ingest.now, batch)
      await append(batch)
      let room = false
      const r = q.enqueue(closed).then(() => (room = true))
      await new Promise((res) => setTimeout(res, 20))
      if (!room) {
        waited = true
        assert.ok(q.waiting > 2, `the caller waits only while more than the bound wait (${q.waiting})`)
        proxy.release()
        await r
        proxy.hold()
      }
      assert.ok(q.waiting <= 2, 'at most the bound waits once enqueue resolved')
    }
  } finally {
    proxy.release()
  }
  assert.ok(waited, 'the bound made the caller wait at least once')
  await appends.hurry(q.drain())
  const verdicts = (await eventsOf(journal, guest)).flatMap((e) => (e.kind === 'scan.verdict' ? [e] : []))
  assert.deepEqual(verdicts.map((v) => v.path).sort(), [...paths].sort(), 'every file judged once')
  assert.deepEqual(verdicts.filter((v) => v.verdict === 'infected').map((v) => v.path), [paths[9]])
  assert.ok(verdicts.every((v) => v.trigger === 'close' && v.verdict !== 'error'))
  assert.equal(existsSync(paths[9]), false, 'quarantined')
  assert.equal(q.errors.length, 0)
})

test('given a file renamed after its close but before its judgment, it is judged under its new name; a file gone by then is not judged', async () => {
  const guest = 'renamed'
  const ingest = await Ingest.open(journal, guest)
  const append = (drafts: Draft[]) => ingest.push(drafts)
  const gate = new Gate({ scanner: await viaProxy(), source: liveSource({ journal, guest, world: () => ingest.now }), quarantineTo: join(root, 'journal'), filter: { scanAll: true } })
  const judge = closeJudge(gate, () => ingest.now, { append })
  const tmpPath = join(root, 'download.part')
  const final = join(root, 'download.bin')
  const gone = join(root, 'scratch.txt')
  await writeFile(final, eicar()) // where the host has it by the time it is judged
  const batch = [
    d(6, { kind: 'fd.open', fd: 3, path: tmpPath, flags: created, inode: null, created: true }),
    d(6, { kind: 'file.write', fd: 3, offset: null, len: 68, known: 68 }, eicar()),
    d(6, { kind: 'fd.close', fd: 3 }),
    d(6, { kind: 'fd.open', fd: 3, path: gone, flags: created, inode: null, created: true }),
    d(6, { kind: 'file.write', fd: 3, offset: null, len: 3, known: 3 }, Buffer.from('abc')),
    d(6, { kind: 'fd.close', fd: 3 }),
  ]
  const closed = closedForWriting(ingest.now, batch)
  await append(batch)
  const queued = withNodes(ingest.now, closed)
  assert.ok(queued.every((c) => c.node !== undefined))
  await append([d(6, { kind: 'file.rename', from: tmpPath, to: final, flags: 0 }), d(6, { kind: 'file.unlink', path: gone })])
  await judge(queued)
  const verdicts = (await eventsOf(journal, guest)).flatMap((e) => (e.kind === 'scan.verdict' ? [e] : []))
  assert.deepEqual(verdicts.map((v) => [v.path, v.verdict, v.trigger]), [[final, 'infected', 'close']])
  assert.equal(existsSync(final), false, 'quarantined under its new name')
})

const logKinds = (journalDir: string, kind: string) =>
  eyrie(['log', '--kind', kind, '--json'], { journal: journalDir }).stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

// writes N scripts (one with the marker) and an EICAR file, closing each, then runs the marked script
// and reads the EICAR file at once; and one EICAR file it keeps open while a child reads it
const WRITER = `
import os, subprocess, sys
n = int(sys.argv[1]); bad = int(sys.argv[2]); eicar = bytes.fromhex(sys.argv[3]); marker = sys.argv[4]
def run(args, **kw):
    try:
        return subprocess.run(args, capture_output=True, **kw)
    except OSError as e:  # the exec itself failed: EACCES (denied) or ENOENT (quarantined)
        return subprocess.CompletedProcess(args, 126 if e.errno == 13 else 127, b'', str(e).encode())
for i in range(n):
    with open('s%03d.sh' % i, 'w') as f:
        f.write('#!/bin/sh\\necho %s\\n' % (marker if i == bad else 'ran-%d' % i))
    os.chmod('s%03d.sh' % i, 0o755)
with open('eicar.com', 'wb') as f:
    f.write(eicar)
r = run(['./s%03d.sh' % bad])
print('bad-exit=%d leaked=%s' % (r.returncode, marker.encode() in r.stdout), flush=True)
r = run(['cat', 'eicar.com'])
print('cat-exit=%d' % r.returncode, flush=True)
r = run(['./s%03d.sh' % (bad + 1)])
print('good=%s' % r.stdout.decode().strip(), flush=True)
fd = os.open('held.com', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, eicar)
# close_fds=False: the child closes nothing before its exec (its close would have the file judged first)
r = run(['cat', 'held.com'], close_fds=False)
print('held-exit=%d err=%s' % (r.returncode, b'Permission denied' in r.stderr), flush=True)
os.close(fd)
`

test('given a program that writes 150 scripts (one with the marker) and EICAR, closing each, then runs and reads them at once: the infected ones were judged and quarantined first, every verdict is journaled, small files went in tar streams', async () => {
  const dir = await tmp('background-record')
  const journalDir = join(dir, 'journal')
  const n = 150
  const bad = 97
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'python3', '-c', WRITER, String(n), String(bad), eicar().toString('hex'), MARKER], { journal: journalDir, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  // the exec waited for the script's close judgment (the barrier), which quarantined it: ENOENT
  assert.match(r.stdout, /bad-exit=127 leaked=False/, 'the marked script did not run')
  assert.match(r.stdout, /cat-exit=1/)
  assert.match(r.stdout, new RegExp(`good=ran-${bad + 1}`))
  assert.match(r.stdout, /held-exit=1 err=True/, 'an open of a file still being written is judged on the spot: EACCES')
  assert.match(r.stderr, /in \d+ tar stream\(s\)/)
  assert.match(r.stderr, /close\(s\) judged in the background/)
  const bad0 = join(dir, `s${String(bad).padStart(3, '0')}.sh`)
  for (const p of [bad0, join(dir, 'eicar.com'), join(dir, 'held.com')]) assert.equal(existsSync(p), false, `${p} quarantined`)
  const verdicts = logKinds(journalDir, 'scan.verdict')
  const closes = verdicts.filter((v) => v.trigger === 'close')
  for (let i = 0; i < n; i++) {
    const p = join(dir, `s${String(i).padStart(3, '0')}.sh`)
    assert.ok(closes.some((v) => v.path === p), `${p} has a close verdict`)
  }
  const infected = verdicts.filter((v) => v.verdict === 'infected')
  assert.deepEqual([...new Set(infected.map((v) => v.path))].sort(), [bad0, join(dir, 'eicar.com'), join(dir, 'held.com')].sort())
  assert.ok(infected.some((v) => v.path === bad0 && v.trigger === 'close' && /Eyrie\.Test\.Marker/.test(v.signature)))
  assert.ok(!verdicts.some((v) => v.path === bad0 && v.trigger === 'exec'), 'the exec found it quarantined already')
  assert.ok(infected.some((v) => v.path === join(dir, 'held.com') && v.trigger === 'open'))
  const quarantined = logKinds(journalDir, 'file.quarantine').map((q) => q.path).sort()
  assert.deepEqual(quarantined, [bad0, join(dir, 'eicar.com'), join(dir, 'held.com')].sort())
  // the marked script's verdict is journaled before anything ran it: its quarantine precedes the next exec
  const q0 = logKinds(journalDir, 'file.quarantine').find((q) => q.path === bad0)
  const execs = eyrie(['log', '--kind', 'proc.exec', '--json'], { journal: journalDir }).stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(!execs.some((e) => e.path === bad0 && e.seq > q0.seq), 'never executed after its quarantine')
  const denied = logKinds(journalDir, 'access.denied')
  assert.ok(denied.some((x) => x.path === join(dir, 'held.com') && x.errno === 13))
})

test('given --scan-backlog 2 and a program that writes 300 files and exits at once, the run drains: every file has its verdict when record returns', async () => {
  const dir = await tmp('background-drain')
  const journalDir = join(dir, 'journal')
  const script = "import sys\nfor i in range(300):\n    open('f%03d.txt' % i, 'w').write('line %d\\n' % i * (1 + i % 50))\n"
  const r = eyrie(['record', '--scan-all', '--scan-backlog', '2', '--signatures', SIGNATURES, '--', 'python3', '-c', script], { journal: journalDir, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stderr, /\d+ close\(s\) judged in the background \(backlog peak \d+, bound 2;/)
  const closes = logKinds(journalDir, 'scan.verdict').filter((v) => v.trigger === 'close')
  assert.equal(new Set(closes.map((v) => v.path)).size, 300)
  assert.ok(closes.every((v) => v.verdict === 'clean'))
  assert.equal(eyrie(['record', '--scan-backlog', '0', '--scan', '--signatures', SIGNATURES, '--', 'true'], { journal: journalDir, cwd: dir }).status, 2)
})
