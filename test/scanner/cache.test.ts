// The verdict cache, in-flight sharing and the connection pool, checked at a proxy in front of a real
// clamd: what reaches clamd is counted there, not by the scanner itself.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Clamd } from '../../src/scanner/clamd.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { VerdictCache, cacheKey } from '../../src/scanner/cache.js'
import { CountingProxy, eicar, eventually, withPrivateClamd } from './support.js'

let clamd: Clamd
let proxy: CountingProxy

before(async () => {
  clamd = await withPrivateClamd()
  proxy = await CountingProxy.start('socket' in clamd.endpoint ? clamd.endpoint.socket : '')
})
after(async () => {
  await proxy.close()
  await clamd.stop()
})

/** A scanner that talks to clamd through the proxy, with clamd's database identity. */
const viaProxy = (o: { connections?: number; timeoutMs?: number } = {}) =>
  Scanner.open({ ...clamd, endpoint: { socket: proxy.socket } }, { timeoutMs: 10_000, ...o })

test('given a scanned content, when the same bytes are scanned again, then the verdict comes from the cache and clamd is not asked', async () => {
  const s = await viaProxy()
  const bytes = randomBytes(4096)
  const before = proxy.instreams
  const first = await s.scanBytes(bytes)
  assert.equal(first.source, 'scan')
  assert.equal(proxy.instreams, before + 1)
  const second = await s.scanBytes(Buffer.from(bytes))
  assert.equal(second.source, 'cache')
  assert.deepEqual(second.verdict, first.verdict)
  assert.equal(proxy.instreams, before + 1)
})

test('given a cached verdict, when one byte changes, then the new content reaches clamd', async () => {
  const s = await viaProxy()
  const bytes = Buffer.concat([eicar()])
  assert.equal((await s.scanBytes(bytes)).verdict.kind, 'infected')
  const before = proxy.instreams
  bytes[bytes.length - 1] ^= 0x20
  const r = await s.scanBytes(bytes)
  assert.equal(r.source, 'scan')
  assert.equal(r.verdict.kind, 'clean')
  assert.equal(proxy.instreams, before + 1)
})

test('given eight callers asking about the same new content at once, then clamd scans it once and all get its verdict', async () => {
  const s = await viaProxy()
  const bytes = Buffer.concat([randomBytes(1 << 20), eicar()])
  const before = proxy.instreams
  const results = await Promise.all(Array.from({ length: 8 }, () => s.scanBytes(bytes)))
  assert.equal(proxy.instreams, before + 1)
  assert.deepEqual(results.map((r) => r.source).sort(), ['joined', 'joined', 'joined', 'joined', 'joined', 'joined', 'joined', 'scan'])
  assert.ok(results.every((r) => r.verdict.kind === 'clean'), 'EICAR only matches as a whole file (hash signature)')
})

test('given four different contents at once and a pool of four, then four connections are opened at the same time', async () => {
  const s = await viaProxy({ connections: 4 })
  proxy.hold()
  proxy.maxActive = 0
  const scans = Promise.all(Array.from({ length: 4 }, () => s.scanBytes(randomBytes(64 << 10))))
  await eventually(() => proxy.held >= 4)
  proxy.release()
  const results = await scans
  assert.equal(proxy.maxActive, 4)
  assert.ok(results.every((r) => r.verdict.kind === 'clean' && r.source === 'scan'))
})

test('given six different contents at once and a pool of two, then never more than two connections are opened or scanning', async () => {
  const s = await viaProxy({ connections: 2 })
  proxy.hold()
  proxy.maxActive = 0
  const scans = Promise.all(Array.from({ length: 6 }, () => s.scanBytes(randomBytes(64 << 10))))
  await eventually(() => proxy.held >= 2)
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(proxy.held, 2)
  proxy.release()
  const results = await scans
  assert.equal(proxy.maxActive, 2)
  assert.equal(results.filter((r) => r.verdict.kind === 'clean').length, 6)
})

test('given scans a caller waits for, one after another, then they share one connection kept open (an IDSESSION); background ones open their own', async () => {
  const s = await viaProxy({ connections: 4 })
  const [sessions, instreams, opened] = [proxy.sessions, proxy.instreams, s.sessionsOpened]
  for (let i = 0; i < 5; i++) assert.equal((await s.scanBytes(randomBytes(4096))).source, 'scan')
  assert.equal((await s.scanBytes(eicar())).verdict.kind, 'infected', 'verdicts come back over a session as they do alone')
  assert.equal(proxy.instreams - instreams, 6)
  assert.equal(proxy.sessions - sessions, 1)
  assert.equal(s.sessionsOpened - opened, 1)
  // nobody waits for these: clamscan, a connection per request
  await s.scanBytes(randomBytes(4096), undefined, true)
  await s.scanBytes(randomBytes(4096), undefined, true)
  assert.equal(proxy.instreams - instreams, 8)
  assert.equal(proxy.sessions - sessions, 1)
})

test('given a kept connection closed while idle (clamd\'s IdleTimeout, a restart), when the next scan a caller waits for comes, then it goes on a new connection and gets its verdict', async () => {
  const s = await viaProxy()
  assert.equal((await s.scanBytes(randomBytes(4096))).verdict.kind, 'clean')
  const [sessions, opened] = [proxy.sessions, s.sessionsOpened]
  proxy.hangUp()
  await eventually(() => proxy.open === 0)
  const r = await s.scanBytes(eicar())
  assert.equal(r.verdict.kind, 'infected')
  assert.equal(proxy.sessions - sessions, 1)
  assert.equal(s.sessionsOpened - opened, 1)
})

test('given a cache of two entries, when a third verdict is stored, then the least recently used one goes', () => {
  const c = new VerdictCache(2)
  c.set(cacheKey('a', 'v1'), { kind: 'clean' })
  c.set(cacheKey('b', 'v1'), { kind: 'clean' })
  assert.ok(c.get(cacheKey('a', 'v1')))
  c.set(cacheKey('c', 'v1'), { kind: 'infected', signature: 'X' })
  assert.equal(c.get(cacheKey('b', 'v1')), undefined)
  assert.ok(c.get(cacheKey('a', 'v1')))
  assert.equal(c.get(cacheKey('a', 'v2')), undefined, 'another database version is another key')
  c.set(cacheKey('d', 'v1'), { kind: 'error', reason: 'down' })
  assert.equal(c.get(cacheKey('d', 'v1')), undefined, 'errors are not kept')
})
