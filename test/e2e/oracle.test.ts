// The kernel as the oracle: random file workloads run for real (python3 driver, recorded by strace
// and by the native interceptor); after
// every step the driver reports each file's sha256 and eyrie's content at that step must hash the same.
// The work directory is made inside the recording, so eyrie knows every name in it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import fc from 'fast-check'
import { worldAt } from '../../src/engine/replay.js'
import { contentAt, RECORDERS } from '../support/e2e.js'
import { runs } from '../support/runs.js'

const DRIVER = fileURLToPath(new URL('../fixtures/file-driver.py', import.meta.url))
const PATHS = ['a', 'b', 'c']

const hex = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('hex'))
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('open'), slot: fc.nat(2), path: fc.nat(2), trunc: fc.boolean(), append: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write'), slot: fc.nat(2), data: hex }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pwrite'), slot: fc.nat(2), data: hex, offset: fc.nat(300) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('seek', 'read', 'ftruncate'), slot: fc.nat(2), offset: fc.nat(300) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close'), slot: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('rename', 'link'), path: fc.nat(2), to: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink'), path: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate'), path: fc.nat(2), offset: fc.nat(300) }) },
)

for (const [name, record] of RECORDERS) {
  test(`${name}: given random write/pwrite/lseek/read/truncate/rename/link/unlink workloads run for real, content at every step hashes as the kernel reported`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        let stdout = ''
        const r = await record(['sh', '-c', `mkdir w && cd w && /usr/bin/python3 "$0" "$1" > ../out.txt`, DRIVER, JSON.stringify(steps)])
        try {
          stdout = await readFile(join(r.dir, 'out.txt'), 'utf8')
          const driver = r.events.find((e) => e.kind === 'proc.exec' && e.path.includes('python3'))?.pid
          const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === driver).map((e) => e.seq)
          const reports = stdout.trim().split('\n').map((l) => l.split(' '))
          assert.equal(markers.length, steps.length, 'one marker per step')
          for (const [k, seq] of markers.entries()) {
            const w = await worldAt(r.journal, r.guest, seq)
            for (const [i, name] of PATHS.entries()) {
              const path = join(r.dir, 'w', name)
              const expected = reports[k][i + 1]
              if (expected === '-') {
                assert.equal(w.names.get(path), undefined, `step ${k}: ${name} should be absent`)
                continue
              }
              const got = createHash('sha256').update(await contentAt(r, seq, path)).digest('hex')
              assert.equal(got, expected, `step ${k} (${JSON.stringify(steps[k])}): ${name} at #${seq}`)
            }
          }
        } finally {
          await r.cleanup()
        }
      }),
      { numRuns: runs(Number(process.env.EYRIE_ORACLE_RUNS ?? 40)) },
    )
  })
}
