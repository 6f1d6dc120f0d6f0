// `eyrie import strace`: a real log imports; a log with bad lines names each, exits 1, commits nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'
import { runUnderStrace } from '../import/strace-run.js'

test('given a real strace log, import then at end cat shows the file and log lists its writes', async () => {
  const dir = await tempDir('cli-strace')
  const { log } = await runUnderStrace(['sh', '-c', 'mkdir out && echo one > out/f && echo two >> out/f'], { cwd: dir })
  const journal = join(dir, 'journal')
  const imported = eyrie(['import', 'strace', log, '--cwd', dir, '--guest', 'run1'], { journal })
  assert.equal(imported.status, 0, imported.stderr)
  assert.equal(eyrie(['at', 'end', 'cat', join(dir, 'out/f')], { journal }).stdout, 'one\ntwo\n')
  const writes = eyrie(['log', '--path', `${dir}/out/*`, '--kind', 'file.write', '--json'], { journal }).stdout.trim().split('\n').map((l) => JSON.parse(l))
  // the table shows argv as the program got it, spaces inside arguments kept
  assert.match(eyrie(['log', '--kind', 'proc.exec'], { journal }).stdout, /argv=\["sh","-c","mkdir out && echo one/)
  assert.deepEqual(writes.map((w) => w.len), [4, 4])
  const ps = JSON.parse(eyrie(['at', 'end', 'ps', '--json'], { journal }).stdout)
  assert.ok(ps.procs.every((p: { live: boolean }) => !p.live), 'every process exited')
})

test('given a strace log with malformed lines, import names file:line for each, exits 1 and commits nothing', async () => {
  const dir = await tempDir('cli-strace-bad')
  const { log } = await runUnderStrace(['sh', '-c', 'echo x > f'], { cwd: dir })
  const lines = (await readFile(log, 'utf8')).split('\n')
  lines.splice(3, 0, '12345 1700000000.000001 openat(AT_FDCWD, "\\x2f\\x74 <garbage', 'not a strace line at all')
  const bad = join(dir, 'bad.log')
  await writeFile(bad, lines.join('\n'))
  const journal = join(dir, 'journal')
  const r = eyrie(['import', 'strace', bad, '--cwd', dir], { journal })
  assert.equal(r.status, 1)
  assert.match(r.stderr, /bad\.log:4: /)
  assert.match(r.stderr, /bad\.log:5: /)
  assert.match(r.stderr, /2 bad line\(s\); nothing imported/)
  const guests = eyrie(['guests', '--json'], { journal })
  assert.deepEqual(guests.status === 0 ? JSON.parse(guests.stdout) : [], [])
})
