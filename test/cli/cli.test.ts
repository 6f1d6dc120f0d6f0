// The CLI as a user meets it: imports, queries, and one clear message + exit code for bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

const line = (o: Record<string, unknown>) => JSON.stringify({ ts: '1700000000000000000', pid: 10, tid: 10, ...o })
const b64 = (s: string) => Buffer.from(s).toString('base64')
const GOOD = [
  line({ kind: 'fd.open', fd: 3, path: '/w/a.txt', flags: 0o1101, inode: null, created: true }),
  line({ kind: 'file.write', fd: 3, offset: null, len: 6, known: 6, data: b64('hello\n') }),
  line({ ts: '1700000001000000000', kind: 'file.write', fd: 3, offset: 0, len: 5, known: 5, data: b64('HELLO') }),
  line({ ts: '1700000002000000000', kind: 'fd.close', fd: 3 }),
]

const setup = async (lines: readonly string[]) => {
  const dir = await tempDir('cli')
  const file = join(dir, 'in.jsonl')
  await writeFile(file, `${lines.join('\n')}\n`)
  return { journal: join(dir, 'journal'), file }
}

test('given a JSONL import, at #2 cat and at end cat print the content of those moments', async () => {
  const { journal, file } = await setup(GOOD)
  assert.equal(eyrie(['import', 'jsonl', file, '--guest', 'g1'], { journal }).status, 0)
  assert.equal(eyrie(['at', '#2', 'cat', '/w/a.txt'], { journal }).stdout, 'hello\n')
  assert.equal(eyrie(['at', 'end', 'cat', '/w/a.txt'], { journal }).stdout, 'HELLO\n')
  assert.equal(eyrie(['at', '+1s', 'cat', '/w/a.txt'], { journal }).stdout, 'HELLO\n')
  const ls = JSON.parse(eyrie(['at', 'end', 'ls', '/w', '--json'], { journal }).stdout)
  assert.deepEqual(ls.files.map((f: { path: string; size: number }) => [f.path, f.size]), [['/w/a.txt', 6]])
  const fds = JSON.parse(eyrie(['at', '#2', 'fds', '10', '--json'], { journal }).stdout)
  assert.deepEqual(fds.fds.map((f: { fd: number; pos: number }) => [f.fd, f.pos]), [[3, 6]])
})

test('given an export of an import, importing it again gives the same answers', async () => {
  const { journal, file } = await setup(GOOD)
  eyrie(['import', 'jsonl', file, '--guest', 'g1'], { journal })
  const exported = eyrie(['export', 'jsonl'], { journal })
  assert.equal(exported.status, 0)
  const again = join(journal, '..', 'again.jsonl')
  await writeFile(again, exported.stdout)
  assert.equal(eyrie(['import', 'jsonl', again, '--guest', 'g2'], { journal }).status, 0)
  assert.equal(eyrie(['at', 'end', 'cat', '/w/a.txt', '--guest', 'g2'], { journal }).stdout, 'HELLO\n')
})

test('given a JSONL file with an unknown kind on line 3, import names file:line, exits 1 and commits nothing', async () => {
  const { journal, file } = await setup([GOOD[0], GOOD[1], line({ kind: 'file.teleport', path: '/x' }), GOOD[3]])
  const r = eyrie(['import', 'jsonl', file, '--guest', 'bad'], { journal })
  assert.equal(r.status, 1)
  assert.match(r.stderr, /in\.jsonl:3: unknown event kind "file\.teleport"/)
  assert.match(r.stderr, /nothing imported/)
  const guests = eyrie(['guests', '--json'], { journal })
  assert.deepEqual(guests.status === 0 ? JSON.parse(guests.stdout) : [], [])
})

test('given a truncated JSONL line and a bad field, each is named; --skip-bad imports the rest', async () => {
  const { journal, file } = await setup([GOOD[0], GOOD[1].slice(0, 30), line({ kind: 'fd.close', fd: -1 }), GOOD[3]])
  const strict = eyrie(['import', 'jsonl', file], { journal })
  assert.equal(strict.status, 1)
  assert.match(strict.stderr, /in\.jsonl:2: not JSON/)
  assert.match(strict.stderr, /in\.jsonl:3: field fd: expected Nat, got -1/)
  const lenient = eyrie(['import', 'jsonl', file, '--skip-bad', '--guest', 'rest'], { journal })
  assert.equal(lenient.status, 0)
  assert.match(lenient.stderr, /imported 2 event\(s\) into guest rest, skipped 2 bad line\(s\)/)
})

test('given bytes eyrie never saw, cat fails with the unknown ranges unless --allow-unknown', async () => {
  const { journal, file } = await setup([
    line({ kind: 'fd.open', fd: 3, path: '/w/old', flags: 0o2, inode: null, created: null }),
    line({ kind: 'file.truncate', fd: 3, path: null, size: 8 }),
    line({ kind: 'file.write', fd: 3, offset: 2, len: 2, known: 2, data: b64('ok') }),
  ])
  eyrie(['import', 'jsonl', file], { journal })
  const r = eyrie(['at', 'end', 'cat', '/w/old'], { journal })
  assert.equal(r.status, 1)
  assert.match(r.stderr, /6 byte\(s\) eyrie never saw, at \[0, 2\) \[4, 8\)/)
  const lenient = eyrie(['at', 'end', 'cat', '/w/old', '--allow-unknown'], { journal })
  assert.equal(lenient.status, 0)
  assert.deepEqual(lenient.raw, Buffer.from('\0\0ok\0\0\0\0'))
})

test('given usage mistakes, eyrie exits 2 with a message', async () => {
  const { journal, file } = await setup(GOOD)
  eyrie(['import', 'jsonl', file], { journal })
  const badTime = eyrie(['at', 'yesterday', 'ps'], { journal })
  assert.equal(badTime.status, 2)
  assert.match(badTime.stderr, /cannot read time "yesterday"/)
  assert.equal(eyrie(['at', 'end', 'teleport'], { journal }).status, 2)
  assert.equal(eyrie(['frobnicate'], { journal }).status, 2)
  const past = eyrie(['at', '#99', 'ps'], { journal })
  assert.equal(past.status, 1)
  assert.match(past.stderr, /#99 is past the end/)
  const noGuest = eyrie(['at', 'end', 'ps', '--guest', 'nope'], { journal })
  assert.equal(noGuest.status, 1)
  assert.match(noGuest.stderr, /no guest "nope"/)
})

test('given a file of unknown size, a fifo and a directory, ls prints ? where a size, mode or owner is not known and - where there is none', async () => {
  const { journal, file } = await setup([
    line({ kind: 'file.mkdir', path: '/w', mode: 0o755, uid: 0, gid: 0 }),
    line({ kind: 'file.mkdir', path: '/w/d' }),
    line({ kind: 'file.chmod', path: '/w/d', mode: 0o1777 }),
    line({ kind: 'file.mknod', path: '/w/p', mode: 0o010644, rdev: 0 }),
    line({ kind: 'fd.open', fd: 3, path: '/w/old', flags: 0o2, inode: null, created: false }),
    line({ kind: 'fd.open', fd: 4, path: '/w/tool', flags: 0o1101, inode: null, created: true, mode: 0o4750 }),
    line({ kind: 'file.chown', path: '/w/tool', uid: 1000, gid: null }),
  ])
  assert.equal(eyrie(['import', 'jsonl', file, '--guest', 'g1'], { journal }).status, 0)
  const rows = eyrie(['at', 'end', 'ls', '/w'], { journal }).stdout.split('\n').filter((l) => l.includes('/w'))
  const cells = rows.map((l) => l.split('│').map((c) => c.trim()).filter((c) => c !== '').slice(0, 6))
  assert.deepEqual(cells, [
    ['drwxr-xr-x', '0:0', '/w', 'dir', '-', '-'], ['drwxrwxrwt', '?:?', '/w/d', 'dir', '-', '-'], ['-?????????', '?:?', '/w/old', 'file', '?', '?'],
    // the chown took set-user-ID away, as Linux does
    ['p?????????', '?:?', '/w/p', 'fifo', '-', '-'], ['-rwxr-x---', '1000:?', '/w/tool', 'file', '0', '0'],
  ])
  // log shows st_mode bits in octal, as chmod takes them
  const log = eyrie(['log'], { journal }).stdout
  assert.match(log, /file\.chmod\s+│ path=\/w\/d mode=01777/)
  assert.match(log, /file\.mknod\s+│ path=\/w\/p mode=010644 rdev=0/)
})
