// Verdicts kept across runs: a second scanner (a later run) on the same store does not send the same
// content to clamd again, counted at a proxy in front of a real clamd; another signature database,
// a clamd whose database is unknown, and a store another user could write are each kept apart.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import type { Clamd } from '../../src/scanner/clamd.js'
import { ScannerError } from '../../src/scanner/errors.js'
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
    assert.ok(Number(m[3]) >= 2, second.stderr)
    const log = eyrie(['--guest', 'r2', 'log', '--kind', 'access.denied', '--json'], { journal: join(work, 'journal') })
    assert.match(log.stdout, /bad\.sh/)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
})
