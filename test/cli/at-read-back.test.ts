// `at T cat`, `at T ls`, `diff` and `export --at T` under record's read-back mode: while a process
// holds the file open for writing, the content at T is as last read back and may lack what was
// written since; cat says so on stderr (and in --json), ls marks the file, diff lists it, export in
// its summary and manifest, and nothing once no writer holds it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'

test('given a shell holding a 2 MiB file open for writing while its children fill it, when cat and export ask at a moment in between, then they note the writer and that bytes may lack; at the end, no note and every byte', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-lag-'))
  try {
    const journal = join(dir, 'journal')
    const script = 'exec 3>big; head -c 2097152 /dev/zero | tr "\\0" a >&3; : > marker; exec 3>&-'
    const rec = eyrie(['record', '--', 'sh', '-c', script], { journal, cwd: dir })
    assert.equal(rec.status, 0, rec.stderr)
    const marker = eyrie(['log', '--json', '--path', join(dir, 'marker')], { journal }).stdout.split('\n').filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { seq: number; kind: string }).find((e) => e.kind === 'fd.open')
    assert.ok(marker !== undefined, 'the marker is journaled')
    const at = `#${marker.seq - 1}` // the event before the marker's open: the shell holds big alone
    const between = eyrie(['at', at, 'cat', join(dir, 'big')], { journal, cwd: dir })
    assert.equal(between.status, 0, between.stderr)
    assert.match(between.stderr, /big at #\d+: held open for writing by \d+ \(fd 3\);.* may lack bytes written since/)
    assert.ok(between.raw.length < 2097152, `the shell's children wrote 2 MiB that no reading has shown yet; cat printed ${between.raw.length}`)
    const json = JSON.parse(eyrie(['--json', 'at', at, 'cat', join(dir, 'big')], { journal, cwd: dir }).stdout) as { note: string | null }
    assert.match(json.note ?? '', /held open for writing/)
    const listed = eyrie(['at', at, 'ls', dir], { journal, cwd: dir })
    assert.equal(listed.status, 0, listed.stderr)
    assert.match(listed.stdout, /big\s+│ file │ \d+\*/)
    assert.match(listed.stderr, /\* 1 file\(s\) held open for writing at #\d+/)
    const lsJson = JSON.parse(eyrie(['--json', 'at', at, 'ls', dir], { journal, cwd: dir }).stdout) as { files: { path: string; lagging: boolean }[]; note: string | null }
    assert.deepEqual(lsJson.files.filter((f) => f.lagging).map((f) => f.path), [join(dir, 'big')])
    assert.match(lsJson.note ?? '', /held open for writing/)
    const changes = JSON.parse(eyrie(['--json', 'diff', '#1', at], { journal, cwd: dir }).stdout) as { lagging: string[] }
    assert.deepEqual(changes.lagging, [join(dir, 'big')])
    assert.deepEqual((JSON.parse(eyrie(['--json', 'diff', '#1', 'end'], { journal, cwd: dir }).stdout) as { lagging: string[] }).lagging, [])
    const then = eyrie(['export', '--at', at, join(dir, 'then')], { journal, cwd: dir })
    assert.equal(then.status, 0, then.stderr)
    assert.match(then.stderr, /1 file\(s\) held open for writing at #\d+, as last read back/)
    const manifest = JSON.parse(await readFile(join(dir, 'then', 'manifest.json'), 'utf8')) as { files: { path: string; note: string | null }[] }
    assert.deepEqual(manifest.files.filter((f) => f.note !== null).map((f) => f.path), [join(dir, 'big')])
    const end = eyrie(['at', 'end', 'cat', join(dir, 'big')], { journal, cwd: dir })
    assert.equal(end.status, 0, end.stderr)
    assert.equal(end.stderr, '')
    assert.equal(eyrie(['at', 'end', 'ls', dir], { journal, cwd: dir }).stderr, '')
    assert.ok(end.raw.equals(Buffer.alloc(2097152, 'a')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
