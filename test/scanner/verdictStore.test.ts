// Verdicts kept across runs: a second scanner (a later run) on the same store does not send the same
// content to clamd again, counted at a proxy in front of a real clamd; another signature database,
// a clamd whose database is unknown, and a store another user could write are each kept apart.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { appendFileSync, chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import type { Clamd } from '../../src/scanner/clamd.js'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { ScannerError } from '../../src/scanner/errors.js'
import { Gate, type ContentSource } from '../../src/scanner/gate.js'
import { liveSource } from '../../src/scanner/live.js'
import { cacheKey } from '../../src/scanner/cache.js'
import { Scanner, sha256Of } from '../../src/scanner/scanner.js'
import { defaultVerdictCache, VerdictStore } from '../../src/scanner/verdictStore.js'
import { eyrie } from '../support/cli.js'
import { CountingProxy, eicar, EICAR_SIGNATURE, MARKER, SIGNATURES, tmp, withPrivateClamd } from './support.js'

let clamd: Clamd
let proxy: CountingProxy
let dir: string

before(async () => {
  clamd = await withPrivateClamd()
  proxy = await CountingProxy.start('socket' in clamd.endpoint ? clamd.endpoint.socket : '')
  dir = await tmp('verdicts')
})
after(async () => {
  await proxy.close()
  await clamd.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A scanner through the proxy with the given database identity and store: one "run". */
const run = async <T>(store: VerdictStore, f: (s: Scanner) => Promise<T>, digest = clamd.databaseDigest): Promise<T> => {
  const s = await Scanner.open({ ...clamd, endpoint: { socket: proxy.socket }, databaseDigest: digest }, { timeoutMs: 10_000, store })
  return f(s)
}

test('given verdicts a run kept, when a later run scans the same contents, then clamd is not asked and the verdicts are the same', async () => {
  const path = join(dir, 'later')
  const clean = randomBytes(8192)
  const first = VerdictStore.open(path)
  const before = proxy.instreams
  const v1 = await run(first, async (s) => [await s.scanBytes(clean), await s.scanBytes(eicar())])
  assert.deepEqual(v1.map((r) => r.source), ['scan', 'scan'])
  assert.equal(proxy.instreams, before + 2)
  await first.close()

  const second = VerdictStore.open(path)
  const v2 = await run(second, async (s) => {
    const rs = [await s.scanBytes(Buffer.from(clean)), await s.scanBytes(eicar())]
    assert.equal(s.stats.stored, 2)
    return rs
  })
  assert.equal(proxy.instreams, before + 2, 'nothing reached clamd')
  assert.deepEqual(v2.map((r) => r.source), ['cache', 'cache'])
  assert.deepEqual(v2[0].verdict, { kind: 'clean' })
  assert.equal(v2[1].verdict.kind, 'infected')
  assert.match(v2[1].verdict.kind === 'infected' ? v2[1].verdict.signature : '', EICAR_SIGNATURE)
  // one byte changed: another content, another key
  const changed = Buffer.from(clean)
  changed[0] ^= 1
  assert.equal(await run(second, async (s) => (await s.scanBytes(changed)).source), 'scan')
  assert.equal(proxy.instreams, before + 3)
  await second.close()
})

test('given verdicts kept under one signature database, when a run uses another, then they do not apply', async () => {
  const store = VerdictStore.open(join(dir, 'databases'))
  const bytes = randomBytes(4096)
  await run(store, (s) => s.scanBytes(bytes))
  const before = proxy.instreams
  const other = 'f'.repeat(64)
  assert.equal(await run(store, async (s) => (await s.scanBytes(bytes)).source, other), 'scan')
  assert.equal(proxy.instreams, before + 1)
  await store.close()
})

test('given a clamd whose database is unknown (a bare VERSION, no digest), then nothing is kept for later runs', async () => {
  const store = VerdictStore.open(join(dir, 'unknown'))
  const bytes = randomBytes(4096)
  const kept = await run(store, async (s) => {
    assert.equal(s.persistable, false, `VERSION ${s.dbVersion} names no database`)
    await s.scanBytes(bytes)
    return store.stored
  }, null)
  assert.equal(kept, 0)
  assert.equal(await run(store, async (s) => (await s.scanBytes(bytes)).source, null), 'scan')
  await store.close()
})

test('given a store directory others can write, or a file where it should be, then it is refused with CACHE naming it', () => {
  const open777 = join(dir, 'open')
  mkdirSync(open777, { mode: 0o700 })
  chmodSync(open777, 0o777)
  assert.throws(() => VerdictStore.open(open777), (e: unknown) => e instanceof ScannerError && e.code === 'CACHE' && e.message.includes(open777) && /mode 777/.test(e.message) && /no one else can write/.test(e.message))
  const file = join(dir, 'file')
  writeFileSync(file, '')
  assert.throws(() => VerdictStore.open(file), (e: unknown) => e instanceof ScannerError && e.code === 'CACHE' && e.message.includes(file))
})

test('given a record that does not decode, then it is a miss (reported once), and the next verdict replaces it', async () => {
  const path = join(dir, 'corrupt')
  const store = VerdictStore.open(path)
  const bytes = randomBytes(4096)
  const key = await run(store, async (s) => {
    await s.scanBytes(bytes)
    return cacheKey(sha256Of(bytes), s.dbVersion)
  })
  await store.close()
  const raw = open(path, { noSubdir: false, maxDbs: 2 })
  await raw.openDB('verdicts', { encoding: 'binary' }).put(key, Buffer.from('{"kind":"maybe"}'))
  await raw.close()
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.message)
  process.on('warning', onWarning)
  try {
    const again = VerdictStore.open(path)
    assert.equal(again.get(key), undefined)
    assert.equal(again.get(key), undefined)
    await new Promise((res) => setImmediate(res))
    assert.equal(warnings.filter((w) => w.includes('does not decode')).length, 1)
    assert.equal(await run(again, async (s) => (await s.scanBytes(bytes)).source), 'scan')
    await again.close() // the write is in the background: closing waits for it
    const replaced = VerdictStore.open(path)
    assert.deepEqual(replaced.get(key), { kind: 'clean' })
    await replaced.close()
  } finally {
    process.off('warning', onWarning)
  }
})

/** One "run" of the live gate on a journal of its own, reading through a source that counts reads. */
const gateRun = async (store: VerdictStore, name: string) => {
  const journal = await openLmdbJournal(join(dir, `${name}.journal`))
  const ingest = await Ingest.open(journal, 'g')
  const scanner = await Scanner.open({ ...clamd, endpoint: { socket: proxy.socket } }, { timeoutMs: 10_000, store })
  const live = liveSource({ journal, guest: 'g', world: () => ingest.now })
  const counted = { reads: 0 }
  const source: ContentSource = async (path) => {
    const ref = await live(path)
    if (ref === null) return null
    return {
      ...ref,
      head: async (n: number) => { counted.reads++; return ref.head === undefined ? (await ref.read()).subarray(0, n) : ref.head(n) },
      read: async () => { counted.reads++; return ref.read() },
    }
  }
  const gate = new Gate({ scanner, source, quarantineTo: null, stamps: store })
  return { gate, ingest, counted, close: () => journal.close() }
}

test('given host files an earlier run judged, when a later run opens or execs them unchanged, then nothing is read or sent to clamd, the verdicts and hashes are the same, and a change or a write in the run is judged again', async () => {
  const path = join(dir, 'libkept.so.1')
  const bad = join(dir, 'kept-dropper')
  writeFileSync(path, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(16384)]))
  writeFileSync(bad, eicar(), { mode: 0o755 })
  const storeDir = join(dir, 'stamps')
  const s1 = VerdictStore.open(storeDir)
  const r1 = await gateRun(s1, 'run1')
  const first = await r1.gate.decideOpen(path)
  const firstBad = await r1.gate.decideExec(bad)
  assert.equal(first.errno, 0)
  assert.equal(firstBad.errno, 13)
  await r1.close()
  await s1.close()

  const s2 = VerdictStore.open(storeDir)
  const r2 = await gateRun(s2, 'run2')
  const before = proxy.instreams
  const again = await r2.gate.decideOpen(path)
  const againBad = await r2.gate.decideExec(bad)
  assert.equal(r2.counted.reads, 0, 'judged by the stamp alone')
  assert.equal(proxy.instreams, before)
  assert.deepEqual([again.errno, again.source, again.sha256], [0, 'memo', first.sha256])
  assert.deepEqual([againBad.errno, againBad.sha256], [13, firstBad.sha256])
  assert.deepEqual(againBad.events.map((e) => e.kind), ['scan.verdict', 'access.denied'])

  // the host file changes: another stamp, read and judged again
  appendFileSync(path, MARKER)
  const changed = await r2.gate.decideOpen(path)
  assert.ok(r2.counted.reads > 0)
  assert.equal(changed.errno, 13)
  assert.equal(proxy.instreams, before + 1)

  // written in this run, not on the host: the host file's stamp does not speak for it
  const clean = join(dir, 'libwritten.so.2')
  writeFileSync(clean, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(4096)]))
  await r2.gate.decideOpen(clean) // its stamp is now kept
  const data = Buffer.from(`# ${MARKER}\n`)
  const t = 1_700_000_000_000_000_000n
  await r2.ingest.push([
    { ts: t, pid: 9, tid: 9, body: { kind: 'fd.open', fd: 3, path: clean, flags: 0o1, inode: null, created: false } },
    { ts: t + 1n, pid: 9, tid: 9, body: { kind: 'file.write', fd: 3, offset: 0, len: data.length, known: data.length }, data },
  ])
  const written = await r2.gate.decideOpen(clean)
  assert.equal(written.errno, 13, 'the journal\'s bytes were judged')
  await r2.close()
  await s2.close()
})

test('given no setting, the store lives under the user\'s cache directory; EYRIE_VERDICT_CACHE and XDG_CACHE_HOME move it', () => {
  assert.equal(defaultVerdictCache({ HOME: '/home/u' }).endsWith('/.cache/eyrie/verdicts'), true)
  assert.equal(defaultVerdictCache({ XDG_CACHE_HOME: '/c' }), '/c/eyrie/verdicts')
  assert.equal(defaultVerdictCache({ XDG_CACHE_HOME: '/c', EYRIE_VERDICT_CACHE: '/v' }), '/v')
})

test('given `eyrie record --scan --verdict-cache DIR` run twice, then the second run asks clamd nothing it judged before, and an infected file is still denied', async () => {
  const work = await tmp('vc-record')
  try {
    writeFileSync(join(work, 'bad.sh'), `#!/bin/sh\n# ${MARKER}\n`, { mode: 0o755 })
    const args = (n: number) => ['--guest', `r${n}`, 'record', '--scan', '--signatures', SIGNATURES, '--verdict-cache', join(work, 'verdicts'), '--', 'sh', '-c', 'cat /bin/true >/dev/null; ./bad.sh; echo status=$?']
    const first = eyrie(args(1), { journal: join(work, 'journal'), cwd: work })
    assert.match(first.stdout, /status=126/, first.stderr)
    writeFileSync(join(work, 'bad.sh'), `#!/bin/sh\n# ${MARKER}\n`, { mode: 0o755 }) // quarantined: put back
    const second = eyrie(args(2), { journal: join(work, 'journal'), cwd: work })
    assert.match(second.stdout, /status=126/, second.stderr)
    const m = /(\d+) verdict\(s\) \((\d+) by clamd\), (\d+) known from earlier runs/.exec(second.stderr)
    assert.ok(m !== null, second.stderr)
    assert.equal(Number(m[2]), 0, 'clamd judged nothing again')
    assert.ok(Number(m[3]) >= 1, second.stderr) // the script; what ran before is lent to the tracer from the start
    const log = eyrie(['--guest', 'r2', 'log', '--kind', 'access.denied', '--json'], { journal: join(work, 'journal') })
    assert.match(log.stdout, /bad\.sh/)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
})

test('given `eyrie record --scan --verdict-cache DIR` run again, then the files an earlier run found clean go through without a question (the tracer journals their verdicts, same hashes), and one changed since is asked about', async () => {
  const work = await tmp('vc-lent')
  try {
    const lib = join(work, 'libmine.so.1')
    writeFileSync(lib, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(8192)]))
    const run = (n: number) => eyrie(['--guest', `r${n}`, 'record', '--scan', '--signatures', SIGNATURES, '--verdict-cache', join(work, 'verdicts'), '--', 'sh', '-c', `cat ${lib} >/dev/null`], { journal: join(work, 'journal'), cwd: work })
    const verdicts = (n: number) => eyrie(['--guest', `r${n}`, 'log', '--kind', 'scan.verdict', '--json'], { journal: join(work, 'journal') }).stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; sha256: string })
    const summary = (stderr: string) => {
      const m = /(\d+) verdict\(s\) \((\d+) by clamd\)(?:, (\d+) known from earlier runs)?(?:, (\d+) more reused by the tracer)?/.exec(stderr)
      assert.ok(m !== null, stderr)
      return { asked: Number(m[1]), byClamd: Number(m[2]), reused: Number(m[4] ?? 0) }
    }
    const first = run(1)
    assert.equal(first.status, 0, first.stderr)
    assert.ok(summary(first.stderr).asked >= 3, first.stderr) // sh, its libraries, cat, lib
    const second = run(2)
    assert.equal(second.status, 0, second.stderr)
    assert.deepEqual({ ...summary(second.stderr), reused: summary(second.stderr).reused >= 3 }, { asked: 0, byClamd: 0, reused: true }, second.stderr)
    const hash = (n: number) => verdicts(n).find((e) => e.path === lib)?.sha256
    assert.ok(hash(2) !== undefined && hash(2) === hash(1), 'the same verdict for lib, journaled by the tracer')

    appendFileSync(lib, 'changed')
    const third = run(3)
    assert.equal(third.status, 0, third.stderr)
    assert.deepEqual([summary(third.stderr).asked, summary(third.stderr).byClamd], [1, 1], third.stderr)
    assert.notEqual(hash(3), hash(1))
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
})

test('given a store holding more records than its bound, when it is opened, then the oldest go first (records without a time before any) and the newest stay', async () => {
  const path = join(dir, 'bounded')
  let clock = 1_000
  const now = () => clock
  const first = VerdictStore.open(path, { now })
  const keys = Array.from({ length: 25 }, (_, i) => cacheKey(String(i).padStart(64, '0'), 'db1'))
  for (const key of keys) {
    clock += 10
    first.put(key, { kind: 'clean' })
    first.stamp(`stamp-${key}`, { sha256: 'a'.repeat(64), head: Buffer.from('#!/bin/sh\n') })
  }
  await first.close()
  // a record an earlier version wrote, with no time
  const raw = open(path, { noSubdir: false, maxDbs: 2 })
  await raw.openDB('verdicts', { encoding: 'binary' }).put('legacy', Buffer.from('{"kind":"clean"}'))
  await raw.close()

  const under = VerdictStore.open(path, { maxEntries: 26, now })
  assert.deepEqual(under.get('legacy'), { kind: 'clean' }, 'within the bound: nothing goes')
  await under.close()
  const bounded = VerdictStore.open(path, { maxEntries: 10, now })
  const kept = keys.filter((k) => bounded.get(k) !== undefined)
  assert.deepEqual(kept, keys.slice(-9), 'the 9 newest verdicts (90 % of the bound) stay')
  assert.equal(bounded.get('legacy'), undefined)
  assert.deepEqual(keys.filter((k) => bounded.stamped(`stamp-${k}`) !== undefined), keys.slice(-9), 'and the 9 newest stamps')
  assert.equal(bounded.stamped(`stamp-${keys[24]}`)?.sha256, 'a'.repeat(64))
  await bounded.close()
})
