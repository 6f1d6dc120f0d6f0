// A private clamd on the shipped test signatures, spoken to over INSTREAM through the clamscan package.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connectClamd, placeDatabases, startClamd, type Clamd } from '../../src/scanner/clamd.js'
import { ClamdClient } from '../../src/scanner/client.js'
import { parseEndpoint } from '../../src/scanner/endpoint.js'
import { ScannerError } from '../../src/scanner/errors.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { EICAR_SIGNATURE, eicar, MARKER, MARKER_SIGNATURE, SIGNATURES, tmp, withPrivateClamd } from './support.js'

let clamd: Clamd
let scanner: Scanner

before(async () => {
  clamd = await withPrivateClamd()
  scanner = await Scanner.open(clamd, { timeoutMs: 10_000 })
})
after(async () => {
  await clamd.stop()
})

test('given the test signatures, when a private clamd starts, then it answers PING and VERSION from its own run directory', async () => {
  assert.ok(clamd.dir !== null && clamd.pid !== null)
  assert.equal((await stat(join(clamd.dir, 'clamd.sock'))).isSocket(), true)
  assert.match(await readFile(join(clamd.dir, 'clamd.conf'), 'utf8'), /DatabaseDirectory .*\/db\n/)
  const client = await ClamdClient.create(clamd.endpoint, 2000)
  await client.ping()
  assert.match(await client.version(), /^ClamAV \d+\.\d+/)
  assert.match(scanner.dbVersion, /^ClamAV .*\+db:[0-9a-f]{16}$/)
})

test('given the EICAR file, when scanned, then the verdict is infected with the .hdb signature', async () => {
  const r = await scanner.scanBytes(eicar())
  assert.equal(r.verdict.kind, 'infected')
  assert.match(r.verdict.kind === 'infected' ? r.verdict.signature : '', EICAR_SIGNATURE)
  assert.equal(r.size, 68)
})

test('given the marker inside other bytes, when scanned, then the .ndb body signature finds it', async () => {
  const r = await scanner.scanBytes(Buffer.from(`#!/bin/sh\necho harmless\n# ${MARKER}\n`))
  assert.match(r.verdict.kind === 'infected' ? r.verdict.signature : 'not infected', MARKER_SIGNATURE)
})

test('given the marker straddling the 1 MiB INSTREAM chunk boundary, when scanned, then it is still found', async () => {
  const big = Buffer.alloc(3 << 20, 0x61)
  Buffer.from(MARKER).copy(big, (1 << 20) - 7)
  const r = await scanner.scanBytes(big)
  assert.match(r.verdict.kind === 'infected' ? r.verdict.signature : 'not infected', MARKER_SIGNATURE)
})

test('given clean bytes (empty, text, almost-EICAR), when scanned, then each is clean', async () => {
  const almost = eicar()
  almost[10] ^= 1
  for (const b of [Buffer.alloc(0), Buffer.from('hello world\n'), almost, Buffer.from(MARKER.slice(0, -1))]) {
    assert.deepEqual((await scanner.scanBytes(b)).verdict, { kind: 'clean' })
  }
})

test('given content over the scan limit, when scanned, then the verdict is an error and clamd is not asked', async () => {
  const small = await Scanner.open(clamd, { maxBytes: 1000 })
  const r = await small.scanBytes(Buffer.alloc(1001))
  assert.equal(r.verdict.kind, 'error')
  assert.equal(small.stats.clamd, 0)
})

test('given the private socket, when connectClamd is given it as --clamd, then a second scanner uses the same clamd, known by its configuration to unpack archives and by its database digest', async () => {
  const ep = parseEndpoint('socket' in clamd.endpoint ? clamd.endpoint.socket : '')
  assert.ok(ep._tag === 'Right')
  const external = await connectClamd(ep.right)
  assert.equal(external.databaseDigest, clamd.databaseDigest)
  assert.match(external.databaseDigest ?? '', /^[0-9a-f]{64}$/)
  assert.equal(external.unpacksArchives, true)
  const s = await Scanner.open(external)
  assert.equal((await s.scanBytes(eicar())).verdict.kind, 'infected')
  await external.stop() // a no-op: eyrie does not own it
  await ClamdClient.create(clamd.endpoint, 1000).then((c) => c.ping())
})

test('given no clamd at a socket, when connecting, then a ScannerError names the socket once, with the reason', async () => {
  const dir = await tmp('noclamd')
  const socket = join(dir, 'none.sock')
  await assert.rejects(connectClamd({ socket }, 500), (e: unknown) => {
    assert.ok(e instanceof ScannerError && e.code === 'CLAMD_UNREACHABLE', String(e))
    assert.equal(e.message, `no clamd at ${socket}: connect ENOENT ${socket}`)
    return true
  })
})

test('given a signature directory without databases, when starting clamd, then it fails with SIGNATURES and leaves no process', async () => {
  const dir = await tmp('nosigs')
  await writeFile(join(dir, 'README.md'), 'not a database')
  await assert.rejects(startClamd({ signatures: dir }), (e: unknown) => e instanceof ScannerError && e.code === 'SIGNATURES')
  await assert.rejects(startClamd({ signatures: join(dir, 'missing') }), (e: unknown) => e instanceof ScannerError && e.code === 'SIGNATURES')
})

test('given a broken database, when starting clamd, then the error quotes clamd and the run directory is removed', async () => {
  const dir = await tmp('badsigs')
  await mkdir(join(dir, 'sigs'))
  await writeFile(join(dir, 'sigs', 'bad.ndb'), 'this is not:a valid:signature\n')
  const run = join(dir, 'run')
  await assert.rejects(startClamd({ signatures: join(dir, 'sigs'), dir: run, readyTimeoutMs: 10_000 }), (e: unknown) => e instanceof ScannerError && e.code === 'CLAMD_START')
  assert.equal(existsSync(join(run, 'clamd.sock')), false)
})

test('given endpoints, when parsed, then HOST:PORT and socket paths are told apart', () => {
  assert.deepEqual(parseEndpoint('localhost:3310'), { _tag: 'Right', right: { host: 'localhost', port: 3310 } })
  assert.deepEqual(parseEndpoint('[::1]:3310'), { _tag: 'Right', right: { host: '::1', port: 3310 } })
  assert.deepEqual(parseEndpoint('/run/clamav/clamd.ctl'), { _tag: 'Right', right: { socket: '/run/clamav/clamd.ctl' } })
  assert.equal(parseEndpoint('host:99999')._tag, 'Left')
  assert.equal(parseEndpoint(`/${'x'.repeat(200)}`)._tag, 'Left')
})

test('given the shipped signature files, none of them contains the strings they detect', async () => {
  for (const n of await readdir(SIGNATURES)) {
    const text = await readFile(join(SIGNATURES, n), 'latin1')
    assert.equal(text.includes(MARKER), false, n)
    assert.equal(text.includes(eicar().toString('latin1')), false, n)
  }
})

/** A directory of one official database (a .cvd, not a real one) and one custom. */
const signatureDir = async (dir: string): Promise<string> => {
  const from = join(dir, 'sigs')
  await mkdir(from)
  await writeFile(join(from, 'main.cvd'), 'official bytes')
  await writeFile(join(from, 'local.ndb'), 'Marker:0:*:41424344\n')
  return from
}

test('given official databases (.cvd) and custom ones, when a private clamd\'s are placed, then the official ones are hard-linked where they can be (else copied), the custom ones copied, and the digest covers the bytes of all', async () => {
  const dir = await tmp('place-dbs')
  const from = await signatureDir(dir)
  const digest = await placeDatabases(from, join(dir, 'db'))
  const ino = async (p: string) => (await stat(p)).ino
  assert.equal(await ino(join(dir, 'db', 'main.cvd')), await ino(join(from, 'main.cvd')), 'linked')
  assert.notEqual(await ino(join(dir, 'db', 'local.ndb')), await ino(join(from, 'local.ndb')), 'copied')
  assert.equal(await readFile(join(dir, 'db', 'local.ndb'), 'utf8'), 'Marker:0:*:41424344\n')
  // on another file system (tmpfs) nothing can be linked: the same bytes, copied, the same digest
  const shm = await mkdtemp('/dev/shm/eyrie-test-')
  try {
    assert.equal(await placeDatabases(from, join(shm, 'db')), digest)
    assert.notEqual(await ino(join(shm, 'db', 'main.cvd')), await ino(join(from, 'main.cvd')))
    assert.equal(await readFile(join(shm, 'db', 'main.cvd'), 'utf8'), 'official bytes')
  } finally {
    await rm(shm, { recursive: true, force: true })
  }
})

test('given a run directory used again, when the databases are placed once more, then the earlier ones are replaced and the sources are left as they were', async () => {
  const dir = await tmp('place-again')
  const from = await signatureDir(dir)
  const digest = await placeDatabases(from, join(dir, 'db'))
  await writeFile(join(from, 'local.ndb'), 'Marker:0:*:45464748\n')
  assert.notEqual(await placeDatabases(from, join(dir, 'db')), digest)
  assert.equal(await readFile(join(dir, 'db', 'local.ndb'), 'utf8'), 'Marker:0:*:45464748\n')
  assert.equal(await readFile(join(from, 'main.cvd'), 'utf8'), 'official bytes')
})
