// The gate as the live recorder will use it: real files, a real journal for R(now), a real clamd.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { existsSync } from 'node:fs'
import { appendFile, chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Body, Draft } from '../../src/events/index.js'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import type { Clamd } from '../../src/scanner/clamd.js'
import { Gate, type ContentSource } from '../../src/scanner/gate.js'
import { gateDecider, gateForesight, liveSource } from '../../src/scanner/live.js'
import { listQuarantine } from '../../src/scanner/quarantine.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { CountingProxy, eicar, eventually, MARKER, withPrivateClamd, tmp } from './support.js'

let clamd: Clamd
let proxy: CountingProxy
let journal: Journal
let ingest: Ingest
let scanner: Scanner
let root: string

before(async () => {
  clamd = await withPrivateClamd()
  proxy = await CountingProxy.start('socket' in clamd.endpoint ? clamd.endpoint.socket : '')
  root = await tmp('gate')
  journal = await openLmdbJournal(join(root, 'journal'))
  ingest = await Ingest.open(journal, 'live')
  scanner = await Scanner.open({ ...clamd, endpoint: { socket: proxy.socket } }, { timeoutMs: 10_000 })
})
after(async () => {
  await journal.close()
  await proxy.close()
  await clamd.stop()
})

const gateFor = (quarantineTo: string | null = join(root, 'journal')) =>
  new Gate({ scanner, source: liveSource({ journal, guest: 'live', world: () => ingest.now }), quarantineTo, guest: 'live' })

const kinds = (events: readonly Body[]) => events.map((e) => e.kind)

test('given an infected program on the host, when it is exec\'d, then EACCES, the events explain it and the file is quarantined 0600 in a 0700 directory', async () => {
  const path = join(root, 'dropper')
  await writeFile(path, eicar(), { mode: 0o755 })
  const d = await gateFor().decideExec(path)
  assert.equal(d.errno, 13)
  assert.deepEqual(kinds(d.events), ['scan.verdict', 'access.denied', 'file.quarantine'])
  assert.deepEqual(d.events[0], { kind: 'scan.verdict', path, sha256: d.sha256, verdict: 'infected', signature: d.verdict?.kind === 'infected' ? d.verdict.signature : '', trigger: 'exec' })
  assert.deepEqual(d.events[1], { kind: 'access.denied', path, call: 'execve', errno: 13 })
  assert.equal(existsSync(path), false)
  const q = d.quarantined
  assert.ok(q !== null)
  assert.deepEqual(d.events[2], { kind: 'file.quarantine', path, id: q.id, to: q.to })
  assert.equal((await stat(join(root, 'journal', 'quarantine'))).mode & 0o777, 0o700)
  assert.equal((await stat(q.to)).mode & 0o777, 0o600)
  assert.deepEqual(await readFile(q.to), eicar())
  assert.equal(q.mode, 0o755)
  assert.ok((await listQuarantine(join(root, 'journal'))).records.some((r) => r.id === q.id && r.path === path))
})

test('given a clean program, when it is exec\'d twice unchanged, then it runs both times and the second verdict comes from memory without clamd', async () => {
  const path = join(root, 'tool')
  await writeFile(path, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(8192)]), { mode: 0o755 })
  const gate = gateFor()
  const before = proxy.instreams
  const first = await gate.decideExec(path)
  assert.equal(first.errno, 0)
  assert.deepEqual(kinds(first.events), ['scan.verdict'])
  const second = await gate.decideExec(path)
  assert.equal(second.errno, 0)
  assert.equal(second.source, 'memo')
  assert.equal(proxy.instreams, before + 1)
  await appendFile(path, MARKER)
  const changed = await gate.decideExec(path)
  assert.equal(proxy.instreams, before + 2)
  assert.equal(changed.errno, 13)
})

test('given a clean #! script whose interpreter is infected, when the script is exec\'d, then the exec is denied for the interpreter', async () => {
  const interp = join(root, 'evil-sh')
  const script = join(root, 'run.sh')
  await writeFile(interp, Buffer.concat([Buffer.from('\x7fELF....'), Buffer.from(MARKER)]), { mode: 0o755 })
  await writeFile(script, `#!${interp} -e\necho hi\n`, { mode: 0o755 })
  const d = await gateFor(null).decideExec(script)
  assert.equal(d.errno, 13)
  assert.deepEqual(d.events.map((e) => (e.kind === 'scan.verdict' ? `${e.path}:${e.verdict}` : e.kind)), [`${script}:clean`, `${interp}:infected`, 'access.denied'])
  assert.match(d.message, /interpreter/)
  assert.equal(existsSync(interp), true, 'no quarantine directory: the file stays')
})

test('given opens, then a .txt without program magic is not scanned, while one that starts with ELF is', async () => {
  const gate = gateFor(null)
  const text = join(root, 'notes.txt')
  const disguised = join(root, 'photo.txt')
  await writeFile(text, `just words ${MARKER}`)
  await writeFile(disguised, Buffer.concat([Buffer.from('\x7fELF'), Buffer.from(MARKER)]))
  const a = await gate.decideOpen(text)
  assert.equal(a.errno, 0)
  assert.equal(a.verdict, null)
  assert.deepEqual(a.events, [])
  const b = await gate.decideOpen(disguised)
  assert.equal(b.errno, 13)
  assert.deepEqual(kinds(b.events), ['scan.verdict', 'access.denied'])
  const all = new Gate({ scanner, source: liveSource({ journal, guest: 'live', world: () => ingest.now }), filter: { scanAll: true } })
  assert.equal((await all.decideOpen(text)).errno, 13)
})

test('given infected bytes that exist only in the journal (written, not on the host), when opened, then the gate judges what the guest sees', async () => {
  const path = join(root, 'unflushed.py')
  await writeFile(path, 'print("harmless on disk")\n')
  const t = 1_700_000_000_000_000_000n
  const data = Buffer.from(`import os\n# ${MARKER}\n`)
  const drafts: Draft[] = [
    { ts: t, pid: 77, tid: 77, body: { kind: 'fd.open', fd: 3, path, flags: 0o1101, inode: null, created: true } },
    { ts: t + 1n, pid: 77, tid: 77, body: { kind: 'file.write', fd: 3, offset: null, len: data.length, known: data.length }, data },
  ]
  await ingest.push(drafts)
  const d = await gateFor().decideOpen(path, undefined, 'openat')
  assert.equal(d.errno, 13)
  assert.equal(d.verdict?.kind, 'infected')
})

test('given ten processes opening one infected file at once, then one quarantine and one file.quarantine event', async () => {
  const path = join(root, 'shared.zip')
  await writeFile(path, eicar())
  const gate = gateFor()
  const ds = await Promise.all(Array.from({ length: 10 }, () => gate.decideOpen(path)))
  assert.ok(ds.every((d) => d.errno === 13))
  assert.equal(ds.flatMap((d) => d.events).filter((e) => e.kind === 'file.quarantine').length, 1)
  assert.equal(ds.filter((d) => d.quarantined !== null).length, 1)
})

test('given a close after writing an infected file, then the call is not refused but the file is quarantined', async () => {
  const path = join(root, 'download.exe')
  await writeFile(path, eicar())
  await chmod(path, 0o644)
  const d = await gateFor().afterClose(path)
  assert.equal(d.errno, 0)
  assert.deepEqual(kinds(d.events), ['scan.verdict', 'file.quarantine'])
  assert.equal(d.events[0].kind === 'scan.verdict' && d.events[0].trigger, 'close')
  assert.equal(existsSync(path), false)
})

test('given the interceptor-shaped decider, then execs and read opens are judged, write-only opens pass, and events are journaled before the answer', async () => {
  const path = join(root, 'payload.sh')
  await writeFile(path, `#!/bin/sh\n# ${MARKER}\n`, { mode: 0o755 })
  const appended: Draft[][] = []
  const decide = gateDecider(gateFor(null), { append: async (d) => void appended.push(d), clock: () => 42n })
  assert.equal(await decide({ pid: 5, tid: 6, call: 'openat', path, flags: 0o1 }), 0)
  assert.equal(appended.length, 0)
  // a denial says its access.denied is journaled (the tracer does not journal a second one)
  assert.deepEqual(await decide({ pid: 5, tid: 6, call: 'openat', path, flags: 0o2 }), { errno: 13, journaled: true })
  assert.deepEqual(await decide({ pid: 5, tid: 6, call: 'execve', path, flags: 0 }), { errno: 13, journaled: true })
  assert.deepEqual(appended.map((b) => b.map((d) => [d.ts, d.pid, d.tid, d.body.kind])), [
    [[42n, 5, 6, 'scan.verdict'], [42n, 5, 6, 'access.denied']],
    [[42n, 5, 6, 'scan.verdict'], [42n, 5, 6, 'access.denied']],
  ])
})

test('given a question foreseen, then its file is judged at once and the question joins that judgment: clamd asked once, the file read once; write-only opens and opens the filter passes over are not foreseen', async () => {
  const live = liveSource({ journal, guest: 'live', world: () => ingest.now })
  let reads = 0
  const gate = new Gate({ scanner, source: async (p) => {
    const ref = await live(p)
    return ref === null ? null : { ...ref, read: () => (reads++, ref.read()) }
  } })
  const foresee = gateForesight(gate)
  const decide = gateDecider(gate, { append: async () => {} })
  const path = join(root, 'foreseen.sh')
  await writeFile(path, `#!/bin/sh\n# ${MARKER} ${randomBytes(8).toString('hex')}\n`, { mode: 0o755 })
  const plain = join(root, 'foreseen.txt')
  await writeFile(plain, `plain text ${randomBytes(8).toString('hex')}\n`)
  const before = proxy.instreams
  foresee({ pid: 5, tid: 6, call: 'openat', path, flags: 0o1 })
  foresee({ pid: 5, tid: 6, call: 'openat', path: plain, flags: 0 })
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(proxy.instreams, before, 'write-only, and a .txt without program magic: nothing to judge')
  assert.equal(reads, 0)
  foresee({ pid: 5, tid: 6, call: 'openat', path, flags: 0 })
  await eventually(() => proxy.instreams === before + 1)
  assert.deepEqual(await decide({ pid: 5, tid: 6, call: 'openat', path, flags: 0 }), { errno: 13, journaled: true })
  assert.equal(proxy.instreams, before + 1, 'clamd asked once')
  assert.equal(reads, 1, 'the question read nothing again')
  // a program foreseen and then asked about while its judgment is under way: one read, one scan
  const tool = join(root, 'foreseen-tool')
  await writeFile(tool, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(4096)]), { mode: 0o755 })
  foresee({ pid: 5, tid: 6, call: 'execve', path: tool, flags: 0 })
  const d = await decide({ pid: 5, tid: 6, call: 'execve', path: tool, flags: 0 })
  assert.ok(typeof d === 'object' && 'clean' in d, JSON.stringify(d))
  assert.equal(proxy.instreams, before + 2)
  assert.equal(reads, 2)
  foresee({ pid: 5, tid: 6, call: 'execve', path: join(root, 'no-such-file'), flags: 0 }) // the question says ENOENT
})

test('given a question foreseen on the host file, when a batch ahead of the question writes infected bytes into it (journaled, not yet on the host), then the question judges those, not the foresight\'s', async () => {
  const gate = gateFor(null)
  const path = join(root, 'rewritten-ahead.py')
  await writeFile(path, `print("harmless ${randomBytes(8).toString('hex')}")\n`)
  gateForesight(gate)({ pid: 78, tid: 78, call: 'openat', path, flags: 0 })
  const t = 1_700_000_000_000_000_000n
  const data = Buffer.from(`import os\n# ${MARKER}\n`)
  await ingest.push([
    { ts: t, pid: 78, tid: 78, body: { kind: 'fd.open', fd: 3, path, flags: 0o1101, inode: null, created: false } },
    { ts: t + 1n, pid: 78, tid: 78, body: { kind: 'file.write', fd: 3, offset: null, len: data.length, known: data.length }, data },
  ])
  assert.deepEqual(await gateDecider(gate, { append: async () => {} })({ pid: 78, tid: 78, call: 'openat', path, flags: 0 }), { errno: 13, journaled: true })
})

test('given a foresight that fails (its look at the file throws), then the question still judges the file itself', async () => {
  const live = liveSource({ journal, guest: 'live', world: () => ingest.now })
  let looks = 0
  const gate = new Gate({ scanner, source: async (p) => {
    if (looks++ === 0) throw new Error('stat failed')
    return live(p)
  } })
  const path = join(root, 'foresight-fails.sh')
  await writeFile(path, `#!/bin/sh\n# ${MARKER} ${randomBytes(8).toString('hex')}\n`)
  gateForesight(gate)({ pid: 5, tid: 6, call: 'openat', path, flags: 0 })
  const d = await gateDecider(gate, { append: async () => {} })({ pid: 5, tid: 6, call: 'openat', path, flags: 0 })
  assert.deepEqual(d, { errno: 13, journaled: true })
  assert.equal(looks, 2)
})

test('given execs of two programs naming one ELF interpreter, then the interpreter is read once (judged, and then known by its hash with its own interpreter, none), and neither program is read again for its PT_INTERP', async () => {
  const reads = new Map<string, number>()
  const live = liveSource({ journal, guest: 'live', world: () => ingest.now })
  const counted: ContentSource = async (path) => {
    const ref = await live(path)
    if (ref === null) return null
    const count = () => reads.set(path, (reads.get(path) ?? 0) + 1)
    return { ...ref, head: (n) => (count(), ref.head?.(n) ?? ref.read()), read: () => (count(), ref.read()) }
  }
  const gate = new Gate({ scanner, source: counted, quarantineTo: null, guest: 'live' })
  const programs = ['one', 'two'].map((name) => join(root, `prog-${name}`))
  for (const p of programs) {
    await writeFile(p, Buffer.concat([await readFile('/usr/bin/true'), randomBytes(16)]), { mode: 0o755 })
    const d = await gate.decideExec(p)
    assert.equal(d.errno, 0, d.message)
    assert.deepEqual(d.interpreter?.path, '/lib64/ld-linux-x86-64.so.2')
  }
  assert.deepEqual(Object.fromEntries(reads), { [programs[0]]: 1, [programs[1]]: 1, '/lib64/ld-linux-x86-64.so.2': 1 })
})

test('given no such file, then the gate lets the kernel answer (ENOENT) and journals nothing', async () => {
  const d = await gateFor().decideExec(join(root, 'missing'))
  assert.equal(d.errno, 0)
  assert.deepEqual(d.events, [])
})

test('given content over the scan limit whose size the source knows, then it is refused unread: an open passes, an exec is denied, clamd is not asked', async () => {
  const small = await Scanner.open({ ...clamd, endpoint: { socket: proxy.socket } }, { timeoutMs: 10_000, maxBytes: 1000 })
  const live = liveSource({ journal, guest: 'live', world: () => ingest.now })
  let reads = 0
  const gate = new Gate({
    scanner: small,
    source: async (p) => {
      const ref = await live(p)
      return ref === null ? null : { ...ref, read: () => (reads++, ref.read()) }
    },
    filter: { scanAll: true },
  })
  const big = join(root, 'big.bin')
  await writeFile(big, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(5000)]))
  await chmod(big, 0o755)
  const asked = proxy.instreams
  const open = await gate.decideOpen(big)
  assert.equal(open.errno, 0, open.message)
  assert.deepEqual(open.verdict, { kind: 'error', reason: '5004 bytes exceed the scan limit of 1000' })
  const exec = await gate.decideExec(big)
  assert.equal(exec.errno, 13, 'an exec fails closed')
  assert.equal(reads, 0, 'the content was not read')
  assert.equal(proxy.instreams, asked, 'clamd was not asked')
  assert.equal(small.stats.errors, 2)
  // one byte under the limit is read and scanned as before
  const fits = join(root, 'fits.bin')
  await writeFile(fits, Buffer.concat([Buffer.from('\x7fELF'), randomBytes(996)]))
  assert.deepEqual((await gate.decideOpen(fits)).verdict, { kind: 'clean' })
  assert.equal(reads, 1)
})

test('given files judged, then the gate remembers their first bytes, not their content: each judged file\'s bytes can be collected', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const live = liveSource({ journal, guest: 'live', world: () => ingest.now })
  const read: Array<WeakRef<ArrayBufferLike>> = []
  const gate = new Gate({
    scanner,
    source: async (p) => {
      const ref = await live(p)
      return ref === null ? null : { ...ref, read: async () => { const b = await ref.read(); read.push(new WeakRef(b.buffer)); return b } }
    },
  })
  for (let i = 0; i < 4; i++) {
    const path = join(root, `judged-${i}.sh`)
    await writeFile(path, Buffer.concat([Buffer.from('#!/bin/sh\n'), randomBytes(1 << 20)]))
    assert.deepEqual((await gate.decideOpen(path)).verdict, { kind: 'clean' })
  }
  assert.equal(read.length, 4)
  // a WeakRef is cleared by a collection after the job that last read it
  for (let i = 0; i < 3; i++) {
    await new Promise((res) => setImmediate(res))
    gc()
  }
  assert.deepEqual(read.map((r) => r.deref() === undefined), [true, true, true, true], 'no judged file\'s bytes are kept')
})
