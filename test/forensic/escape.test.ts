// `export --at T` treats the journal as untrusted: a crafted JSONL names paths that would climb out
// of the export root, or symlinks a naive exporter would write through. Nothing may land outside.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { parseJsonLine, type Draft } from '../../src/events/index.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { Ingest } from '../../src/engine/replay.js'
import { exportAt, ExportRefused } from '../../src/forensic/export.js'
import { openDirTarget, openTarTarget } from '../../src/forensic/exportTargets.js'
import { eyrie } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

const line = (o: Record<string, unknown>) => JSON.stringify({ ts: '1700000000000000000', pid: 10, tid: 10, ...o })
const b64 = (s: string) => Buffer.from(s).toString('base64')
const CREATE = 0o301 // O_WRONLY | O_CREAT | O_EXCL

const writeFileEvents = (fd: number, path: string, text: string): string[] => [
  line({ kind: 'fd.open', fd, path, flags: CREATE, inode: null, created: true }),
  line({ kind: 'file.write', fd, offset: null, len: text.length, known: text.length, data: b64(text) }),
  line({ kind: 'fd.close', fd }),
]

/** A fresh temp dir with a journal holding the given JSONL lines as guest g (decoded as `import jsonl` does). */
const imported = async (lines: readonly string[]) => {
  const dir = await tempDir('escape')
  const journal = join(dir, 'journal')
  const j = await openLmdbJournal(journal, { noSync: true })
  const drafts: Draft[] = lines.map((l, i) => {
    const d = parseJsonLine(l)
    if (E.isLeft(d)) throw new Error(`line ${i + 1}: ${d.left}`)
    return d.right
  })
  const ingest = await Ingest.open(j, 'g')
  await ingest.push(drafts)
  await ingest.finish()
  await j.close()
  /** the same journal, read-only, for library calls */
  const open = () => openLmdbJournal(journal, { readOnly: true })
  return { dir, journal, open, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

const CLIMBING = [
  line({ kind: 'file.mkdir', path: '/w' }),
  ...writeFileEvents(3, '/w/ok.txt', 'ok\n'),
  ...writeFileEvents(4, '/../../etc/x', 'pwned\n'),
  ...writeFileEvents(5, '/w/../../../../x2', 'pwned\n'),
]

test('given a journal naming /../../etc/x and /w/../../../../x2, export refuses with exit 1 naming the path and writes nothing at all', async () => {
  const t = await imported(CLIMBING)
  try {
    const out = join(t.dir, 'a', 'b', 'out')
    const r = eyrie(['export', '--at', 'end', out], { journal: t.journal })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /outside the export root, nothing written: "\/\.\.\/\.\.\/etc\/x"/)
    assert.ok(!existsSync(out), 'the export directory was not even made')
    assert.ok(!existsSync(join(out, 'root', '../../etc/x')) && !existsSync(join(t.dir, 'etc')) && !existsSync(join(t.dir, 'x2')))
  } finally {
    await t.cleanup()
  }
})

test('given the same journal and --skip-unsafe, the safe file is exported, the unsafe names are listed in the manifest, and nothing lands outside, in a directory or a tar', async () => {
  const t = await imported(CLIMBING)
  try {
    const out = join(t.dir, 'a', 'b', 'out')
    const j = await t.open()
    try {
      await assert.rejects(exportAt(j, 'g', 13, () => openDirTarget(out)), ExportRefused)
      const m = await exportAt(j, 'g', 13, () => openDirTarget(out), { skipUnsafe: true })
      assert.equal(await readFile(join(out, 'root/w/ok.txt'), 'utf8'), 'ok\n')
      const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
      assert.deepEqual(manifest.refused.map((x: { path: string }) => x.path).sort(), ['/../../etc/x', '/w/../../../../x2'])
      assert.deepEqual(manifest, JSON.parse(JSON.stringify(m)))
      assert.ok(!existsSync(join(t.dir, 'a', 'etc')) && !existsSync(join(t.dir, 'etc')) && !existsSync(join(t.dir, 'x2')))

      const tar = join(t.dir, 'out.tar')
      await exportAt(j, 'g', 13, () => openTarTarget(tar, new Date(0)), { skipUnsafe: true })
      const names = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).trim().split('\n')
      assert.deepEqual(names, ['root/w/', 'root/w/ok.txt', 'manifest.json'])
      assert.ok(names.every((n) => !n.split('/').includes('..') && !n.startsWith('/')))
      // an existing tar is never overwritten
      await assert.rejects(exportAt(j, 'g', 13, () => openTarTarget(tar, new Date(0)), { skipUnsafe: true }), /EEXIST/)
    } finally {
      await j.close()
    }
  } finally {
    await t.cleanup()
  }
})

test('given a snapshot where /w/link is a symlink to a directory outside and /w/link/x a file, export never writes through the link: x lands in a real directory and the link is refused', async () => {
  const base = await tempDir('escape')
  const victim = join(base, 'victim')
  await mkdir(victim)
  const t = await imported([
    line({
      kind: 'snapshot', procs: [],
      files: [
        { path: '/w', type: 'dir', size: null, inode: null, target: null },
        { path: '/w/link/x', type: 'file', size: 5, inode: null, target: null },
        { path: '/w/link', type: 'symlink', size: null, inode: null, target: victim },
        { path: '/w/up/y', type: 'file', size: 3, inode: null, target: null },
        { path: '/w/up', type: 'symlink', size: null, inode: null, target: '../../../../../../../../..' },
        { path: '/w/passwd', type: 'symlink', size: null, inode: null, target: '/etc/passwd' },
      ],
    }),
    ...writeFileEvents(3, '/w/passwd2', 'mine\n'),
  ])
  try {
    const out = join(t.dir, 'out')
    const strict = eyrie(['export', '--at', 'end', out], { journal: t.journal })
    assert.equal(strict.status, 1)
    assert.match(strict.stderr, /2 name\(s\) not exported, first \/w\/link: .*already in the export/)
    assert.deepEqual(execFileSync('find', [victim], { encoding: 'utf8' }).trim(), victim, 'nothing was written into the victim directory')
    assert.ok((await lstat(join(out, 'root/w/link'))).isDirectory())
    assert.deepEqual(await readFile(join(out, 'root/w/link/x')), Buffer.alloc(5))
    assert.ok((await lstat(join(out, 'root/w/up'))).isDirectory())
    // a symlink that conflicts with nothing is kept as a symlink, never followed
    assert.equal(await readlink(join(out, 'root/w/passwd')), '/etc/passwd')
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
    assert.deepEqual(manifest.files.find((f: { path: string }) => f.path === '/w/link/x').unknown, [{ start: 0, end: 5 }])
  } finally {
    await t.cleanup()
    await rm(base, { recursive: true, force: true })
  }
})

test('given an export directory that is not empty (a planted symlink in it), export refuses before writing', async () => {
  const base = await tempDir('escape')
  const t = await imported([line({ kind: 'file.mkdir', path: '/w' }), ...writeFileEvents(3, '/w/a', 'a')])
  try {
    const out = join(t.dir, 'out')
    await mkdir(out)
    await symlink(base, join(out, 'root'))
    const r = eyrie(['export', '--at', 'end', out], { journal: t.journal })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /is not empty/)
    assert.ok(!existsSync(join(base, 'w')))
  } finally {
    await t.cleanup()
    await rm(base, { recursive: true, force: true })
  }
})
